// The `scale.max_stall_ms` figure: the longest synchronous step on any of three real sworm nodes (the
// suite's swormNode fixture), read as the largest event-loop delay of each node, while 10,000
// names are registered, compacted, moved by a leave and adopted after a kill. A step that long
// stalls every process of its node, heartbeats included.
import { setTimeout as sleep } from 'node:timers/promises'
import { spawnNode, type ChildNode } from '@swormjs/test'
import {
  REQUEST_TIMEOUT_MS,
  field,
  nodeFlags,
  numberReply,
  stopTimeoutMs,
  withChildren,
} from '../childNodes.js'
import type { Figure } from '../figure.js'
import { repeat, round, scaled, summarizeRuns, type Measurement, type Target } from '../measure.js'
import {
  PREFIX,
  SWORM_NODE,
  countOn,
  localCount,
  swormMesh,
  until,
  verify,
  watchMoved,
  type SwormMesh,
} from './swormMesh.js'

/** Names registered, moved and adopted, at full scale. */
const NAMES = 10_000
/** registerName calls in flight at once on the registering node (as the `sworm` suite's load). */
const CONCURRENCY = 64
/** The name whose removal tips the loaded node's docs into compaction. */
const TIPPING = 'k'
/** Names registered and removed on the loaded node to pile up dead entries. */
const CHURN = 'x'

const target = { op: '<=', value: 50 } as const satisfies Target

/**
 * A node's largest event-loop delay in a phase: wall time, and bounded by its CPU time; and its
 * longest garbage collection (a pause no code of ours makes).
 */
interface Delay {
  readonly wall: number
  readonly cpu: number
  readonly gc: number
}

/** The largest event-loop delay of each node since it was last asked (and resets it), in ms. */
async function maxDelays(nodes: readonly ChildNode[]): Promise<Delay[]> {
  // Settled all before any failure is thrown, so that none is left to reject unheard.
  const replies = await Promise.allSettled(nodes.map((n) => n.request({ op: 'maxDelay' })))
  return replies.map((r) => {
    if (r.status === 'rejected') throw r.reason
    return delayOf(r.value)
  })
}

function delayOf(reply: unknown): Delay {
  return {
    wall: field(reply, 'wallMs', 'number'),
    cpu: field(reply, 'cpuMs', 'number'),
    gc: field(reply, 'gcMs', 'number'),
  }
}

/** Ends the nodes: at once, or gracefully when profiled, so that their profiles get written. */
async function end(nodes: readonly ChildNode[]): Promise<void> {
  const profiled = nodeFlags().length > 0
  await Promise.all(nodes.map((n) => (profiled ? n.stop() : n.kill9())))
}

function spawnSworm(name: string, env: Record<string, string>): ChildNode {
  return spawnNode({
    script: SWORM_NODE,
    name,
    env: { NODE_NAME: name, SWORM_LOG_LEVEL: 'warn', ...env },
    execArgv: nodeFlags(),
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    stopTimeoutMs: stopTimeoutMs(),
  })
}

/**
 * Three sworm nodes where C, alone at first, registered `count` workers (so it runs them all)
 * and gave each its own state; then A and B joined (no redistribution: the names stay on C).
 * With `churn`, C also registered `TIPPING0` and registered and removed `count` more names
 * while alone: its docs then hold exactly as many dead entries as `compactMinDead` (`count`)
 * allows, and the next removal compacts both.
 */
