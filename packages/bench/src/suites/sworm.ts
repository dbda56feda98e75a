// The `sworm` suite: the `sworm` package across real node processes (the suite's own swormNode
// fixture, `dist/child/swormNode.js`): how fast a leaving node's handoff workers run elsewhere
// with their state, how many names `registerName` places per second, and whether calls by name
// made during a leave are ever lost.
import { setTimeout as sleep } from 'node:timers/promises'
import type { ChildNode } from '@sworm/test'
import {
  EVENT_TIMEOUT_MS,
  field,
  numberReply,
  startMesh,
  wallClock,
  withChildren,
  type Mesh,
} from '../childNodes.js'
import type { Figure, Suite } from '../figure.js'
import {
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
const WORKERS = 10_000
const REGISTER_PER_NODE = 10_000
/** registerName (and set, and verify) calls in flight at once on one node. */
const CONCURRENCY = 256
/** `inc` calls in flight at once in the load of `lost_messages`. */
const LOAD_CONCURRENCY = 64
/** How long the load runs before the leave starts, and after the leaver has exited. */
const LOAD_BEFORE_MS = 300
const LOAD_AFTER_MS = 300
const NAMES = ['sworm-a', 'sworm-b', 'sworm-c'] as const
/** The prefix of the workers' names (`w0`, `w1`, ...) in the leave figures. */
const PREFIX = 'w'
/** Between two polls of a node's state while waiting for a change to settle (not for timing). */
const POLL_MS = 20

const targets = {
  leave: { op: '<=', value: 2000 },
  register: { op: '>=', value: 10_000 },
  lost: { op: '<=', value: 0 },
} as const satisfies Record<string, Target>

/**
 * The suite's node script, compiled. Reached through the package root, so that the suite finds
 * it when it runs from `dist` and when a test runs it from `src`.
 */
const SWORM_NODE = new URL('../../dist/child/swormNode.js', import.meta.url)

/** Polls `probe` every `POLL_MS` until it returns true; rejects after `EVENT_TIMEOUT_MS`. */
async function until(what: string, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + EVENT_TIMEOUT_MS
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${EVENT_TIMEOUT_MS} ms`)
    await sleep(POLL_MS)
  }
}

/** How many names resolve on `node`. */
async function countOn(node: ChildNode): Promise<number> {
  return numberReply(await node.request({ op: 'count' }), 'count')
}

/** Three sworm nodes; disposing it ends them. */
interface SwormMesh extends AsyncDisposable {
  readonly nodes: readonly [ChildNode, ChildNode, ChildNode]
  readonly ids: readonly [string, string, string]
}

/**
 * Spawns three sworm nodes, meshes them, and resolves once each counts the three as members of
 * BenchRooms and knows each one's router (so that a move asks every node for its holds).
 */
async function swormMesh(): Promise<SwormMesh> {
  const mesh: Mesh = await startMesh(NAMES, { script: SWORM_NODE })
  try {
    const nodes = mesh.nodes as [ChildNode, ChildNode, ChildNode]
    const ids = (await Promise.all(
      nodes.map(async (n) => field(await n.ready, 'id', 'string')),
    )) as [string, string, string]
    for (const node of nodes) {
      await until('BenchRooms members', async () => {
        const reply = await node.request({ op: 'members' })
        return (
          field(reply, 'members', 'number') === nodes.length &&
          field(reply, 'routers', 'number') === nodes.length
        )
      })
    }
    return { nodes, ids, [Symbol.asyncDispose]: () => mesh[Symbol.asyncDispose]() }
  } catch (e) {
    await mesh[Symbol.asyncDispose]()
    throw e
  }
}

/**
 * Three sworm nodes where A registered `count` workers (`w0 ..`, placed across the three) and
 * gave each its own state; every node resolves all of them.
 */
async function filledSworm(count: number): Promise<SwormMesh> {
  const mesh = await swormMesh()
  try {
    const [a] = mesh.nodes
    await a.request({ op: 'register', prefix: PREFIX, count, concurrency: CONCURRENCY })
    await a.request({ op: 'setStates', prefix: PREFIX, count, concurrency: CONCURRENCY })
    for (const node of mesh.nodes) {
      await until('every name everywhere', async () => (await countOn(node)) === count)
    }
    return mesh
  } catch (e) {
    await mesh[Symbol.asyncDispose]()
    throw e
  }
}

/** How many of the workers run on `node`. */
async function localCount(node: ChildNode, count: number): Promise<number> {
  return numberReply(await node.request({ op: 'localCount', prefix: PREFIX, count }), 'localCount')
}

/** When B saw the workers off the leaver: the first one, and the last (all of them). */
interface MovedAt {
  readonly first: number
  readonly at: number
}

/**
 * Asks `node` for the absolute times (ms since the epoch, sub-ms) at which it first sees one of
 * the `count` workers leave `leaver` and at which it resolves all of them and none on `leaver`;
 * makes sure it is watching before this resolves (the next request's reply comes after the
 * watch is set up).
 */
async function watchMoved(
  node: ChildNode,
  count: number,
  leaver: string,
): Promise<{ moved: Promise<MovedAt> }> {
  const moved = node
    .request({
      op: 'awaitMoved',
      prefix: PREFIX,
      count,
      notOn: leaver,
      timeoutMs: EVENT_TIMEOUT_MS,
    })
    .then((reply) => ({ first: field(reply, 'first', 'number'), at: field(reply, 'at', 'number') }))
  // If the request fails, the caller awaits `moved` and hears of it; don't report it twice.
  moved.catch(() => undefined)
  await countOn(node)
  return { moved }
}

/** The leaver's own times (absolute): its `node.stop()`, and its first and last handoff. */
interface Left {
  readonly start: number
  readonly end: number
  readonly handoffs: number
  readonly firstHandoff: number
  readonly lastHandoff: number
}

/** The leaver's `stop`: it replies once it has left, then exits. */
async function leave(node: ChildNode): Promise<Left> {
  const reply = await node.request({ op: 'stop' })
  await node.exited
  return {
    start: field(reply, 'start', 'number'),
    end: field(reply, 'end', 'number'),
    handoffs: field(reply, 'handoffs', 'number'),
    firstHandoff: field(reply, 'firstHandoff', 'number'),
    lastHandoff: field(reply, 'lastHandoff', 'number'),
  }
}

/**
 * Where the time of a leave goes, in ms from the bench's stop request: the leaver's first
 * handoff (the hold round, then the first worker's answer), its last one, B's first sight of a
 * worker elsewhere, and B resolving them all (the value); the leaver's `node.stop()` as a whole.
 */
interface Phases {
  readonly ms: number
  readonly firstHandoffMs: number
  readonly lastHandoffMs: number
  readonly firstMovedMs: number
  readonly stopMs: number
  readonly handoffs: number
}

function phases(stopAt: number, moved: MovedAt, left: Left): Phases {
  return {
    ms: moved.at - stopAt,
    firstHandoffMs: left.firstHandoff - stopAt,
    lastHandoffMs: left.lastHandoff - stopAt,
    firstMovedMs: moved.first - stopAt,
    stopMs: left.end - left.start,
    handoffs: left.handoffs,
  }
}

function showPhases(p: Phases): string {
  return `handoffs ${round(p.firstHandoffMs)}..${round(p.lastHandoffMs)} ms (${p.handoffs}), first seen moved ${round(p.firstMovedMs)} ms, the leaver's stop ${round(p.stopMs)} ms`
}

/** The medians of the phases, as extra fields of a bench line. */
const phaseFields = {
  firstHandoffMs: (r: Phases) => r.firstHandoffMs,
  lastHandoffMs: (r: Phases) => r.lastHandoffMs,
  firstMovedMs: (r: Phases) => r.firstMovedMs,
  stopMs: (r: Phases) => r.stopMs,
}

/** What `verify` found: workers whose state is not what it should be, and by how much. */
interface Verified {
  /** Workers whose state differs. */
  readonly wrong: number
  /** Increments (or handed-over state) not there, summed over the workers. */
  readonly missing: number
  /** Increments counted twice, summed over the workers. */
  readonly extra: number
  /** Workers that did not answer a call by name. */
  readonly unreachable: number
  readonly examples: readonly string[]
}

/** `node` reads every worker's state by name and compares it with what it should be. */
async function verify(node: ChildNode, count: number): Promise<Verified> {
  const reply = await node.request({
    op: 'verify',
    prefix: PREFIX,
    count,
    concurrency: CONCURRENCY,
  })
  return {
    wrong: field(reply, 'wrong', 'number'),
    missing: field(reply, 'missing', 'number'),
    extra: field(reply, 'extra', 'number'),
    unreachable: field(reply, 'unreachable', 'number'),
    examples: (reply as { examples: string[] }).examples,
  }
}

function showExamples(note: (text: string) => void, v: Verified): void {
  for (const example of v.examples) note(`  wrong state: ${example}`)
}

const leaveHandoff: Figure = {
  name: 'leave_handoff_10k',
  description: `ms: ${WORKERS} handoff workers on 3 nodes, each with its own state; graceful stop of one until another resolves all of them off it; every state checked; fresh nodes each run (target <= ${targets.leave.value}, lost_state 0)`,
  run: (options: RunOptions) =>
    withChildren(async (): Promise<Measurement> => {
      const count = scaled(WORKERS, options.scale)
      const once = async (): Promise<Phases & { moved: number; lostState: number }> => {
        await using cluster = await filledSworm(count)
        const [a, b, c] = cluster.nodes
        const leaver = cluster.ids[2]
        const moved = await localCount(c, count)
        // B times it, from its own view.
        const watch = await watchMoved(b, count, leaver)
        const stopAt = wallClock()
        const stopped = leave(c)
        const seen = await watch.moved
        const left = await stopped
        await until('every name on A', async () => (await countOn(a)) === count)
        const checked = await verify(b, count)
        showExamples(options.note, checked)
        return {
          ...phases(stopAt, seen, left),
          moved,
          lostState: checked.wrong + checked.unreachable,
        }
      }
      const runs = await repeat(
        { ...options, warmup: 0 },
        'sworm.leave_handoff_10k',
        once,
        (r) =>
          `${round(r.ms)} ms, ${r.moved} workers moved, ${r.lostState} lost state (${showPhases(r)})`,
      )
      return {
        ...summarizeRuns(runs, (r) => r.ms, 'ms', targets.leave, {
          ...phaseFields,
          moved: (r) => r.moved,
        }),
        // Lost state is a bug whatever the median says: the worst run.
        lost_state: Math.max(...runs.map((r) => r.lostState)),
        count,
      }
    }),
}

const register: Figure = {
  name: 'register',
  description: `names/s: each of 3 nodes registers ${REGISTER_PER_NODE} names at once (placed across the cluster), ${CONCURRENCY} registerName calls in flight per node (target >= ${targets.register.value})`,
  run: (options: RunOptions) =>
    withChildren(async (): Promise<Measurement> => {
      const perNode = scaled(REGISTER_PER_NODE, options.scale)
      await using mesh = await swormMesh()
      const { nodes } = mesh
      let seq = 0
      let total = 0
      // One cluster for the warm-up and every run: each run registers new names beside the others.
      const once = async (): Promise<number> => {
        const run = ++seq
        const spans = await Promise.all(
          nodes.map(async (node, k) => {
            const reply = await node.request({
              op: 'register',
              prefix: `r${run}.${k}.`,
              count: perNode,
              concurrency: CONCURRENCY,
            })
            return { start: field(reply, 'start', 'number'), end: field(reply, 'end', 'number') }
          }),
        )
        total += perNode * nodes.length
        for (const node of nodes) {
          await until('every name everywhere', async () => (await countOn(node)) === total)
        }
        const start = Math.min(...spans.map((s) => s.start))
        const end = Math.max(...spans.map((s) => s.end))
        return (perNode * nodes.length * 1000) / (end - start)
      }
      const unit = 'names/s'
      const samples = await repeat(options, 'sworm.register', once, (v) => `${round(v)} ${unit}`)
      return {
        ...summarize(samples, unit, targets.register),
        count: perNode * nodes.length,
        concurrency: CONCURRENCY,
      }
    }),
}

const lostMessages: Figure = {
  name: 'lost_messages',
  description: `count: ${WORKERS} handoff workers on 3 nodes; B calls inc by name round-robin (${LOAD_CONCURRENCY} in flight) while C leaves gracefully; failed calls, increments missing (or doubled) in the workers' counts, and replies that break a name's run of counts; fresh nodes each run (target <= ${targets.lost.value})`,
  run: (options: RunOptions) =>
    withChildren(async (): Promise<Measurement> => {
      const count = scaled(WORKERS, options.scale)
      const once = async (): Promise<
        Phases & {
          lost: number
          failed: number
          badReplies: number
          lateReplies: number
          missing: number
          extra: number
          calls: number
          duringMove: number
          toMovingDuringMove: number
        }
      > => {
        await using cluster = await filledSworm(count)
        const [, b, c] = cluster.nodes
        const leaver = cluster.ids[2]
        await b.request({
          op: 'loadStart',
          prefix: PREFIX,
          count,
          concurrency: LOAD_CONCURRENCY,
          movingFrom: leaver,
        })
        await sleep(LOAD_BEFORE_MS)
        const watch = await watchMoved(b, count, leaver)
        const before = await b.request({ op: 'loadMark' })
        const stopAt = wallClock()
        const stopped = leave(c)
        const seen = await watch.moved
        const after = await b.request({ op: 'loadMark' })
        const left = await stopped
        await sleep(LOAD_AFTER_MS)
        const end = await b.request({ op: 'loadStop' })
        const errors = (end as { errors: Record<string, number> }).errors
        for (const [error, n] of Object.entries(errors)) options.note(`  ${n} × ${error}`)
        const checked = await verify(b, count)
        showExamples(options.note, checked)
        const failed = field(end, 'failed', 'number')
        return {
          ...phases(stopAt, seen, left),
          lost:
            failed +
            checked.missing +
            checked.extra +
            checked.unreachable +
            field(end, 'badReplies', 'number'),
          failed,
          badReplies: field(end, 'badReplies', 'number'),
          lateReplies: field(end, 'lateReplies', 'number'),
          missing: checked.missing,
          extra: checked.extra,
          calls: field(end, 'sent', 'number'),
          duringMove: field(after, 'sent', 'number') - field(before, 'sent', 'number'),
          toMovingDuringMove:
            field(after, 'sentToMoving', 'number') - field(before, 'sentToMoving', 'number'),
        }
      }
      const runs = await repeat(
        { ...options, warmup: 0 },
        'sworm.lost_messages',
        once,
        (r) =>
          `${r.lost} lost (${r.failed} failed, ${r.missing} missing, ${r.extra} doubled; ${r.badReplies} unexpected replies, ${r.lateReplies} late) of ${r.calls} calls, ${r.duringMove} during the ${round(r.ms)} ms move (${r.toMovingDuringMove} to moving names; ${showPhases(r)})`,
      )
      return {
        ...summarizeRuns(runs, (r) => r.lost, 'count', targets.lost, {
          calls: (r) => r.calls,
          calls_during_move: (r) => r.duringMove,
          calls_to_moving_during_move: (r) => r.toMovingDuringMove,
          moveMs: (r) => r.ms,
        }),
        // A lost call is a bug whatever the median says: the sum over the runs.
        lost_total: runs.reduce((sum, r) => sum + r.lost, 0),
        // Replies that break a name's run of counts (in `lost`), and those that merely came late.
        bad_replies_total: runs.reduce((sum, r) => sum + r.badReplies, 0),
        late_replies_total: runs.reduce((sum, r) => sum + r.lateReplies, 0),
        count,
        concurrency: LOAD_CONCURRENCY,
      }
    }),
}

/** The `sworm` suite, in the order `cli.js sworm` runs it. */
export const swormSuite: Suite = [leaveHandoff, register, lostMessages]
