// The `supervisor` suite: @swormjs/supervisor across real node processes (the clusterNode fixture
// of @swormjs/test): how fast the children of a crashed or leaving node run again elsewhere, how
// many children a startChild storm places per second, and how many move when a node joins.
import { setTimeout as sleep } from 'node:timers/promises'
import { rendezvous } from '@swormjs/supervisor/internal'
import type { ChildEvent, ChildNode } from '@swormjs/test'
import {
  EVENT_TIMEOUT_MS,
  field,
  numberReply,
  startMesh,
  wallClock,
  withChildren,
  type Mesh,
} from '../childNodes.js'
import { usPerOp, type Figure, type Suite } from '../figure.js'
import {
  median,
  repeat,
  round,
  scaled,
  summarize,
  summarizeRuns,
  type Measurement,
  type RunOptions,
  type Target,
} from '../measure.js'

/** Full-size workloads; `RunOptions.scale` shrinks them. */
const CHILDREN = 10_000
const JOIN_CHILDREN = 3_000
/** startChild calls in flight at once in the throughput figure (and when filling the nodes). */
const CONCURRENCY = 256
const SUP = 'bench'
const NAMES = ['bench-a', 'bench-b', 'bench-c'] as const
/** Between two polls of a node's state while waiting for a change to settle (not for timing). */
const POLL_MS = 20

const targets = {
  failover: { op: '<=', value: 1000 },
  /**
   * A silent node: the detector's defaults take it down after about 10 s of silence (a 1 s
   * interval, 3 s acceptable pause, 5.2 deviations of 100 ms, 5 s unreachable, judged once a
   * second); its children must run elsewhere within 300 ms of that.
   */
  afterDown: { op: '<=', value: 300 },
  leave: { op: '<=', value: 2000 },
  startChild: { op: '>=', value: 10_000 },
  movedOnJoin: { op: '<=', value: 0.3 },
} as const satisfies Record<string, Target>

/** The node id a fixture node reported in its ready line. */
async function idOf(node: ChildNode): Promise<string> {
  return field(await node.ready, 'id', 'string')
}

/** A figure that measured less work than it claims is worse than none. */
function checkCount(what: string, got: number, want: number): void {
  if (got !== want) throw new Error(`expected ${want} ${what}, counted ${got}`)
}

