// One node of the demo, in its own OS process: it runs the `Counters` sworm and the
// `DurableCounters` sworm (the same, with `replicas: 1`), reports what it sees to the driver,
// and on node `a` runs the load client (steady calls by name at every worker, each answer
// checked against the count the client expects).
import { nodeOf, silentLogger, type Pid } from '@swormjs/actor'
import { observe } from '@swormjs/observe'
import { startNode } from '@swormjs/sworm'
import {
  Counter,
  Counters,
  DurableCounters,
  type Command,
  type LoadStats,
  type Report,
} from './shared.js'

const name = process.env['DEMO_NODE'] ?? 'a'
const seed = process.env['DEMO_SEED'] ?? ''
const report = (r: Report): void => {
  process.send?.(r)
}

const node = await startNode({
  name,
  host: '127.0.0.1',
  port: 0,
  cookie: process.env['DEMO_COOKIE'] ?? 'demo-cookie-of-the-sworm-demo',
  seeds: seed === '' ? [] : [seed],
  logger: silentLogger,
  // Default failure detection: a killed process is seen at once (its sockets close); a 1 s
  // heartbeat timeout would mistake a busy machine for a dead peer.
  children: [Counters, DurableCounters],
})
// Every node serves /metrics and the observer page (the driver prints node a's address).
const observer = observe(node, {
  metrics: true,
  page: { token: process.env['DEMO_TOKEN'] ?? 'demo' },
})
const counters = Counters.on(node)
const durable = DurableCounters.on(node)
/** The sworm a name of the load belongs to: `durable:` names are DurableCounters'. */
const swormOf = (n: string): typeof counters => (n.startsWith('durable:') ? durable : counters)
const nameOfNode = (id: string): string => node.nodes().find((n) => n.id === id)?.name ?? name
node.on('nodeUp', (n) => report({ type: 'event', line: `${name}: sees ${n.name} up` }))
node.on('nodeDown', (n, why) =>
  report({ type: 'event', line: `${name}: sees ${n.name} down (${why})` }),
)
let handoffs = 0
counters.on('handoff', () => handoffs++)
// Workers arriving here (moved by a leave or a join, or adopted after a crash), told in batches.
let arrived = 0
let told = 0
counters.supervisor.on('moved', () => arrived++)
durable.supervisor.on('moved', () => arrived++)
setInterval(() => {
  if (arrived === told) return
  report({ type: 'event', line: `${name}: ${arrived - told} workers arrived` })
  told = arrived
}, 500).unref()

// ------------------------------------------------------------------ the load client (node a)

const names: string[] = []
const expected = new Map<string, number>()
const stats: LoadStats = {
  sent: 0,
  answered: 0,
  lost: 0,
  crashFailed: 0,
  restartedFromZero: 0,
  durableCrashed: 0,
  lostExamples: [],
}
/** Names whose node is being killed: a failure or a count back at zero is excused, once. */
const excused = new Set<string>()
/**
 * Durable names whose node is being killed: a failure is excused, not a lost count. A call that
 * failed may still have counted (its copy was kept, its answer lost with the node), so the next
 * answer may be up to that many ahead; never behind.
 */
const uncertain = new Map<string, number>()
const crashedDurable = new Set<string>()
let loadOn = false
let loops: Array<Promise<void>> = []

function lose(what: string): void {
  stats.lost++
  if (stats.lostExamples.length < 5) stats.lostExamples.push(what)
}

async function loop(offset: number, stride: number): Promise<void> {
  for (let i = offset; loadOn; i += stride) {
    const n = names[i % names.length]!
    stats.sent++
    try {
      const got = await swormOf(n).call<number>(n, 'inc', { timeoutMs: 5000 })
      stats.answered++
      const want = (expected.get(n) ?? 0) + 1
      const slack = uncertain.get(n) ?? 0
      if (got === want) expected.set(n, got)
      else if (slack > 0 && got > want && got <= want + slack) expected.set(n, got)
      else if (excused.has(n) && got === 1) {
        // Its node was killed: it started again from scratch, as a crash allows.
        stats.restartedFromZero++
        expected.set(n, 1)
        excused.delete(n)
      } else lose(`${n} answered ${got}, expected ${want}`)
      uncertain.delete(n)
    } catch (e) {
      // Asked at the failure, not at the start: a call already in flight when the driver
      // announced the crash is excused too.
      if (crashedDurable.has(n)) {
        stats.crashFailed++
        uncertain.set(n, (uncertain.get(n) ?? 0) + 1)
        await new Promise((r) => setTimeout(r, 50))
      } else if (!excused.has(n)) lose(`${n}: ${(e as Error).message}`)
      else {
        stats.crashFailed++
        await new Promise((r) => setTimeout(r, 50))
      }
    }
  }
}

