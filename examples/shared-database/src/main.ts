// Three nodes sharing one PostgreSQL database (`persist: { postgres }`): named counters spread
// over them, then the whole cluster killed at once, as a power cut would. Two of the machines come
// back, the third never does (a new one takes its place): every counter comes back with its
// count, the lost machine's on the others. Run it with DATABASE_URL=postgres://user:pw@host/db.
import { randomBytes } from 'node:crypto'
import { pathToFileURL } from 'node:url'
import { nodeOf } from '@swormjs/actor'
import { Actor, Sworm, startNode, type SwormNode } from '@swormjs/sworm'

/** A counter. Its count is its state: kept in the database after every call it answers. */
class Counter extends Actor<undefined> {
  n = 0
  override handleCall(msg: 'inc' | 'get'): number {
    if (msg === 'inc') this.n++
    return this.n
  }
  override beginHandoff(): number {
    return this.n // the state kept (asked after the calls it serves: it only reads)
  }
  override endHandoff(n: number): void {
    this.n = n // the first message of a counter that comes back
  }
}

/** Starts three nodes named `names`, the later ones seeded to the first. */
async function cluster(names: string[], S: typeof Sworm): Promise<SwormNode[]> {
  const nodes: SwormNode[] = []
  for (const name of names) {
    const seeds = nodes.length > 0 ? [nodes[0]!.url] : []
    nodes.push(await startNode({ name, seeds, cookie: 'shared-database-example', children: [S] }))
  }
  return nodes
}

/** Runs the example against `url`, printing through `log`; true when every count came back. */
export async function main(
  url: string,
  log: (line: string) => void = console.log,
  // A table of its own per run: the names of an earlier run would come back too.
  table = `sworm_example_${randomBytes(4).toString('hex')}`,
): Promise<boolean> {
  log(`table ${table}`)
  class Counters extends Sworm {
    static override actors = { Counter }
    // A machine unseen for 2 s is taken for lost here (the default is 30 s).
    static override options = {
      handoff: true,
      persist: { postgres: url, table, orphanAfterMs: 2000 },
    }
  }
  const names = Array.from({ length: 12 }, (_, i) => `page:${i}`)
  const first = await cluster(['a', 'b', 'c'], Counters)
  const counters = Counters.on(first[0]!)
  await until(() => counters.nodes().length === 3)
  const expected = new Map<string, number>()
  for (const [i, name] of names.entries()) {
    await counters.registerName(name, Counter)
    let n = 0
    for (let k = 0; k <= i % 4; k++) n = await counters.call<number>(name, 'inc')
    expected.set(name, n)
  }
  const onC = names.filter((n) => nodeOf(counters.whereis(n)!) === first[2]!.id)
  log(`${names.length} counters, ${onC.length} of them on node c; killing every node`)
  await Promise.all(first.map((node) => node.kill()))

  log('nodes a and b come back; c never does, and d is new')
  const again = await cluster(['a', 'b', 'd'], Counters)
  try {
    const view = Counters.on(again[2]!)
    await until(() => view.registered().length === names.length, 20_000)
    let ok = true
    for (const name of names) {
      const n = await view.call<number>(name, 'get')
      const on = again.find((node) => node.id === nodeOf(view.whereis(name)!))?.name
      log(`${name} = ${n} on node ${on}${onC.includes(name) ? ' (was on c)' : ''}`)
      ok &&= n === expected.get(name)
    }
    log(ok ? 'OK: every counter came back with its count' : 'FAILED: a count was lost')
    return ok
  } finally {
    for (const node of again) await node.stop()
  }
}

/** Polls `cond` every 20 ms; throws after `ms`. */
async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 20))
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const url = process.env['DATABASE_URL']
  if (url === undefined) {
    console.error('set DATABASE_URL=postgres://user:password@host:5432/database')
    process.exit(2)
  }
  const ok = await main(url)
  // The killed nodes' database connections stay open in this process (a real power cut would
  // close them with it): end the process here.
  process.exit(ok ? 0 : 1)
}
