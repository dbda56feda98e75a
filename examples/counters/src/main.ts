// The smallest complete sworm program: three nodes in one process, a few named counters spread
// over them, and a graceful leave that moves a counter, count and all, to another node (handoff).
import { pathToFileURL } from 'node:url'
import { nodeOf, type Pid } from '@swormjs/actor'
import { startNode, type SwormNode } from '@swormjs/sworm'
import { Counter, Counters } from './counter.js'

/** Runs the example, printing through `log`; true when every count survived the move. */
export async function main(log: (line: string) => void = console.log): Promise<boolean> {
  // Three nodes on free ports of 127.0.0.1; b and c find the others through a.
  const nodes: SwormNode[] = []
  for (const name of ['a', 'b', 'c']) {
    const seeds = nodes.length > 0 ? [nodes[0]!.url] : []
    nodes.push(await startNode({ name, seeds, cookie: 'counters-example', children: [Counters] }))
  }
  const hostOf = (pid: Pid | undefined): SwormNode | undefined =>
    nodes.find((node) => pid !== undefined && node.id === nodeOf(pid))
  try {
    await until(() => nodes.every((node) => Counters.on(node).nodes().length === 3))
    // Several nodes live in this process, so we go through one of them: `Counters.on(node)`.
    // (With one node per process, the statics do the same: `Counters.call('page:home', 'inc')`.)
    let counters = Counters.on(nodes[0]!)
    const before = new Map<string, { count: number; host: string | undefined }>()
    for (const [i, name] of ['page:home', 'page:about', 'page:blog'].entries()) {
      const pid = await counters.registerName(name, Counter, { start: 0 })
      let count = 0
      for (let k = 0; k <= i + 1; k++) count = await counters.call<number>(name, 'inc')
      before.set(name, { count, host: hostOf(pid)?.name })
      log(`${name} = ${count} on node ${hostOf(pid)?.name}`)
    }

    // Stop the node that hosts page:home, gracefully: its counters move, each with its count.
    const leaving = hostOf(counters.whereis('page:home'))!
    counters = Counters.on(nodes.find((node) => node !== leaving)!)
    log(`stopping node ${leaving.name} gracefully`)
    await leaving.stop()
    // Resolved again, on a node that stays (a name is briefly unresolved mid-move).
    await until(() => {
      const host = hostOf(counters.whereis('page:home'))
      return host !== undefined && host !== leaving
    })

    let ok = true
    for (const [name, { count, host }] of before) {
      const now = await counters.call<number>(name, 'get')
      const where = hostOf(counters.whereis(name))?.name
      log(`${name} = ${now} on node ${where}${where === host ? '' : ` (moved from ${host})`}`)
      ok &&= now === count
    }
    const next = await counters.call<number>('page:home', 'inc') // it carries on from there
    log(`page:home + 1 = ${next}`)
    ok &&= next === before.get('page:home')!.count + 1
    log(ok ? 'OK: every counter kept its count' : 'FAILED: a counter lost its count')
    return ok
  } finally {
    // One at a time: a node that stops hands its names to the nodes still up.
    for (const node of nodes) await node.stop()
  }
}

/** Polls `cond` every 10 ms; throws after `ms`. */
async function until(cond: () => boolean, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; !cond(); await new Promise((r) => setTimeout(r, 10))) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms`)
  }
}

// Run directly (`node dist/main.js`), not when a test imports `main`.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = (await main()) ? 0 : 1
}