async function register(count: number, durableCount: number): Promise<Record<string, number>> {
  const perNode: Record<string, number> = {}
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < count + durableCount) {
      const i = next++
      const n = i < count ? `counter:${i}` : `durable:${i - count}`
      const pid = await swormOf(n).registerName(n, Counter, undefined)
      names.push(n)
      expected.set(n, 0)
      const host = nameOfNode(nodeOf(pid))
      perNode[host] = (perNode[host] ?? 0) + 1
    }
  }
  await Promise.all(Array.from({ length: 64 }, worker))
  names.sort()
  return perNode
}

/** True once every name resolves to a node other than `without` (and, if given, some on `with`). */
function settled(without?: string, withNode?: string): boolean {
  let onWith = 0
  for (const n of names) {
    const pid: Pid | undefined = swormOf(n).whereis(n)
    if (pid === undefined) return false
    const host = nameOfNode(nodeOf(pid))
    if (host === without) return false
    if (host === withNode) onWith++
  }
  if (withNode === undefined) return true
  // Moves to a node that joined come in over a few hundred ms: settled once the count holds.
  const now = performance.now()
  if (onWith !== lastOnWith) {
    lastOnWith = onWith
    lastChange = now
  }
  return onWith > 0 && now - lastChange >= 300
}
let lastOnWith = -1
let lastChange = 0

async function verify(): Promise<{ checked: number; wrong: number }> {
  let wrong = 0
  for (const n of names) {
    try {
      const got = await swormOf(n).call<number>(n, 'get')
      if (got === expected.get(n)) continue
      lose(`${n} holds ${got}, expected ${expected.get(n)}`)
    } catch (e) {
      lose(`${n}: ${(e as Error).message}`)
    }
    wrong++
  }
  return { checked: names.length, wrong }
}

async function handle(cmd: Command): Promise<unknown> {
  switch (cmd.op) {
    case 'register':
      return register(cmd.count, cmd.durable)
    case 'load':
      if (cmd.on && !loadOn) {
        loadOn = true
        loops = Array.from({ length: 32 }, (_, i) => loop(i * 97, 32))
      } else if (!cmd.on) {
        loadOn = false
        await Promise.all(loops)
      }
      return true
    case 'expectCrash': {
      for (const n of names) {
        const pid = swormOf(n).whereis(n)
        if (pid === undefined || nameOfNode(nodeOf(pid)) !== cmd.node) continue
        if (swormOf(n) === durable) crashedDurable.add(n)
        else excused.add(n)
      }
      stats.durableCrashed = crashedDurable.size
      return { plain: excused.size, durable: crashedDurable.size }
    }
    case 'settled':
      return settled(cmd.without, cmd.with)
    case 'stats':
      return {
        ...stats,
        handoffs,
        names: counters.registered().length + durable.registered().length,
      }
    case 'verify':
      return verify()
    case 'stop':
      await node.stop()
      setImmediate(() => process.exit(0))
      return true
  }
}

process.on('message', (cmd: Command) => {
  handle(cmd).then(
    (value) => report({ type: 'reply', op: cmd.op, value }),
    (e: unknown) => report({ type: 'reply', op: cmd.op, value: { error: String(e) } }),
  )
})
// A graceful stop on SIGTERM: this node's names move, with their counts, before it exits.
process.on('SIGTERM', () => {
  void node.stop().then(() => process.exit(0))
})
// The driver went away: leave too, rather than linger.
process.on('disconnect', () => {
  void node.stop().then(() => process.exit(0))
})
report({ type: 'up', name, id: node.id, url: node.url, observer: observer.url })
