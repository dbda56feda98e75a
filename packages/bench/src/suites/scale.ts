// The `scale` suite: many real sworm node processes (@swormjs/test's scaleNode fixture, a sworm with
// handoff on), each seeded to the first, the detector at its defaults. A registration burst on 10
// nodes (alive nodes taken down, registrations failed), 10,000 names registered on one of 20
// nodes until every node resolves them, and 5 of 50 nodes killed at once until every name runs
// again (none lost, none twice).
import { joinFigures } from './scaleJoin.js'
import { stallFigures } from './scaleStall.js'
import {
  burst,
  explain,
  longestStalls,
  settledDigests,
  type BurstPart,
  type ScaleCluster,
} from '@swormjs/test'
import { wallClock, withChildren } from '../childNodes.js'
import type { Figure, Suite } from '../figure.js'
import {
  median,
  repeat,
  round,
  scaled,
  summarizeRuns,
  type Measurement,
  type RunOptions,
  type Target,
} from '../measure.js'
import {
  allSee,
  checkNames,
  cpuCost,
  cpuMs,
  falseDowns,
  idleTraffic,
  memoryPerNode,
  startScale,
  SETTLE_MS,
} from './scaleCluster.js'

/** Full-size workloads; `RunOptions.scale` shrinks them, node counts included. */
const BURST_NODES = 10
const BURST_BIG = 10_000
const BURST_SMALL = 3_000
const CONVERGE_NODES = 20
const CONVERGE_NAMES = 10_000
const FAILOVER_NODES = 50
const FAILOVER_NAMES = 10_000
const FAILOVER_KILLED = 5
/** A fresh cluster of 50 takes minutes a run: at most this many runs of the failover. */
const FAILOVER_MAX_RUNS = 3
/** registerName calls in flight on one node outside the burst (as in `sworm.register`). */
const CONCURRENCY = 256
/** Bound on registering the failover's names on 50 nodes (minutes on a small shared machine). */
const SETUP_MS = 1_800_000

const targets = {
  falseDowns: { op: '<=', value: 0 },
  failed: { op: '<=', value: 0 },
  converge: { op: '<=', value: 2000 },
} as const satisfies Record<string, Target>

/** One run of the 10-node burst: who was taken down, what failed, and what it cost. */
interface BurstRun {
  falseDowns: number
  takenDown: number
  suspicions: number
  failed: number
  /** Failed registrations that resolved on their node once its burst was over. */
  resolvedAnyway: number
  errors: string
  burstMs: number
  longestStallMs: number
  rssMb: number
  heapMb: number
  idleBytesPerS: number
  meshKiB: number
  /** CPU of the burst until every node agreed: median per node (ms), sum over nodes per name (µs). */
  cpuMsPerNode: number
  cpuUsPerName: number
}

/** The nodes of a burst: the first registers `BURST_BIG` names, two others `BURST_SMALL` each. */
function burstParts(nodes: number, options: RunOptions): BurstPart[] {
  const big = scaled(BURST_BIG, options.scale)
  const small = scaled(BURST_SMALL, options.scale)
  return [
    { node: 0, prefix: 'big:', count: big },
    { node: Math.round(nodes * 0.4), prefix: 'left:', count: small },
    { node: Math.round(nodes * 0.7), prefix: 'right:', count: small },
  ]
}