async function loadedOnC(count: number, churn: boolean): Promise<SwormMesh> {
  const env = { SWORM_COMPACT_MIN_DEAD: String(count) }
  const c = spawnSworm('sworm-c', env)
  const nodes: ChildNode[] = [c]
  const dispose = (): Promise<void> => end(nodes)
  try {
    await c.ready
    await c.request({ op: 'register', prefix: PREFIX, count, concurrency: CONCURRENCY })
    await c.request({ op: 'setStates', prefix: PREFIX, count, concurrency: CONCURRENCY })
    if (churn) {
      await c.request({ op: 'register', prefix: TIPPING, count: 1 })
      await c.request({ op: 'register', prefix: CHURN, count, concurrency: CONCURRENCY })
      await c.request({ op: 'unregister', prefix: CHURN, count, concurrency: CONCURRENCY })
    }
    const a = spawnSworm('sworm-a', env)
    const b = spawnSworm('sworm-b', env)
    nodes.unshift(a, b)
    const readies = await Promise.all(nodes.map((n) => n.ready))
    const ids = readies.map((r) => field(r, 'id', 'string')) as [string, string, string]
    const urls = readies.map((r) => field(r, 'url', 'string'))
    for (const [i, node] of nodes.entries()) {
      for (const url of urls.slice(i + 1)) await node.request({ op: 'connect', url })
    }
    const total = count + (churn ? 1 : 0)
    for (const node of nodes) {
      // Both of C's docs (names and children) synced: what follows measures nothing of that.
      await until('C known with its names and children', async () => {
        const reply = await node.request({ op: 'members' })
        return (
          field(reply, 'members', 'number') === 3 &&
          field(reply, 'routers', 'number') === 3 &&
          (await countOn(node)) === total &&
          numberReply(await node.request({ op: 'children' }), 'children') === total
        )
      })
    }
    return {
      nodes: nodes as [ChildNode, ChildNode, ChildNode],
      ids,
      [Symbol.asyncDispose]: dispose,
    }
  } catch (e) {
    await dispose()
    throw e
  }
}

/** Phase: A registers `count` names (placed across the three), `CONCURRENCY` at once. */
async function registration(count: number): Promise<Delay[]> {
  await using mesh = await swormMesh()
  const [a] = mesh.nodes
  await maxDelays(mesh.nodes)
  await a.request({ op: 'register', prefix: PREFIX, count, concurrency: CONCURRENCY })
  for (const node of mesh.nodes) {
    await until('every name everywhere', async () => (await countOn(node)) === count)
  }
  return await maxDelays(mesh.nodes)
}

/** The docs `node` holds: their names, and the generations of its own BenchRooms docs. */
async function docsOf(
  node: ChildNode,
): Promise<{ registry: number; supervisor: number; held: string[] }> {
  const reply = await node.request({ op: 'docs' })
  return {
    registry: field(reply, 'registry', 'number'),
    supervisor: field(reply, 'supervisor', 'number'),
    held: (reply as { held: string[] }).held,
  }
}

/**
 * Phases on C loaded with `count` names and churned: C compacts its registry and supervisor
 * docs (until A and B follow the new generations), then C leaves and its names move (with their
 * state, checked afterwards) to A and B.
 */
async function compactionAndLeave(
  count: number,
  note: (text: string) => void,
): Promise<{ compaction: Delay[]; leave: Delay[]; lostState: number }> {
  await using cluster = await loadedOnC(count, true)
  const [a, b, c] = cluster.nodes
  const leaver = cluster.ids[2]
  await maxDelays(cluster.nodes)
  await c.request({ op: 'unregister', prefix: TIPPING, count: 1 })
  await until('C compacted both docs', async () => {
    const d = await docsOf(c)
    return d.registry >= 1 && d.supervisor >= 1
  })
  const newGen = [
    `registry/sworm.BenchRooms/${leaver}/1`,
    `supervisor/sworm.BenchRooms/${leaver}/1`,
  ]
  for (const node of [a, b]) {
    await until('A and B follow the new generations', async () => {
      const { held } = await docsOf(node)
      const ofC = held.filter((d) => d.includes(`/${leaver}/`))
      return ofC.length === 2 && newGen.every((d) => held.includes(d))
    })
  }
  const compaction = await maxDelays(cluster.nodes)
  const watches = await Promise.all([a, b].map((n) => watchMoved(n, count, leaver)))
  const stopped = c.request({ op: 'stop' })
  await Promise.all(watches.map((w) => w.moved))
  const stop = await stopped
  await c.exited
  const leave = [...(await maxDelays([a, b])), delayOf((stop as { maxDelay: unknown }).maxDelay)]
  const took = field(stop, 'end', 'number') - field(stop, 'start', 'number')
  note(
    `  the leave took ${round(took)} ms, ${round(field(stop, 'cpuMs', 'number'))} ms of CPU on C`,
  )
  const checked = await verify(b, count)
  const lostState = checked.wrong + checked.unreachable
  if (lostState > 0) {
    const warnings = c.stderr.split('\n').filter((l) => /"level":"(warn|error)"/.test(l))
    for (const line of [...checked.examples, ...warnings.slice(0, 3)]) note(`  ${line}`)
  }
  return { compaction, leave, lostState }
}