/** Polls `probe` every `POLL_MS` until it returns true; rejects after `EVENT_TIMEOUT_MS`. */
async function until(what: string, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + EVENT_TIMEOUT_MS
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${EVENT_TIMEOUT_MS} ms`)
    await sleep(POLL_MS)
  }
}

/** `node`'s view of the supervisor: children per node and the live members it counts. */
async function supCount(
  node: ChildNode,
): Promise<{ active: number; byNode: Record<string, number> }> {
  const reply = await node.request({ op: 'supCount', sup: SUP })
  return {
    active: field(reply, 'active', 'number'),
    byNode: (reply as { byNode: Record<string, number> }).byNode,
  }
}

/** Starts the bench supervisor on `nodes`, and resolves once each counts `members` members. */
async function startSupervisors(
  nodes: readonly ChildNode[],
  members: number,
  redistribution: 'passive' | 'active' = 'passive',
): Promise<void> {
  await Promise.all(nodes.map((n) => n.request({ op: 'supStart', sup: SUP, redistribution })))
  for (const node of nodes) {
    await until('supervisor members', async () => {
      const stats = await node.request({ op: 'supStats', sup: SUP })
      return field(stats, 'members', 'number') === members
    })
  }
}

/** `from` starts `count` children placed across the cluster; resolves with its timestamps. */
async function startMany(
  from: ChildNode,
  count: number,
  prefix: string,
): Promise<{ start: number; end: number }> {
  const reply = await from.request({
    op: 'supStartMany',
    sup: SUP,
    count,
    prefix,
    concurrency: CONCURRENCY,
  })
  return { start: field(reply, 'start', 'number'), end: field(reply, 'end', 'number') }
}

/**
 * Asks `node` for the absolute time (ms since the epoch, sub-ms) at which it sees `count`
 * children on live members and none on `notOn`. Sent before the change it waits for.
 */
function awaitCount(node: ChildNode, count: number, notOn?: string): Promise<number> {
  return node
    .request({
      op: 'supAwaitCount',
      sup: SUP,
      count,
      ...(notOn === undefined ? {} : { notOn }),
      timeoutMs: EVENT_TIMEOUT_MS,
    })
    .then((reply) => numberReply(reply, 'supAwaitCount'))
}

/** Three nodes running the supervisor with `count` children spread over them. */
interface Filled extends AsyncDisposable {
  readonly nodes: readonly [ChildNode, ChildNode, ChildNode]
  readonly ids: readonly [string, string, string]
}

/** Spawns three nodes, starts the supervisor on each, and has node A start `count` children. */
async function filledCluster(count: number): Promise<Filled> {
  const mesh: Mesh = await startMesh(NAMES)
  try {
    const nodes = mesh.nodes as [ChildNode, ChildNode, ChildNode]
    const ids = (await Promise.all(nodes.map(idOf))) as [string, string, string]
    await startSupervisors(nodes, nodes.length)
    await startMany(nodes[0], count, 'c')
    await Promise.all(nodes.map((n) => awaitCount(n, count)))
    return { nodes, ids, [Symbol.asyncDispose]: () => mesh[Symbol.asyncDispose]() }
  } catch (e) {
    await mesh[Symbol.asyncDispose]()
    throw e
  }
}

/** Every child once, on live members, as `node` sees it (id → node). */
async function placement(node: ChildNode): Promise<Map<string, string>> {
  const reply = (await node.request({ op: 'supWhich', sup: SUP })) as Array<{
    id: string
    node: string
  }>
  const out = new Map<string, string>()
  for (const c of reply) {
    if (out.has(c.id)) throw new Error(`child ${c.id} runs twice`)
    out.set(c.id, c.node)
  }
  return out
}

/**
 * Node C of `cluster` about to fail: how many children it holds, and B watching (from its own
 * view, polled there) for all `count` to run on A and B, and for C's `nodeDown`.
 */
async function watchFailover(
  cluster: Filled,
  count: number,
): Promise<{
  a: ChildNode
  c: ChildNode
  victim: string
  orphans: number
  recovered: Promise<number>
  down: Promise<ChildEvent>
}> {
  const [a, b, c] = cluster.nodes
  const victim = cluster.ids[2]
  const orphans = numberReply(await c.request({ op: 'supLocal', sup: SUP }), 'supLocal')
  const recovered = awaitCount(b, count, victim)
  const down = b.waitForEvent(
    (e: ChildEvent) => e.event === 'nodeDown' && e.id === victim,
    EVENT_TIMEOUT_MS,
  )
  return { a, c, victim, orphans, recovered, down }
}

const failover: Figure = {
  name: 'failover_10k',
  description: `ms: ${CHILDREN} children on 3 nodes; kill -9 of one until all its children run on the others; fresh nodes each run (target <= ${targets.failover.value} after the socket closes)`,
  run: (options: RunOptions) =>
    withChildren(async (): Promise<Measurement> => {
      const count = scaled(CHILDREN, options.scale)
      const once = async (): Promise<{ kill: number; close: number; orphans: number }> => {
        await using cluster = await filledCluster(count)
        const { a, c, victim, orphans, recovered, down } = await watchFailover(cluster, count)
        const killedAt = wallClock()
        await c.kill9()
        const at = await recovered
        // B stamps nodeDown's `at` with Date.now(): whole ms.
        const closedAt = field(await down, 'at', 'number')
        await awaitCount(a, count, victim)
        checkCount('children after the failover', (await placement(a)).size, count)
        return { kill: at - killedAt, close: at - closedAt, orphans }
      }
      const runs = await repeat(
        { ...options, warmup: 0 },
        'supervisor.failover_10k',
        once,
        (r) =>
          `${round(r.kill)} ms from the kill, ${round(r.close)} ms from the socket close (${r.orphans} orphans)`,
      )
      return {
        ...summarizeRuns(runs, (r) => r.kill, 'ms', targets.failover, {
          afterClose: (r) => r.close,
        }),
        orphans: median(runs.map((r) => r.orphans)),
        count,
      }
    }),
}

const failoverSilent: Figure = {
  name: 'failover_silent_10k',
  description: `ms: ${CHILDREN} children on 3 nodes; one falls silent (SIGSTOP: its sockets stay open, nothing comes) until all its children run on the others; fresh nodes each run (the detector at its defaults; target: ${targets.afterDown.value} ms or less after the others take it down)`,
  run: (options: RunOptions) =>
    withChildren(async (): Promise<Measurement> => {
      const count = scaled(CHILDREN, options.scale)
      const once = async (): Promise<{
        silent: number
        afterDown: number
        down: number
        orphans: number
      }> => {
        await using cluster = await filledCluster(count)
        const { a, c, victim, orphans, recovered, down } = await watchFailover(cluster, count)
        const silentAt = wallClock()
        process.kill(c.pid, 'SIGSTOP')
        try {
          const at = await recovered
          const downAt = field(await down, 'at', 'number')
          await awaitCount(a, count, victim)
          checkCount('children after the failover', (await placement(a)).size, count)
          return { silent: at - silentAt, afterDown: at - downAt, down: downAt - silentAt, orphans }
        } finally {
          await c.kill9()
        }
      }
      const runs = await repeat(
        { ...options, warmup: 0 },
        'supervisor.failover_silent_10k',
        once,
        (r) =>
          `${round(r.silent)} ms from the silence, ${round(r.afterDown)} ms after it was taken down (${r.orphans} orphans)`,
      )
      // The target is the downing bound plus 300 ms: what the run adds after the others took
      // the node down, in the worst run.
      const worstAfterDown = round(Math.max(...runs.map((r) => r.afterDown)))
      const silent = runs.map((r) => r.silent)
      return {
        value: round(median(silent)),
        unit: 'ms',
        target: `<= the downing bound + ${targets.afterDown.value}`,
        pass: worstAfterDown <= targets.afterDown.value,
        runs: runs.length,
        min: round(Math.min(...silent)),
        max: round(Math.max(...silent)),
        downing_bound_ms: round(median(runs.map((r) => r.down))),
        after_down_ms: round(median(runs.map((r) => r.afterDown))),
        after_down_worst_ms: worstAfterDown,
        orphans: median(runs.map((r) => r.orphans)),
        count,
      }
    }),
}

const leave: Figure = {
  name: 'leave_10k',
  description: `ms: ${CHILDREN} children on 3 nodes; graceful stop of one until all its children run on the others; fresh nodes each run (target <= ${targets.leave.value})`,
  run: (options: RunOptions) =>
    withChildren(async (): Promise<Measurement> => {
      const count = scaled(CHILDREN, options.scale)
      const once = async (): Promise<{ ms: number; moved: number }> => {
        await using cluster = await filledCluster(count)
        const [a, b, c] = cluster.nodes
        const leaver = cluster.ids[2]
        const moved = numberReply(await c.request({ op: 'supLocal', sup: SUP }), 'supLocal')
        const recovered = awaitCount(b, count, leaver)
        const stopAt = wallClock()
        // The node replies once it has left, then exits.
        const stopped = c.request({ op: 'stop' })
        const at = await recovered
        await stopped
        await c.exited
        await awaitCount(a, count, leaver)
        checkCount('children after the leave', (await placement(a)).size, count)
        return { ms: at - stopAt, moved }
      }
      const runs = await repeat(
        { ...options, warmup: 0 },
        'supervisor.leave_10k',
        once,
        (r) => `${round(r.ms)} ms (${r.moved} children moved)`,
      )
      return {
        ...summarize(
          runs.map((r) => r.ms),
          'ms',
          targets.leave,
        ),
        moved: median(runs.map((r) => r.moved)),
        count,
      }
    }),
}

const startChild: Figure = {
  compare: { baseline: 'ws_rtt_us', inBaselineUnit: usPerOp },
  name: 'start_child',
  description: `children/s: node A starts ${CHILDREN} children placed across 3 nodes, ${CONCURRENCY} calls in flight (target >= ${targets.startChild.value})`,
  run: (options: RunOptions) =>
    withChildren(async (): Promise<Measurement> => {
      const count = scaled(CHILDREN, options.scale)
      await using mesh = await startMesh(NAMES)
      const nodes = mesh.nodes as [ChildNode, ChildNode, ChildNode]
      const [a, b] = nodes
      await startSupervisors(nodes, nodes.length)
      let seq = 0
      let total = 0
      // One cluster for the warm-up and every run: each run starts new ids beside the others.
      const once = async (): Promise<number> => {
        const { start, end } = await startMany(a, count, `r${++seq}:`)
        total += count
        checkCount('children on node A', (await supCount(a)).active, total)
        await awaitCount(b, total)
        return (count * 1000) / (end - start)
      }
      const unit = 'children/s'
      const samples = await repeat(
        options,
        'supervisor.start_child',
        once,
        (v) => `${round(v)} ${unit}`,
      )
      return { ...summarize(samples, unit, targets.startChild), count, concurrency: CONCURRENCY }
    }),
}

const movedOnJoin: Figure = {
  name: 'moved_on_join',
  description: `fraction: redistribution 'active', ${JOIN_CHILDREN} children on 3 nodes; a 4th node starts the supervisor: children that moved over all; fresh nodes each run (target <= ${targets.movedOnJoin.value})`,
  run: (options: RunOptions) =>
    withChildren(async (): Promise<Measurement> => {
      const count = scaled(JOIN_CHILDREN, options.scale)
      const once = async (): Promise<{ fraction: number; ideal: number; settle: number }> => {
        await using mesh = await startMesh(NAMES)
        const nodes = mesh.nodes as [ChildNode, ChildNode, ChildNode]
        const [a] = nodes
        await startSupervisors(nodes, nodes.length, 'active')
        await startMany(a, count, 'c')
        await Promise.all(nodes.map((n) => awaitCount(n, count)))
        const before = await placement(a)
        checkCount('children before the join', before.size, count)
        // The 4th node: a process of its own, which dials the others and then starts the supervisor.
        await using joiner = await startMesh(['bench-d'])
        const d = joiner.nodes[0]!
        const ids = await Promise.all(nodes.map(idOf))
        const dId = await idOf(d)
        const ups = ids.map((id) =>
          d.waitForEvent((e: ChildEvent) => e.event === 'nodeUp' && e.id === id, EVENT_TIMEOUT_MS),
        )
        for (const node of nodes) {
          const url = field(await node.ready, 'url', 'string')
          await d.request({ op: 'connect', url })
        }
        await Promise.all(ups)
        // Rendezvous hashing gives the joiner exactly these; wait until they run there.
        const members = [...ids, dId]
        let wins = 0
        for (const id of before.keys()) if (rendezvous(id, members) === dId) wins++
        const t0 = wallClock()
        await d.request({ op: 'supStart', sup: SUP, redistribution: 'active' })
        await until('redistribution', async () => {
          const seen = await supCount(a)
          return seen.active === count && seen.byNode[dId] === wins
        })
        const settle = wallClock() - t0
        const after = await placement(a)
        checkCount('children after the join', after.size, count)
        let moved = 0
        for (const [id, node] of after) if (before.get(id) !== node) moved++
        return { fraction: moved / count, ideal: wins / count, settle }
      }
      const runs = await repeat(
        { ...options, warmup: 0 },
        'supervisor.moved_on_join',
        once,
        (r) =>
          `${round(r.fraction)} moved (the joiner's share ${round(r.ideal)}), settled within ${round(r.settle)} ms`,
      )
      return {
        ...summarizeRuns(runs, (r) => r.fraction, 'fraction', targets.movedOnJoin, {
          settleMs: (r) => r.settle,
        }),
        count,
      }
    }),
}

/** The `supervisor` suite, in the order `cli.js supervisor` runs it. */
export const supervisorSuite: Suite = [failover, failoverSilent, leave, startChild, movedOnJoin]
