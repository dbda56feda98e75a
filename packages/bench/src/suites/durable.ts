// The `durable` suite: `replicas` across three real sworm node processes (the sworm suite's
// swormNode fixture, running `DurableRooms` beside `BenchRooms`): acknowledged increments lost to
// a kill -9 under load (the worst run), how long the killed node's counters take to answer with
// their counts elsewhere, what a replicated call costs beside a plain one in the same processes,
// the heap a backup spends per copy beside the copy's own bytes, and (with `persist`) how long
// a cluster killed whole takes to answer again with every count.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { field, freePorts, wallClock, withChildren } from '../childNodes.js'
import type { Figure, Suite } from '../figure.js'
import {
  median,
  repeat,
  round,
  scaled,
  summarizeRuns,
  targetFields,
  type Measurement,
  type RunOptions,
  type Target,
} from '../measure.js'
import {
  CONCURRENCY,
  PREFIX,
  countOn,
  showExamples,
  swormMesh,
  until,
  verify,
  type SwormMesh,
} from './swormMesh.js'

/** Full-size workloads; `RunOptions.scale` shrinks them. */
const COUNTERS = 10_000
/** `inc` calls in flight from the survivor that loads the counters. */
const LOAD_CONCURRENCY = 64
/** How long the load runs before the kill, and after every counter runs elsewhere. */
const LOAD_BEFORE_MS = 500
const LOAD_AFTER_MS = 300
/** Names per sworm, sequential calls per sample and samples per sworm, for `call_ratio`. */
const LATENCY_NAMES = 300
const LATENCY_CALLS = 1_000
const LATENCY_ROUNDS = 5

const targets = {
  lost: { op: '<=', value: 0 },
  ratio: { op: '<=', value: 2 },
  failover: { op: '<=', value: 1000 },
  bytes: { op: '<=', value: 200 },
  restart: { op: '<=', value: 5000 },
} as const satisfies Record<string, Target>

/** Three sworm nodes running `DurableRooms` with `replicas: 1` beside `BenchRooms`. */
function durableMesh(execArgv: string[] = []): Promise<SwormMesh> {
  return swormMesh({ env: { SWORM_REPLICAS: '1' }, execArgv })
}

/** A durable mesh where A registered `count` counters and gave each its own state. */
async function filledDurable(
  count: number,
  execArgv: string[] = [],
  start: () => Promise<SwormMesh> = () => durableMesh(execArgv),
): Promise<SwormMesh> {
  const mesh = await start()
  try {
    const [a] = mesh.nodes
    const req = { prefix: PREFIX, count, concurrency: CONCURRENCY, durable: true }
    await a.request({ op: 'register', ...req })
    await a.request({ op: 'setStates', ...req })
    for (const node of mesh.nodes) {
      await until(
        'every name everywhere',
        async () => (await node.request({ op: 'count', durable: true })) === count,
      )
    }
    return mesh
  } catch (e) {
    await mesh[Symbol.asyncDispose]()
    throw e
  }
}

/** One kill -9 under load: what was lost, and how long until the victim's names ran elsewhere. */
interface KillRun {
  lost: number
  wrong: number
  extra: number
  failoverMs: number
  acked: number
  failed: number
}

const kill9Lost: Figure = {
  name: 'kill9_lost',
  description: `count: 3 nodes, ${COUNTERS} counters with replicas: 1, A calls inc by name (${LOAD_CONCURRENCY} in flight) while C is killed with kill -9; acknowledged increments missing afterwards, worst run (target <= ${targets.lost.value})`,
  run: (options: RunOptions) =>
    withChildren(async (): Promise<Measurement> => {
      const count = scaled(COUNTERS, options.scale)
      const once = async (): Promise<KillRun> => {
        await using cluster = await filledDurable(count)
        const [a, b, c] = cluster.nodes
        const victim = cluster.ids[2]
        await a.request({
          op: 'loadStart',
          prefix: PREFIX,
          count,
          concurrency: LOAD_CONCURRENCY,
          movingFrom: victim,
          durable: true,
        })
        await sleep(LOAD_BEFORE_MS)
        const { moved } = await watchMovedDurable(b, count, victim)
        const killedAt = wallClock()
        await c.kill9()
        const at = await moved
        await sleep(LOAD_AFTER_MS)
        const load = await a.request({ op: 'loadStop' })
        const v = await verify(a, count, true)
        showExamples(options.note, v)
        return {
          lost: v.missing,
          wrong: v.wrong,
          extra: v.extra,
          failoverMs: at - killedAt,
          acked: field(load, 'sent', 'number') - field(load, 'failed', 'number'),
          failed: field(load, 'failed', 'number'),
        }
      }
      const runs = await repeat(
        options,
        'durable.kill9_lost',
        once,
        (r) =>
          `${r.lost} acknowledged increments lost (${r.acked} acknowledged, ${r.failed} failed; ${r.extra} unknown ones applied), all running again ${round(r.failoverMs)} ms after the kill`,
      )
      const worst = Math.max(...runs.map((r) => r.lost))
      return {
        value: worst,
        unit: 'count',
        ...targetFields(worst, targets.lost),
        runs: runs.length,
        median: median(runs.map((r) => r.lost)),
        acked_median: median(runs.map((r) => r.acked)),
        failover_ms_median: round(median(runs.map((r) => r.failoverMs))),
        counters: count,
      }
    }),
}