async function burstOnce(options: RunOptions): Promise<BurstRun> {
  const n = scaled(BURST_NODES, options.scale, 3)
  await using cluster = await startScale(n, 'b')
  const idle = await idleTraffic(cluster)
  await Promise.all(cluster.nodes.map((x) => x.request({ op: 'loopReset' })))
  const cpuBefore = await cpuMs(cluster)
  const results = await burst(cluster, burstParts(n, options))
  const { pairs, events } = falseDowns(cluster)
  const errors = new Map<string, number>()
  for (const r of results) {
    for (const [code, k] of Object.entries(r.errors)) errors.set(code, (errors.get(code) ?? 0) + k)
    for (const example of r.examples.slice(0, 3)) options.note(`  failed: ${example}`)
  }
  if (pairs.length > 0) options.note(explain(cluster, events))
  const total = results.reduce((sum, r) => sum + r.count, 0)
  // The names that did register (failed or not) reach every node: the memory then is comparable.
  await settledDigests(cluster.nodes, total, SETTLE_MS)
  const cpu = cpuCost(cpuBefore, await cpuMs(cluster), total)
  const loops = (await Promise.all(cluster.nodes.map((x) => x.request({ op: 'loop' })))) as Array<{
    maxMs: number
  }>
  const stalls = [...Object.values(longestStalls(cluster)), ...loops.map((l) => l.maxMs)]
  return {
    falseDowns: pairs.length,
    takenDown: new Set(pairs.map((p) => p.split('>')[1])).size,
    suspicions: events.filter((e) => e.event === 'unreachable').length,
    failed: results.reduce((sum, r) => sum + r.failed, 0),
    resolvedAnyway: results.reduce((sum, r) => sum + r.resolvedAtEnd, 0),
    errors: [...errors].map(([code, k]) => `${code} ${k}`).join(', '),
    burstMs: Math.max(...results.map((r) => r.end)) - Math.min(...results.map((r) => r.start)),
    longestStallMs: round(Math.max(0, ...stalls)),
    ...(await memoryPerNode(cluster)),
    ...idle,
    ...cpu,
  }
}

const showBurst = (r: BurstRun): string =>
  `${r.falseDowns} downs of live nodes (${r.takenDown} nodes), ${r.suspicions} suspicions, ${r.failed} failed (${r.errors || 'none'}; ${r.resolvedAnyway} registered anyway), burst ${round(r.burstMs)} ms, longest stall ${r.longestStallMs} ms, ${r.rssMb} MiB rss per node, CPU ${r.cpuMsPerNode} ms per node and ${r.cpuUsPerName} µs per name over all nodes`

/** A figure over runs of the burst, each on fresh nodes: its value is the worst run's `pick`. */
function burstFigure(
  name: string,
  what: string,
  pick: (r: BurstRun) => number,
  target: Target,
): Figure {
  return {
    name,
    description: `count: ${what}; ${BURST_NODES} nodes seeded to the first, one registers ${BURST_BIG} names while two register ${BURST_SMALL} each, all at once; worst of the runs, fresh nodes each run (target ${target.op} ${target.value})`,
    run: (options: RunOptions) =>
      withChildren(async (): Promise<Measurement> => {
        const runs = await repeat(
          { ...options, warmup: 0 },
          `scale.${name}`,
          () => burstOnce(options),
          showBurst,
        )
        const worst = Math.max(...runs.map(pick))
        return {
          ...summarizeRuns(runs, pick, 'count', target, {
            suspicions: (r) => r.suspicions,
            burstMs: (r) => r.burstMs,
            longestStallMs: (r) => r.longestStallMs,
            rss_mb_per_node: (r) => r.rssMb,
            heap_mb_per_node: (r) => r.heapMb,
            idle_bytes_out_per_s: (r) => r.idleBytesPerS,
            mesh_kib_out_per_node: (r) => r.meshKiB,
            cpu_ms_per_node: (r) => r.cpuMsPerNode,
            cpu_us_per_name: (r) => r.cpuUsPerName,
          }),
          // A false down or a failed registration is a bug whatever the median says: the worst run.
          value: worst,
          pass: target.op === '<=' ? worst <= target.value : worst >= target.value,
          false_downs_worst: Math.max(...runs.map((r) => r.falseDowns)),
          failed_worst: Math.max(...runs.map((r) => r.failed)),
          registered_anyway_worst: Math.max(...runs.map((r) => r.resolvedAnyway)),
          errors: runs.map((r) => r.errors || 'none').join(' | '),
          nodes: scaled(BURST_NODES, options.scale, 3),
          names: burstParts(BURST_NODES, options).reduce((sum, p) => sum + p.count, 0),
        }
      }),
  }
}

const burstFalseDowns = burstFigure(
  'burst_false_downs',
  'alive nodes declared down by any node during the burst (observer and downed node pairs)',
  (r) => r.falseDowns,
  targets.falseDowns,
)

const burstFailed = burstFigure(
  'burst_failed',
  'registrations of the burst that failed',
  (r) => r.failed,
  targets.failed,
)

