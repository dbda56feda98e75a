// The `cluster` suite: two real node processes on 127.0.0.1 (the clusterNode fixture of
// @swormjs/test, driven over the process harness): remote casts and calls, doc replication, and how
// fast a crashed node is noticed.
import type { ChildEvent, ChildNode } from '@swormjs/test'
import { EVENT_TIMEOUT_MS, field, startMesh, wallClock, withChildren } from '../childNodes.js'
import type { Figure, Suite } from '../figure.js'
import { codecFigures } from './codec.js'
import {
  measureLatency,
  repeat,
  round,
  scaled,
  summarize,
  summarizeRuns,
  type Measurement,
  type RunOptions,
  type Target,
} from '../measure.js'

/** Full-size workloads; `RunOptions.scale` shrinks them (the doc write stays whole). */
const CASTS = 500_000
/** Casts between two yields of the sender, so its batches go out while it keeps sending. */
const CAST_CHUNK = 10_000
const CALLS = 10_000
const DOC_ENTRIES = 10_000

const targets = {
  cast: { op: '>=', value: 200_000 },
  call: { op: '<=', value: 150 },
  docVisible: { op: '<=', value: 300 },
  detectClose: { op: '<=', value: 100 },
} as const satisfies Record<string, Target>

/** Two connected nodes: `a` dialed `b`, and both have seen the other come up. */
interface Pair extends AsyncDisposable {
  readonly a: ChildNode
  readonly b: ChildNode
}

/**
 * Spawns nodes A and B, has A dial B, and resolves once each has seen `nodeUp`. Disposing the
 * pair stops both (SIGTERM, then SIGKILL after `STOP_TIMEOUT_MS`).
 */
async function startPair(): Promise<Pair> {
  const mesh = await startMesh(['bench-a', 'bench-b'], { graceful: true })
  return {
    a: mesh.nodes[0]!,
    b: mesh.nodes[1]!,
    [Symbol.asyncDispose]: () => mesh[Symbol.asyncDispose](),
  }
}

/** Starts an Echo actor on `node` (it counts casts and answers calls); resolves with its pid. */
async function spawnEcho(node: ChildNode): Promise<string> {
  const pid = await node.request({ op: 'spawnEcho' })
  if (typeof pid !== 'string') throw new Error(`spawnEcho gave ${JSON.stringify(pid)}, not a pid`)
  return pid
}

/** A figure that measured less work than it claims is worse than none. */
function checkCount(what: string, got: number, want: number): void {
  if (got !== want) throw new Error(`expected ${want} ${what}, the nodes counted ${got}`)
}

const perSecond = (count: number, ms: number): number => (count * 1000) / ms

const cast: Figure = {
  compare: { baseline: 'ws_msgs_per_s', target: { op: '>=', value: 0.3 } },
  name: 'cast',
  description: `messages/s: node A casts ${CASTS} messages to an Echo on node B, until B handled all (target >= ${targets.cast.value})`,
  run: (options: RunOptions) =>
    withChildren(async (): Promise<Measurement> => {
      const count = scaled(CASTS, options.scale)
      await using pair = await startPair()
      const echo = await spawnEcho(pair.b)
      const once = async (): Promise<number> => {
        const result = await pair.a.request({
          op: 'castBench',
          pid: echo,
          count,
          chunk: CAST_CHUNK,
        })
        checkCount('casts handled', field(result, 'handled', 'number'), count)
        return perSecond(count, field(result, 'ms', 'number'))
      }
      const unit = 'messages/s'
      const samples = await repeat(options, 'cluster.cast', once, (v) => `${round(v)} ${unit}`)
      return { ...summarize(samples, unit, targets.cast), count }
    }),
}

const call: Figure = {
  compare: { baseline: 'ws_rtt_us', target: { op: '<=', value: 1.5 } },
  name: 'call',
  description: `µs: round trip of ${CALLS} sequential calls from node A to an Echo on node B, median and p99 (target <= ${targets.call.value})`,
  run: (options: RunOptions) =>
    withChildren(async (): Promise<Measurement> => {
      const count = scaled(CALLS, options.scale)
      await using pair = await startPair()
      const echo = await spawnEcho(pair.b)
      const once = async (): Promise<{ p50: number; p99: number }> => {
        const result = await pair.a.request({ op: 'callBench', pid: echo, count })
        checkCount('calls answered', field(result, 'count', 'number'), count)
        return { p50: field(result, 'p50', 'number'), p99: field(result, 'p99', 'number') }
      }
      return { ...(await measureLatency(options, 'cluster.call', once, targets.call)), count }
    }),
}

const docVisible: Figure = {
  name: 'doc_visible',
  description: `ms: from the start of a ${DOC_ENTRIES}-entry write (one transaction) to a doc of node A until node B reads every entry (target <= ${targets.docVisible.value})`,
  run: (options: RunOptions) =>
    withChildren(async (): Promise<Measurement> => {
      const count = DOC_ENTRIES
      await using pair = await startPair()
      let seq = 0
      const once = async (): Promise<{ visible: number; write: number }> => {
        const name = `bench/doc-${++seq}`
        await pair.a.request({ op: 'docCreate', name })
        // B watches before A writes, so the time it reports is when the entries arrived.
        await pair.b.request({ op: 'docWatch', name, count })
        const seen = pair.b.waitForEvent(
          (e: ChildEvent) => e.event === 'docVisible' && e.name === name,
          EVENT_TIMEOUT_MS,
        )
        const fill = await pair.a.request({ op: 'docFillTimed', name, count })
        const start = field(fill, 'start', 'number')
        const event = await seen
        checkCount('entries visible', field(event, 'size', 'number'), count)
        return {
          visible: field(event, 'at', 'number') - start,
          write: field(fill, 'end', 'number') - start,
        }
      }
      const runs = await repeat(
        options,
        'cluster.doc_visible',
        once,
        (r) => `${round(r.visible)} ms (the write itself ${round(r.write)} ms)`,
      )
      return {
        ...summarizeRuns(runs, (r) => r.visible, 'ms', targets.docVisible, {
          write: (r) => r.write,
        }),
        count,
      }
    }),
}

const detectClose: Figure = {
  name: 'detect_close',
  description: `ms: from kill -9 of node A until node B reports nodeDown, fresh nodes each run (target <= ${targets.detectClose.value})`,
  run: (options: RunOptions) =>
    withChildren(async (): Promise<Measurement> => {
      const once = async (): Promise<number> => {
        await using pair = await startPair()
        const down = pair.b.waitForEvent('nodeDown', EVENT_TIMEOUT_MS)
        const killedAt = wallClock()
        const killed = pair.a.kill9()
        const event = await down
        await killed
        // B stamps `at` with Date.now(): whole ms, so a run may read up to 1 ms short.
        return field(event, 'at', 'number') - killedAt
      }
      const samples = await repeat(options, 'cluster.detect_close', once, (v) => `${round(v)} ms`)
      return summarize(samples, 'ms', targets.detectClose)
    }),
}

/** The `cluster` suite, in the order `cli.js cluster` runs it. */
export const clusterSuite: Suite = [cast, call, docVisible, detectClose, ...codecFigures]