/** `watchMoved` for DurableRooms. */
async function watchMovedDurable(
  node: SwormMesh['nodes'][number],
  count: number,
  leaver: string,
): Promise<{ moved: Promise<number> }> {
  const moved = node
    .request({ op: 'awaitMoved', prefix: PREFIX, count, notOn: leaver, durable: true })
    .then((reply) => field(reply, 'at', 'number'))
  moved.catch(() => undefined)
  await countOn(node)
  return { moved }
}

/** One failover: until the names run elsewhere, and until each answered with its count. */
interface FailoverRun {
  ms: number
  runningMs: number
  names: number
  wrong: number
}

const failover10k: Figure = {
  name: 'failover_10k_ms',
  description: `ms: 3 nodes, ${COUNTERS} counters with replicas: 1 and their own states; kill -9 of one until every counter it held answers with its count from another node (target <= ${targets.failover.value})`,
  run: (options: RunOptions) =>
    withChildren(async (): Promise<Measurement> => {
      const count = scaled(COUNTERS, options.scale)
      const once = async (): Promise<FailoverRun> => {
        await using cluster = await filledDurable(count)
        const [a, b, c] = cluster.nodes
        const victim = cluster.ids[2]
        const only = (await a.request({
          op: 'indexesOn',
          prefix: PREFIX,
          count,
          on: victim,
          durable: true,
        })) as number[]
        const { moved } = await watchMovedDurable(b, count, victim)
        const killedAt = wallClock()
        await c.kill9()
        const runningAt = await moved
        const v = await verify(a, count, true, only)
        showExamples(options.note, v)
        return {
          ms: wallClock() - killedAt,
          runningMs: runningAt - killedAt,
          names: only.length,
          wrong: v.wrong + v.unreachable,
        }
      }
      const runs = await repeat(
        options,
        'durable.failover_10k_ms',
        once,
        (r) =>
          `${round(r.ms)} ms (${r.names} counters running elsewhere after ${round(r.runningMs)} ms; ${r.wrong} wrong)`,
      )
      return {
        ...summarizeRuns(runs, (r) => r.ms, 'ms', targets.failover, {
          running_ms: (r) => r.runningMs,
          names: (r) => r.names,
        }),
        wrong_total: runs.reduce((s, r) => s + r.wrong, 0),
      }
    }),
}

const callRatio: Figure = {
  name: 'call_ratio',
  description: `ratio: median round trip of ${LATENCY_CALLS} sequential inc calls by name from A to counters on other nodes, with replicas: 1 over without, in the same processes, ${LATENCY_ROUNDS} interleaved samples per run (target <= ${targets.ratio.value})`,
  run: (options: RunOptions) =>
    withChildren(async (): Promise<Measurement> => {
      await using cluster = await durableMesh()
      const [a] = cluster.nodes
      for (const durable of [false, true]) {
        await a.request({
          op: 'register',
          prefix: 'lat',
          count: LATENCY_NAMES,
          concurrency: CONCURRENCY,
          durable,
        })
      }
      const sample = async (durable: boolean): Promise<number> => {
        const reply = await a.request({
          op: 'latency',
          prefix: 'lat',
          count: LATENCY_NAMES,
          calls: scaled(LATENCY_CALLS, options.scale, 50),
          durable,
        })
        return field(reply, 'p50', 'number')
      }
      const once = async (): Promise<{ plain: number; replicated: number; ratio: number }> => {
        const plain: number[] = []
        const replicated: number[] = []
        for (let i = 0; i < LATENCY_ROUNDS; i++) {
          plain.push(await sample(false))
          replicated.push(await sample(true))
        }
        const p = median(plain)
        const r = median(replicated)
        return { plain: p, replicated: r, ratio: r / p }
      }
      const runs = await repeat(
        options,
        'durable.call_ratio',
        once,
        (r) =>
          `${r.ratio.toFixed(2)} (${round(r.replicated)} µs with replicas, ${round(r.plain)} µs without)`,
      )
      return summarizeRuns(runs, (r) => r.ratio, 'ratio', targets.ratio, {
        replicated_us: (r) => r.replicated,
        plain_us: (r) => r.plain,
      })
    }),
}

