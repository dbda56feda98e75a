// The demo: a real 3-node cluster of separate Node processes on 127.0.0.1 running the `Counters`
// sworm with handoff. Node `a` registers a few thousand counters and calls them steadily by name;
// node `b` stops gracefully (its counters move with their counts: no call may fail), then comes
// back (counters move to it again); node `c` is killed with SIGKILL (its counters restart
// elsewhere from zero: calls to them may fail meanwhile, as a crash allows; the durable
// counters, kept with `replicas: 1`, restart from their newest count), then comes back.
// It ends with a summary table and exits 0 only if nothing was lost where the library promises
// it. Every child is killed if the driver exits early.
import { fork, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import type { Command, LoadStats, Report } from './shared.js'

const WORKERS = Number(process.env['DEMO_WORKERS'] ?? 3000)
const DURABLE = Number(process.env['DEMO_DURABLE'] ?? 1000)
const STEADY_MS = Number(process.env['DEMO_STEADY_MS'] ?? 2000)
// The observer page's token: printed in its address, fresh for every run.
const token = process.env['DEMO_TOKEN'] ?? randomBytes(9).toString('base64url')
const nodeScript = fileURLToPath(new URL('./node.js', import.meta.url))

const t0 = performance.now()
const log = (line: string): void => {
  process.stdout.write(`[${((performance.now() - t0) / 1000).toFixed(2).padStart(6)}s] ${line}\n`)
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

interface Child {
  name: string
  proc: ChildProcess
  url: string
  id: string
  waiting: Map<string, Array<(v: unknown) => void>>
}

const children = new Map<string, Child>()
// Leave no process behind, whatever happens to the driver.
process.on('exit', () => {
  for (const c of children.values()) c.proc.kill('SIGKILL')
})
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130))