/** One run of the convergence: until all saw the names, and what registering them took. */
interface ConvergeRun {
  ms: number
  registerMs: number
  failed: number
  cpuMsPerNode: number
  cpuUsPerName: number
}

const converge: Figure = {
  name: 'nodes_20_converge_ms',
  description: `ms: ${CONVERGE_NODES} nodes seeded to the first; one registers ${CONVERGE_NAMES} names (${CONCURRENCY} registerName calls in flight) until every node resolves all of them; one cluster, new names each run (target <= ${targets.converge.value})`,
  run: (options: RunOptions) =>
    withChildren(async (): Promise<Measurement> => {
      const n = scaled(CONVERGE_NODES, options.scale, 3)
      const count = scaled(CONVERGE_NAMES, options.scale)
      await using cluster = await startScale(n, 'c')
      const idle = await idleTraffic(cluster)
      let seq = 0
      let perNode: { rssMb: number; heapMb: number } | undefined
      const once = async (): Promise<ConvergeRun> => {
        const run = seq++
        const seen = await allSee(cluster.nodes, (run + 1) * count)
        const before = await cpuMs(cluster)
        const parts = [{ node: 0, prefix: `c${run}:`, count }]
        const [r] = await burst(cluster, parts, { concurrency: CONCURRENCY })
        const at = await seen.done
        const cpu = cpuCost(before, await cpuMs(cluster), count)
        // The memory with the first 10,000 names in, comparable with the other figures.
        perNode ??= await memoryPerNode(cluster)
        return { ms: at - r!.start, registerMs: r!.end - r!.start, failed: r!.failed, ...cpu }
      }
      const runs = await repeat(
        options,
        'scale.nodes_20_converge_ms',
        once,
        (r) =>
          `${round(r.ms)} ms (registered in ${round(r.registerMs)} ms, ${r.failed} failed, on all ${round(r.ms - r.registerMs)} ms later; CPU ${r.cpuMsPerNode} ms per node, ${r.cpuUsPerName} µs per name over all nodes)`,
      )
      return {
        ...summarizeRuns(runs, (r) => r.ms, 'ms', targets.converge, {
          registerMs: (r) => r.registerMs,
          cpu_ms_per_node: (r) => r.cpuMsPerNode,
          cpu_us_per_name: (r) => r.cpuUsPerName,
        }),
        failed_total: runs.reduce((sum, r) => sum + r.failed, 0),
        nodes: n,
        names: count,
        rss_mb_per_node: perNode?.rssMb ?? 0,
        heap_mb_per_node: perNode?.heapMb ?? 0,
        idle_bytes_out_per_s: idle.idleBytesPerS,
        mesh_kib_out_per_node: idle.meshKiB,
      }
    }),
}

/** One failover: how long until every name runs again, and what went wrong. */
interface FailoverRun {
  ms: number
  lost: number
  duplicates: number
  falseDowns: number
  rssMb: number
  heapMb: number
  idleBytesPerS: number
  meshKiB: number
  startMs: number
  registerMs: number
}