/** Phase: C, running `count` names, is killed; A and B adopt them. */
async function adoption(count: number): Promise<Delay[]> {
  await using cluster = await loadedOnC(count, false)
  const [a, b, c] = cluster.nodes
  await maxDelays(cluster.nodes)
  const watches = await Promise.all([a, b].map((n) => watchMoved(n, count, cluster.ids[2])))
  await c.kill9()
  await Promise.all(watches.map((w) => w.moved))
  return await maxDelays([a, b])
}

/**
 * Phase: C runs `count` names alone, with active redistribution; then A and B join it, and the
 * names the hash now gives them move to them with their state, in bounded rounds (`rebalance`:
 * at most 1,000 moves a round, one round each 500 ms). Until A and B run their share.
 */
async function rebalance(count: number): Promise<Delay[]> {
  const env = { SWORM_REDISTRIBUTION: 'active' }
  const nodes = ['sworm-a', 'sworm-b', 'sworm-c'].map((n) => spawnSworm(n, env))
  try {
    const [a, b, c] = nodes as [ChildNode, ChildNode, ChildNode]
    const readies = await Promise.all(nodes.map((n) => n.ready))
    await c.request({ op: 'register', prefix: PREFIX, count, concurrency: CONCURRENCY })
    await c.request({ op: 'setStates', prefix: PREFIX, count, concurrency: CONCURRENCY })
    // Their start-up is not what is measured.
    await maxDelays(nodes)
    const urls = readies.map((r) => field(r, 'url', 'string'))
    await a.request({ op: 'connect', url: urls[2] })
    await b.request({ op: 'connect', url: urls[2] })
    // At least a sixth each (a third is the hash's share: rounds take a while to get there).
    await until('A and B to run their share', async () => {
      const [onA, onB] = await Promise.all([a, b].map((n) => localCount(n, count)))
      return onA! >= count / 6 && onB! >= count / 6
    })
    return await maxDelays(nodes)
  } finally {
    await end(nodes)
  }
}

/** Idle bound of the passivation phase: long enough that every name is registered first. */
const IDLE_MS = 4_000
/** The touch of every name has reached them all after this (well within `IDLE_MS`). */
const TOUCHED_MS = 1_000

/**
 * Phase: A registers `count` names (placed across the three) with `idleTimeoutMs`, and nothing
 * calls them after one cast to each, sent in one loop: they fall idle within a few ms of each other and passivate (each worker's
 * state kept on its delegate, the worker stopped). Until each node runs `count / 3` fewer
 * processes, give or take a tenth.
 */
async function passivation(count: number): Promise<Delay[]> {
  await using mesh = await swormMesh({ env: { SWORM_IDLE_TIMEOUT_MS: String(IDLE_MS) } })
  const [a] = mesh.nodes
  const processes = async (): Promise<number> => {
    const each = await Promise.all(mesh.nodes.map((n) => n.request({ op: 'processes' })))
    return each.reduce((sum: number, p) => sum + numberReply(p, 'processes'), 0)
  }
  // An awake name runs two processes (its delegate and its worker), a passivated one one.
  const base = await processes()
  await a.request({ op: 'register', prefix: PREFIX, count, concurrency: CONCURRENCY })
  // Every worker touched at once, so that they fall idle together; that burst and the
  // registration are not this phase's stalls.
  await a.request({ op: 'touchAll', prefix: PREFIX, count })
  await sleep(TOUCHED_MS)
  await maxDelays(mesh.nodes)
  await until('every worker passivated', async () => (await processes()) - base <= count * 1.01)
  return await maxDelays(mesh.nodes)
}