const replicaBytes: Figure = {
  name: 'replica_bytes_per_name',
  description: `bytes: heap a backup spends per copy beyond the copy's encoded bytes: B's heap with its copies of ${COUNTERS} counters (replicas: 1) less its heap once they are dropped, per copy (target <= ${targets.bytes.value})`,
  run: (options: RunOptions) =>
    withChildren(async (): Promise<Measurement> => {
      const count = scaled(COUNTERS, options.scale)
      const once = async (): Promise<{ perCopy: number; copies: number; encoded: number }> => {
        await using cluster = await filledDurable(count, ['--expose-gc'])
        const [, b] = cluster.nodes
        const stats = await b.request({ op: 'copies' })
        const copies = field(stats, 'copies', 'number')
        const encoded = field(stats, 'copyBytes', 'number')
        const withCopies = (await b.request({ op: 'heap' })) as number
        await b.request({ op: 'dropCopies' })
        const without = (await b.request({ op: 'heap' })) as number
        return { perCopy: (withCopies - without - encoded) / copies, copies, encoded }
      }
      const runs = await repeat(
        options,
        'durable.replica_bytes_per_name',
        once,
        (r) =>
          `${round(r.perCopy)} bytes per copy beyond its ${round(r.encoded / r.copies)} encoded bytes (${r.copies} copies)`,
      )
      return summarizeRuns(runs, (r) => r.perCopy, 'bytes', targets.bytes, {
        copies: (r) => r.copies,
        encoded_bytes_per_copy: (r) => r.encoded / r.copies,
      })
    }),
}

/** One full restart: until every counter answered with its count, and where the time went. */
interface RestartRun {
  ms: number
  meshMs: number
  wrong: number
}

const restart10k: Figure = {
  name: 'restart_10k_ms',
  description: `ms: 3 nodes, ${COUNTERS} counters with persist (no replicas) and their own states; kill -9 of all three, then the same nodes (same ports, each seeded with the others) started again on their directories, until every counter answers with its count (target <= ${targets.restart.value})`,
  run: (options: RunOptions) =>
    withChildren(async (): Promise<Measurement> => {
      const count = scaled(COUNTERS, options.scale)
      const once = async (): Promise<RestartRun> => {
        const root = mkdtempSync(join(tmpdir(), 'sworm-bench-persist-'))
        try {
          // The nodes of a deployed cluster: the same ports before and after, each the others'
          // seed, so that they meet as they start (nobody dials them once they are ready).
          const ports = await freePorts(3)
          const persisted = (): Promise<SwormMesh> =>
            swormMesh({ env: { SWORM_PERSIST_DIR: join(root, '{node}') }, ports })
          {
            await using first = await filledDurable(count, [], persisted)
            await Promise.all(first.nodes.map((n) => n.kill9()))
          }
          const start = wallClock()
          await using again = await persisted()
          const meshAt = wallClock()
          const [a] = again.nodes
          await until(
            'every name back',
            async () => (await a.request({ op: 'count', durable: true })) === count,
          )
          const v = await verify(a, count, true)
          showExamples(options.note, v)
          return { ms: wallClock() - start, meshMs: meshAt - start, wrong: v.wrong + v.unreachable }
        } finally {
          rmSync(root, { recursive: true, force: true })
        }
      }
      const runs = await repeat(
        options,
        'durable.restart_10k_ms',
        once,
        (r) =>
          `${round(r.ms)} ms (processes up and meshed after ${round(r.meshMs)} ms; ${r.wrong} wrong)`,
      )
      return {
        ...summarizeRuns(runs, (r) => r.ms, 'ms', targets.restart, { mesh_ms: (r) => r.meshMs }),
        wrong_total: runs.reduce((s, r) => s + r.wrong, 0),
      }
    }),
}

export const durableSuite: Suite = [kill9Lost, failover10k, callRatio, replicaBytes, restart10k]