async function failoverOnce(options: RunOptions): Promise<FailoverRun> {
  const killed = scaled(FAILOVER_KILLED, options.scale)
  const n = scaled(FAILOVER_NODES, options.scale, killed + 2)
  const count = scaled(FAILOVER_NAMES, options.scale)
  const started = wallClock()
  await using cluster: ScaleCluster = await startScale(n, 'f')
  const startMs = wallClock() - started
  const idle = await idleTraffic(cluster)
  const seen = await allSee(cluster.nodes, count, SETUP_MS)
  // The setup needs every name in, however slow this machine: failed names are tried again.
  const [r] = await burst(cluster, [{ node: 0, prefix: 'f:', count }], {
    concurrency: CONCURRENCY,
    retries: 5,
    timeoutMs: SETUP_MS,
  })
  if (r!.failed > 0) throw new Error(`${r!.failed} names not registered: ${r!.examples[0]}`)
  const registerMs = r!.end - r!.start
  await seen.done
  const memory = await memoryPerNode(cluster)
  // Spread over the cluster, never the first (the seed).
  const victims = Array.from({ length: killed }, (_, k) => 1 + Math.floor((k * (n - 1)) / killed))
  const survivors = cluster.nodes.filter((_, i) => !victims.includes(i))
  const dead = victims.map((i) => cluster.ids[i]!)
  const off = Promise.all(
    survivors.map((x) => x.request({ op: 'awaitOff', count, notOn: dead, timeoutMs: SETTLE_MS })),
  )
  off.catch(() => undefined)
  await Promise.all(survivors.map((x) => x.request({ op: 'count' })))
  const killAt = wallClock()
  await Promise.all(victims.map((i) => cluster.nodes[i]!.kill9()))
  const ats = (await off) as Array<{ at: number }>
  const ms = Math.max(...ats.map((a) => a.at)) - killAt
  await settledDigests(survivors, count, SETTLE_MS)
  const names = Array.from({ length: count }, (_, i) => `f:${i}`)
  const deadNames = new Set(victims.map((i) => cluster.nodes[i]!.name))
  const { pairs, events } = falseDowns(cluster, (name) => !deadNames.has(name))
  if (pairs.length > 0) options.note(explain(cluster, events))
  return {
    ms,
    ...(await checkNames(survivors, names)),
    falseDowns: pairs.length,
    ...memory,
    ...idle,
    startMs,
    registerMs,
  }
}

const failover: Figure = {
  name: 'nodes_50_failover_ms',
  description: `ms: ${FAILOVER_NODES} nodes seeded to the first, ${FAILOVER_NAMES} names; ${FAILOVER_KILLED} nodes killed at once (SIGKILL) until every survivor resolves every name off them; names lost (missing or not running) and held twice counted after; fresh nodes each run, at most ${FAILOVER_MAX_RUNS} runs (target: report, lost 0, duplicates 0)`,
  run: (options: RunOptions) =>
    withChildren(async (): Promise<Measurement> => {
      const runs = await repeat(
        { ...options, warmup: 0, runs: Math.min(options.runs, FAILOVER_MAX_RUNS) },
        'scale.nodes_50_failover_ms',
        () => failoverOnce(options),
        (r) =>
          `${round(r.ms)} ms, ${r.lost} lost, ${r.duplicates} twice, ${r.falseDowns} downs of live nodes; meshed in ${round(r.startMs)} ms, names registered in ${round(r.registerMs)} ms, ${r.rssMb} MiB rss per node`,
      )
      const lost = Math.max(...runs.map((r) => r.lost))
      const duplicates = Math.max(...runs.map((r) => r.duplicates))
      const ms = runs.map((r) => r.ms)
      return {
        value: round(median(ms)),
        unit: 'ms',
        target: 'report; lost 0, duplicates 0',
        pass: lost === 0 && duplicates === 0,
        runs: runs.length,
        min: round(Math.min(...ms)),
        max: round(Math.max(...ms)),
        lost,
        duplicates,
        false_downs: Math.max(...runs.map((r) => r.falseDowns)),
        nodes: scaled(FAILOVER_NODES, options.scale, scaled(FAILOVER_KILLED, options.scale) + 2),
        killed: scaled(FAILOVER_KILLED, options.scale),
        names: scaled(FAILOVER_NAMES, options.scale),
        meshMs: round(median(runs.map((r) => r.startMs))),
        registerMs: round(median(runs.map((r) => r.registerMs))),
        rss_mb_per_node: round(median(runs.map((r) => r.rssMb))),
        heap_mb_per_node: round(median(runs.map((r) => r.heapMb))),
        idle_bytes_out_per_s: round(median(runs.map((r) => r.idleBytesPerS))),
        mesh_kib_out_per_node: round(median(runs.map((r) => r.meshKiB))),
      }
    }),
}

/**
 * The `scale` suite, in the order `cli.js scale` runs it. `scale.max_stall_ms` and
 * `scale.join_100k_ms` are written in their own files (`scaleStall.ts`, `scaleJoin.ts`): their
 * figure arrays are spread in below.
 */
export const scaleSuite: Suite = [
  burstFalseDowns,
  burstFailed,
  converge,
  failover,
  ...stallFigures,
  ...joinFigures,
]