interface Run {
  readonly register: Delay[]
  readonly compaction: Delay[]
  readonly leave: Delay[]
  readonly adopt: Delay[]
  readonly rebalance: Delay[]
  readonly passivation: Delay[]
  readonly lostState: number
}

const PHASES = ['register', 'compaction', 'leave', 'adopt', 'rebalance', 'passivation'] as const
type Phase = (typeof PHASES)[number]

const wallOf = (ds: readonly Delay[]): number => Math.max(...ds.map((d) => d.wall))
const cpuOf = (ds: readonly Delay[]): number => Math.max(...ds.map((d) => d.cpu))
const gcOf = (ds: readonly Delay[]): number => Math.max(...ds.map((d) => d.gc))
/** The headline: registration and leave, on any node. */
const headline = (r: Run): number => Math.max(wallOf(r.register), wallOf(r.leave))

function byNode(ds: readonly Delay[]): string {
  return ds
    .map((d, i) => `${'abc'[i]} ${round(d.wall)} (cpu ${round(d.cpu)}, gc ${round(d.gc)})`)
    .join(', ')
}

function medianOf(xs: readonly number[]): number {
  const s = [...xs].sort((x, y) => x - y)
  return s[s.length >> 1] ?? Number.NaN
}

/** Each node's median over the runs of one phase, as `a 12 (cpu 10), b ...`. */
function medianByNode(runs: readonly Run[], phase: Phase): string {
  const nodes = runs[0]?.[phase].length ?? 0
  const median = Array.from({ length: nodes }, (_, i) => ({
    wall: medianOf(runs.map((r) => r[phase][i]?.wall ?? Number.NaN)),
    cpu: medianOf(runs.map((r) => r[phase][i]?.cpu ?? Number.NaN)),
    gc: medianOf(runs.map((r) => r[phase][i]?.gc ?? Number.NaN)),
  }))
  return byNode(median)
}

const maxStall: Figure = {
  name: 'max_stall_ms',
  description: `ms: largest event-loop delay on any node, 3 nodes: ${NAMES} registrations (${CONCURRENCY} in flight from one node), then a ${NAMES} leave (handoff on); also per phase, with each node's delay bounded by its CPU time: registration, leave, kill-adoption, compaction, the bounded rounds of an active rebalance when two nodes join, and the passivation of every worker idle at once (target <= ${target.value})`,
  run: (options) =>
    withChildren(async (): Promise<Measurement> => {
      const count = scaled(NAMES, options.scale, 10)
      const once = async (): Promise<Run> => {
        const register = await registration(count)
        const { compaction, leave, lostState } = await compactionAndLeave(count, options.note)
        const adopt = await adoption(count)
        const rebalanced = await rebalance(count)
        return {
          register,
          compaction,
          leave,
          adopt,
          rebalance: rebalanced,
          passivation: await passivation(count),
          lostState,
        }
      }
      const runs = await repeat(
        { ...options, warmup: 0 },
        'scale.max_stall_ms',
        once,
        (r) =>
          `${round(headline(r))} ms; by node: ${PHASES.map((p) => `${p} ${byNode(r[p])}`).join('; ')}; ${r.lostState} lost state`,
      )
      const extras: Record<string, (r: Run) => number> = {}
      for (const p of PHASES) {
        extras[`${p}_ms`] = (r) => wallOf(r[p])
        extras[`${p}_cpu_ms`] = (r) => cpuOf(r[p])
        extras[`${p}_gc_ms`] = (r) => gcOf(r[p])
      }
      const byNodeFields: Record<string, string> = {}
      for (const p of PHASES) byNodeFields[`${p}_by_node`] = medianByNode(runs, p)
      return {
        ...summarizeRuns(runs, headline, 'ms', target, extras),
        ...byNodeFields,
        // A lost state is a bug whatever the stalls say: the worst run.
        lost_state: Math.max(...runs.map((r) => r.lostState)),
        count,
      }
    }),
}

/** The stall figures, run by `cli.js scale` after its others. */
export const stallFigures: Figure[] = [maxStall]
