// The `sworm` suite: the `sworm` package across real node processes (the suite's own swormNode
// fixture, `dist/child/swormNode.js`): how fast a leaving node's handoff workers run elsewhere
// with their state, how many names `registerName` places per second, and whether calls by name
// made during a leave are ever lost.
import { setTimeout as sleep } from 'node:timers/promises'
import { field, wallClock, withChildren } from '../childNodes.js'
import { usPerOp, type Figure, type Suite } from '../figure.js'
import {
  median,
  repeat,
  round,
  scaled,
  summarize,
  summarizeRuns,
  targetFields,
  type Measurement,
  type RunOptions,
  type Target,
} from '../measure.js'
import {
  PREFIX,
  CONCURRENCY,
  until,
  countOn,
  swormMesh,
  filledSworm,
  localCount,
  watchMoved,
  leave,
  phases,
  showPhases,
  phaseFields,
  verify,
  showExamples,
  type Phases,
} from './swormMesh.js'

/** Full-size workloads; `RunOptions.scale` shrinks them. */
const WORKERS = 10_000
const REGISTER_PER_NODE = 10_000
/** `inc` calls in flight at once in the load of `lost_messages`. */
/** Calls a second from each of A and B in `lost_messages` (open loop). */
const LOAD_RATE = 4_000
/** How long the load runs before the leave starts, and after the leaver has exited. */
const LOAD_BEFORE_MS = 300
const LOAD_AFTER_MS = 300

const targets = {
  leave: { op: '<=', value: 2000 },
  register: { op: '>=', value: 10_000 },
  lost: { op: '<=', value: 0 },
} as const satisfies Record<string, Target>

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
      const summary = summarizeRuns(runs, (r) => r.ms, 'ms', targets.leave, {
        ...phaseFields,
        moved: (r) => r.moved,
      })
      // Lost state is a bug whatever the median says: the worst run, and any loss fails the figure.
      const lostState = Math.max(...runs.map((r) => r.lostState))
      return {
        ...summary,
        pass: summary['pass'] === true && lostState === 0,
        lost_state: lostState,
        count,
      }
    }),
}

const register: Figure = {
  compare: { baseline: 'ws_rtt_us', inBaselineUnit: usPerOp },
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
  description: `count, the worst run's: ${WORKERS} handoff workers on 3 nodes; A and B each call inc by name round-robin over their half of the names at ${LOAD_RATE}/s, open loop (none waits for the one before), while C leaves gracefully; failed calls, increments missing (or doubled) in the workers' counts, and replies that break a name's run of counts; fresh nodes each run (target <= ${targets.lost.value})`,
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
          maxInFlight: number
        }
      > => {
        await using cluster = await filledSworm(count)
        const [a, b, c] = cluster.nodes
        const leaver = cluster.ids[2]
        // Open loop from A and B, each on its half of the names (so that each name's replies
        // come to one node, in order), at a fixed rate whatever the move does to the replies.
        const loaders = [a, b] as const
        for (const [k, n] of loaders.entries()) {
          await n.request({
            op: 'loadStart',
            prefix: PREFIX,
            count,
            rate: LOAD_RATE,
            stride: loaders.length,
            offset: k,
            movingFrom: leaver,
          })
        }
        await sleep(LOAD_BEFORE_MS)
        const watch = await watchMoved(b, count, leaver)
        const marks = (): Promise<unknown[]> =>
          Promise.all(loaders.map((n) => n.request({ op: 'loadMark' })))
        const sum = (replies: unknown[], key: string): number =>
          replies.reduce<number>((t, m) => t + field(m, key, 'number'), 0)
        const before = await marks()
        const stopAt = wallClock()
        const stopped = leave(c)
        const seen = await watch.moved
        const after = await marks()
        const left = await stopped
        await sleep(LOAD_AFTER_MS)
        const ends = await Promise.all(
          loaders.map((n, k) => n.request({ op: 'loadStop', withOk: k === 0 })),
        )
        for (const end of ends) {
          const errors = (end as { errors: Record<string, number> }).errors
          for (const [error, n] of Object.entries(errors)) options.note(`  ${n} × ${error}`)
        }
        // B checks every count: its own calls, and A's that succeeded.
        const checked = await verify(b, count, false, undefined, (ends[0] as { ok: number[] }).ok)
        showExamples(options.note, checked)
        const failed = sum(ends, 'failed')
        const badReplies = sum(ends, 'badReplies')
        return {
          ...phases(stopAt, seen, left),
          lost: failed + checked.missing + checked.extra + checked.unreachable + badReplies,
          failed,
          badReplies,
          lateReplies: sum(ends, 'lateReplies'),
          missing: checked.missing,
          extra: checked.extra,
          calls: sum(ends, 'sent'),
          duringMove: sum(after, 'sent') - sum(before, 'sent'),
          toMovingDuringMove: sum(after, 'sentToMoving') - sum(before, 'sentToMoving'),
          maxInFlight: Math.max(...ends.map((e) => field(e, 'maxInFlight', 'number'))),
        }
      }
      const runs = await repeat(
        { ...options, warmup: 0 },
        'sworm.lost_messages',
        once,
        (r) =>
          `${r.lost} lost (${r.failed} failed, ${r.missing} missing, ${r.extra} doubled; ${r.badReplies} unexpected replies, ${r.lateReplies} late) of ${r.calls} calls, ${r.duringMove} during the ${round(r.ms)} ms move (${r.toMovingDuringMove} to moving names, at most ${r.maxInFlight} in flight on a node; ${showPhases(r)})`,
      )
      // A lost call is a bug whatever the median says: the value is the worst run's, so the
      // figure fails if any run lost one.
      const worst = Math.max(...runs.map((r) => r.lost))
      return {
        ...summarizeRuns(runs, (r) => r.lost, 'count', targets.lost, {
          calls: (r) => r.calls,
          calls_during_move: (r) => r.duringMove,
          calls_to_moving_during_move: (r) => r.toMovingDuringMove,
          max_in_flight: (r) => r.maxInFlight,
          moveMs: (r) => r.ms,
        }),
        value: worst,
        ...targetFields(worst, targets.lost),
        median_lost: median(runs.map((r) => r.lost)),
        lost_total: runs.reduce((sum, r) => sum + r.lost, 0),
        // Replies that break a name's run of counts (in `lost`), and those that merely came late.
        bad_replies_total: runs.reduce((sum, r) => sum + r.badReplies, 0),
        late_replies_total: runs.reduce((sum, r) => sum + r.lateReplies, 0),
        count,
        rate_per_node: LOAD_RATE,
      }
    }),
}

/** The `sworm` suite, in the order `cli.js sworm` runs it. */
export const swormSuite: Suite = [leaveHandoff, register, lostMessages]