function spawnNode(name: string, seed: string): Promise<Child> {
  const proc = fork(nodeScript, [], {
    env: { ...process.env, DEMO_NODE: name, DEMO_SEED: seed, DEMO_TOKEN: token },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  return new Promise((resolve, reject) => {
    const child: Child = { name, proc, url: '', id: '', waiting: new Map() }
    proc.on('message', (r: Report) => {
      if (r.type === 'up') {
        child.url = r.url
        child.id = r.id
        children.set(name, child)
        log(`node ${name} up at ${r.url} (pid ${proc.pid})`)
        if (name === 'a' && r.observer !== undefined) log(`observer: ${r.observer}`)
        resolve(child)
      } else if (r.type === 'event') log(r.line)
      else {
        const q = child.waiting.get(r.op)
        q?.shift()?.(r.value)
      }
    })
    proc.on('exit', (code, signal) => {
      if (children.get(name) === child) children.delete(name)
      log(`node ${name} exited (${signal ?? `code ${code}`})`)
      reject(new Error(`node ${name} exited before it was up`))
    })
  })
}

function ask<T>(child: Child, cmd: Command): Promise<T> {
  return new Promise((resolve) => {
    const q = child.waiting.get(cmd.op) ?? []
    q.push(resolve as (v: unknown) => void)
    child.waiting.set(cmd.op, q)
    child.proc.send(cmd)
  })
}

/** Polls node `a` until `cmd` answers true; resolves with the time it took. */
async function until(a: Child, cmd: Command, what: string, timeoutMs = 20_000): Promise<number> {
  const start = performance.now()
  while (!(await ask<boolean>(a, cmd))) {
    if (performance.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
  return performance.now() - start
}

function exited(c: Child): Promise<void> {
  return new Promise((r) => {
    if (c.proc.exitCode !== null || c.proc.signalCode !== null) r()
    else c.proc.once('exit', () => r())
  })
}

const recovery: Array<[string, number]> = []
let failed = false
try {
  const a = await spawnNode('a', '')
  await spawnNode('b', a.url)
  await spawnNode('c', a.url)
  await sleep(300)

  const perNode = await ask<Record<string, number>>(a, {
    op: 'register',
    count: WORKERS,
    durable: DURABLE,
  })
  log(
    `${WORKERS} counters and ${DURABLE} durable ones (replicas: 1) registered: ${JSON.stringify(perNode)} per node`,
  )
  await ask(a, { op: 'load', on: true })
  log('load: 32 clients on node a calling every counter by name, each answer checked')
  await sleep(STEADY_MS)

  /** Stops `name` with `signal`; the recovery is over once none of the counters runs there. */
  const take = async (name: string, signal: 'SIGTERM' | 'SIGKILL', what: string): Promise<void> => {
    const child = children.get(name)!
    if (signal === 'SIGKILL') {
      const on = await ask<{ plain: number; durable: number }>(a, {
        op: 'expectCrash',
        node: name,
      })
      log(`${on.plain} counters and ${on.durable} durable ones ran on ${name}`)
    }
    child.proc.kill(signal)
    recovery.push([what, await until(a, { op: 'settled', without: name }, `${name}’s counters`)])
    await exited(child)
    await sleep(STEADY_MS / 2)
  }
  /** Starts `name` again; the recovery is over once the counters that hash to it are there. */
  const bringBack = async (name: string): Promise<void> => {
    log(`--- node ${name} comes back: counters that hash to it move there, with their counts`)
    const t = performance.now()
    await spawnNode(name, a.url)
    await until(a, { op: 'settled', with: name }, `counters to move to ${name}`)
    recovery.push([`${name} restarts: counters moving to it again`, performance.now() - t])
    await sleep(STEADY_MS / 2)
  }

  log('--- node b stops gracefully: its counters move with their counts (no call may fail)')
  await take('b', 'SIGTERM', 'b stops gracefully: counters running elsewhere')
  await bringBack('b')
  log(
    '--- node c is killed (SIGKILL): its counters restart elsewhere from zero, the durable ones from their copies',
  )
  await take('c', 'SIGKILL', 'c killed: counters running again elsewhere')
  await bringBack('c')
  await sleep(STEADY_MS / 2)

  await ask(a, { op: 'load', on: false })
  const check = await ask<{ checked: number; wrong: number }>(a, { op: 'verify' })
  const stats = await ask<LoadStats & { names: number }>(a, { op: 'stats' })
  log(`every counter checked: ${check.checked - check.wrong} of ${check.checked} hold their count`)

  const rows: Array<[string, string]> = [
    ['workers', String(stats.names)],
    ['calls sent', String(stats.sent)],
    ['calls answered', String(stats.answered)],
    ['calls failed: node crashed (not promised)', String(stats.crashFailed)],
    ['counters restarted from zero after the crash', String(stats.restartedFromZero)],
    ['durable counters on the crashed node (back from copies)', String(stats.durableCrashed)],
    ['lost (calls or counts the library promises)', String(stats.lost)],
    ...recovery.map(([what, ms]): [string, string] => [`time: ${what}`, `${ms.toFixed(0)} ms`]),
  ]
  const width = Math.max(...rows.map(([k]) => k.length))
  process.stdout.write('\n')
  for (const [k, v] of rows) process.stdout.write(`  ${k.padEnd(width)}  ${v.padStart(9)}\n`)
  process.stdout.write('\n')
  for (const ex of stats.lostExamples) log(`lost: ${ex}`)
  failed = stats.lost > 0 || check.wrong > 0 || stats.names !== WORKERS + DURABLE
  log(failed ? 'FAILED: something was lost' : 'OK: nothing lost where the library promises it')
} catch (e) {
  log(`FAILED: ${(e as Error).message}`)
  failed = true
} finally {
  await Promise.all(
    [...children.values()].map(async (c) => {
      c.proc.kill('SIGTERM')
      await exited(c)
    }),
  )
}
process.exit(failed ? 1 : 0)
