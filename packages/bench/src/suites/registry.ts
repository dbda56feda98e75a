// The `registry` suite: @swormjs/registry's local lookups and registrations on one node, how fast
// 100,000 names reach the other nodes, what a name weighs on a replica, and how compaction keeps
// the heap bounded under churn.
import { setTimeout as sleep } from 'node:timers/promises'
import { Actor, silentLogger } from '@swormjs/actor'
import { startNode, type Node } from '@swormjs/cluster'
import { observe } from '@swormjs/observe'
import { Registry } from '@swormjs/registry'
import type { ChildNode } from '@swormjs/test'
import { parseChurnRuns } from '../child/churnResult.js'
import { EVENT_TIMEOUT_MS, field, numberReply, startMesh, withChildren } from '../childNodes.js'
import { nsPerOp, type Figure, type Suite } from '../figure.js'
import {
  median,
  now,
  nsPerLookup,
  percentile,
  repeat,
  round,
  scaled,
  summarize,
  summarizeRuns,
  targetFields,
  type Extra,
  type Measurement,
  type RunOptions,
  type Target,
  yieldTurn,
} from '../measure.js'
import { runNodeChild } from '../nodeChild.js'

/** Full-size workloads; `RunOptions.scale` shrinks them. */
const NAMES = 100_000
/** Registrations per second of `converge_stream`, steady. */
const STREAM_RATE = 10_000
const LOOKUPS = 1_000_000
/**
 * A `whereis` run times its lookups in this many rounds and keeps the median round: a round in
 * which the shared machine took the core away is left out instead of skewing the run.
 */
const WHEREIS_ROUNDS = 10
/** Pause before timing `whereis`, for the collector to finish after the registrations. */
const SETTLE_MS = 200
const CHURN_CYCLES = 1_000_000
const CHURN_LIVE = 1_000
/** Cycles of each warm-up run of the churn: enough for the JIT, a twentieth of a measured run. */
const CHURN_WARMUP_CYCLES = 50_000
/** Measured runs of the churn at most: each takes seconds, and the ratio hardly varies. */
const CHURN_MAX_RUNS = 3
/**
 * Names registered (and replicated) on fresh nodes before the measured ones, so their code is
 * compiled when the clock starts: the figures with node processes spawn new ones for every run.
 */
const NODE_WARMUP_NAMES = 5_000
const REGISTRY = 'bench'
/**
 * The churn child, compiled. Reached through the package root, so that the suite finds it when
 * it runs from `dist` and when a test runs it from `src`.
 */
const CHURN_CHILD = new URL('../../dist/child/registryChurn.js', import.meta.url)

const targets = {
  whereis: { op: '<=', value: 300 },
  register: { op: '>=', value: 50_000 },
  registerThreeNodes: { op: '>=', value: 0.5 },
  streamP50: { op: '<=', value: 50 },
  streamP99: { op: '<=', value: 50 },
  converge: { op: '<=', value: 2000 },
  heapPerName: { op: '<=', value: 600 },
  churnHeapRatio: { op: '<=', value: 2 },
  scrape: { op: '<=', value: 50 },
} as const satisfies Record<string, Target>

/** `/metrics` scrapes timed in each run of `scrape_ms`. */
const SCRAPES = 10

/** Holds names; does nothing else. */
class Idle extends Actor<void> {}

/** A node of this process with a started registry; disposing it stops both. */
interface LocalRegistry extends AsyncDisposable {
  readonly node: Node
  readonly registry: Registry
}

async function localRegistry(): Promise<LocalRegistry> {
  const node = await startNode({ name: 'bench', logger: silentLogger })
  try {
    const registry = await Registry.start(node, REGISTRY)
    return {
      node,
      registry,
      async [Symbol.asyncDispose]() {
        // Stopped first, the registry skips the bookkeeping of every exit at shutdown.
        await registry.stop()
        await node.stop()
      },
    }
  } catch (e) {
    await node.stop()
    throw e
  }
}

/**
 * A local registry holding `names` (each a process of its own), settled: the node has sent its
 * doc update (100,000 registrations, one flush) and the heap has settled, so that the first runs
 * do not share the core with that work.
 */
async function filledLocalRegistry(names: readonly string[]): Promise<LocalRegistry> {
  const local = await localRegistry()
  try {
    const { node, registry } = local
    for (const name of names) await registry.register(name, node.runtime.spawn(Idle, undefined))
    checkCount('names registered', registry.count(), names.length)
    await yieldTurn()
    await sleep(SETTLE_MS)
    return local
  } catch (e) {
    await local[Symbol.asyncDispose]()
    throw e
  }
}

/** `count` distinct names, made before any clock starts. */
function makeNames(count: number, prefix = 'name:'): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`)
}

/** A figure that measured less work than it claims is worse than none. */
function checkCount(what: string, got: number, want: number): void {
  if (got !== want) throw new Error(`expected ${want} ${what}, counted ${got}`)
}

const perSecond = (count: number, ms: number): number => (count * 1000) / ms

const whereis: Figure = {
  compare: { baseline: 'map_get_ns', target: { op: '<=', value: 1.5 } },
  name: 'whereis',
  description: `ns per whereis of a random name on a node holding ${NAMES}, median of ${WHEREIS_ROUNDS} rounds per run (target <= ${targets.whereis.value})`,
  async run(options: RunOptions): Promise<Measurement> {
    const count = scaled(NAMES, options.scale)
    const lookups = scaled(LOOKUPS, options.scale, 10_000)
    const names = makeNames(count)
    await using local = await filledLocalRegistry(names)
    const { registry } = local
    // The same random sequence for every run, drawn before the clock starts.
    const order = Uint32Array.from({ length: lookups }, () => Math.floor(Math.random() * count))
    const once = (): Promise<number> =>
      Promise.resolve(
        nsPerLookup(
          lookups,
          WHEREIS_ROUNDS,
          (i) => registry.whereis(names[order[i]!]!) !== undefined,
        ),
      )
    const samples = await repeat(options, 'registry.whereis', once, (v) => `${round(v)} ns`)
    return { ...summarize(samples, 'ns', targets.whereis), count, lookups }
  },
}

const register: Figure = {
  compare: { baseline: 'map_get_ns', inBaselineUnit: nsPerOp },
  name: 'register',
  description: `registrations/s: spawn a process and register it, ${NAMES} times on one node (target >= ${targets.register.value})`,
  async run(options: RunOptions): Promise<Measurement> {
    const count = scaled(NAMES, options.scale)
    const names = makeNames(count)
    const once = async (): Promise<number> => {
      await using local = await localRegistry()
      const { node, registry } = local
      const rt = node.runtime
      const t0 = now()
      for (let i = 0; i < count; i++) await registry.register(names[i]!, rt.spawn(Idle, undefined))
      const rate = perSecond(count, now() - t0)
      checkCount('names registered', registry.count(), count)
      return rate
    }
    const unit = 'registrations/s'
    const samples = await repeat(options, 'registry.register', once, (v) => `${round(v)} ${unit}`)
    return { ...summarize(samples, unit, targets.register), count }
  },
}

/** Starts the bench registry on every node. */
async function startRegistries(nodes: readonly ChildNode[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.request({ op: 'regStart', registry: REGISTRY })))
}

/** Node `owner` registers `count` names (each to a new process); resolves with its timestamps. */
async function bulkRegister(
  owner: ChildNode,
  count: number,
  prefix: string,
): Promise<{ start: number; end: number }> {
  const reply = await owner.request({ op: 'regBulk', registry: REGISTRY, count, prefix })
  return { start: field(reply, 'start', 'number'), end: field(reply, 'end', 'number') }
}

/**
 * Resolves once `node`'s registry resolves `count` names, with the absolute time it saw them
 * (polled there, one check per turn: good to a turn).
 */
async function awaitCount(node: ChildNode, count: number): Promise<number> {
  const reply = await node.request({
    op: 'regAwaitCount',
    registry: REGISTRY,
    count,
    timeoutMs: EVENT_TIMEOUT_MS,
  })
  return numberReply(reply, 'regAwaitCount')
}

/** Registers and replicates a few names unmeasured, so that every node has compiled the paths. */
async function warmUpNodes(
  owner: ChildNode,
  replicas: readonly ChildNode[],
  scale: number,
): Promise<number> {
  const count = scaled(NODE_WARMUP_NAMES, scale)
  await bulkRegister(owner, count, 'warm:')
  await Promise.all(replicas.map((n) => awaitCount(n, count)))
  return count
}

/** Three node processes running the bench registry, warmed up from A. */
interface RegistryMesh extends AsyncDisposable {
  readonly a: ChildNode
  readonly b: ChildNode
  readonly c: ChildNode
  /** Names A registered (and B and C resolve) before anything is measured. */
  readonly warmed: number
}

/** Spawns A, B and C, meshes them, starts the registry on each and warms it up from A. */
async function registryMesh(scale: number): Promise<RegistryMesh> {
  const mesh = await startMesh(['bench-a', 'bench-b', 'bench-c'])
  try {
    const [a, b, c] = mesh.nodes as [ChildNode, ChildNode, ChildNode]
    await startRegistries(mesh.nodes)
    const warmed = await warmUpNodes(a, [b, c], scale)
    return { a, b, c, warmed, [Symbol.asyncDispose]: () => mesh[Symbol.asyncDispose]() }
  } catch (e) {
    await mesh[Symbol.asyncDispose]()
    throw e
  }
}

const converge: Figure = {
  compare: { baseline: 'yjs_converge_ms', target: { op: '<=', value: 2 } },
  name: 'converge_100k',
  description: `ms: node A registers ${NAMES} names, until node C (of 3) resolves them all; fresh nodes each run (target <= ${targets.converge.value})`,
  run: (options: RunOptions) =>
    withChildren(async (): Promise<Measurement> => {
      const count = scaled(NAMES, options.scale)
      const once = async (): Promise<{ converge: number; register: number }> => {
        await using mesh = await registryMesh(options.scale)
        const { a, c, warmed: before } = mesh
        // C reports the moment it resolves every name, from its own `register` events.
        const total = before + count
        await c.request({ op: 'regWatchCount', registry: REGISTRY, count: total })
        const reached = c.waitForEvent(
          (e) => e.event === 'regCount' && e.registry === REGISTRY,
          EVENT_TIMEOUT_MS,
        )
        const bulk = await bulkRegister(a, count, 'name:')
        const event = await reached
        checkCount('names on node C', field(event, 'count', 'number'), total)
        return {
          converge: field(event, 'at', 'number') - bulk.start,
          register: bulk.end - bulk.start,
        }
      }
      const runs = await repeat(
        { ...options, warmup: 0 },
        'registry.converge_100k',
        once,
        (r) => `${round(r.converge)} ms (A's registrations alone ${round(r.register)} ms)`,
      )
      return {
        ...summarizeRuns(runs, (r) => r.converge, 'ms', targets.converge, {
          register: (r) => r.register,
        }),
        count,
      }
    }),
}

const registerThreeNodes: Figure = {
  name: 'register_3_nodes',
  description: `registrations/s: node A of 3 registers ${NAMES} names (spawn and register each, as registry.register does) while B and C follow; beside the same on a lone node process in the same run, as a ratio (target >= ${targets.registerThreeNodes.value} of the lone node's rate); fresh nodes each run`,
  run: (options: RunOptions) =>
    withChildren(async (): Promise<Measurement> => {
      const count = scaled(NAMES, options.scale)
      const rateOf = (r: { start: number; end: number }): number =>
        perSecond(count, r.end - r.start)
      const once = async (): Promise<{ lone: number; three: number; converge: number }> => {
        let lone: number
        {
          await using solo = await startMesh(['bench-solo'])
          const [s] = solo.nodes as [ChildNode]
          await startRegistries(solo.nodes)
          await warmUpNodes(s, [], options.scale)
          lone = rateOf(await bulkRegister(s, count, 'name:'))
        }
        await using mesh = await registryMesh(options.scale)
        const { a, b, c, warmed: before } = mesh
        const bulk = await bulkRegister(a, count, 'name:')
        const seen = await Promise.all([b, c].map((n) => awaitCount(n, before + count)))
        return { lone, three: rateOf(bulk), converge: Math.max(...seen) - bulk.start }
      }
      const runs = await repeat(
        { ...options, warmup: 0 },
        'registry.register_3_nodes',
        once,
        (r) =>
          `${round(r.three)} registrations/s on A of 3, ${round(r.lone)} on a lone node: ${(r.three / r.lone).toFixed(2)}; on all three ${round(r.converge)} ms after the first`,
      )
      const ratio = round(median(runs.map((r) => r.three / r.lone)))
      return {
        ...summarizeRuns(runs, (r) => r.three, 'registrations/s', targets.register, {
          lone_node: (r) => r.lone,
          converged_ms: (r) => r.converge,
        }),
        ratio_to_lone_node: ratio,
        ...prefixed('ratio_', targetFields(ratio, targets.registerThreeNodes)),
        count,
      }
    }),
}

const convergeStream: Figure = {
  name: 'converge_stream',
  description: `ms: node A of 3 registers ${NAMES} names at a steady ${STREAM_RATE}/s (open loop: each name due at its time, whatever the earlier ones took); for each name, from when it was due on A until node C resolves it; fresh nodes each run; p50 as the value, p99 beside (target p99 <= ${targets.streamP99.value})`,
  run: (options: RunOptions) =>
    withChildren(async (): Promise<Measurement> => {
      const count = scaled(NAMES, options.scale)
      let run = 0
      // Fresh nodes each run, as the figure says: 100,000 names on a node. On one mesh for all
      // runs, the third run measured names 200,000 to 300,000 of a node instead.
      const once = async (): Promise<{ p50: number; p99: number; max: number; late: number }> => {
        await using mesh = await registryMesh(options.scale)
        const { a, c } = mesh
        const prefix = `stream${run++}:`
        await c.request({ op: 'regWatchTimes', registry: REGISTRY, prefix, count })
        const seen = c.waitForEvent(
          (e) => e.event === 'regTimes' && e.prefix === prefix,
          EVENT_TIMEOUT_MS + (count * 1000) / STREAM_RATE,
        )
        const paced = await a.request({
          op: 'regPaced',
          registry: REGISTRY,
          count,
          rate: STREAM_RATE,
          prefix,
        })
        const start = field(paced, 'start', 'number')
        const times = (await seen)['times'] as number[]
        checkCount('names seen on C', times.filter((t) => t > 0).length, count)
        const lags = times
          .map((t, i) => t - (start + (i * 1000) / STREAM_RATE))
          .sort((x, y) => x - y)
        return {
          p50: percentile(lags, 50, true),
          p99: percentile(lags, 99, true),
          max: lags[lags.length - 1]!,
          late: field(paced, 'worstLateMs', 'number'),
        }
      }
      const runs = await repeat(
        { ...options, warmup: 0 },
        'registry.converge_stream',
        once,
        (r) =>
          `p50 ${round(r.p50)} ms, p99 ${round(r.p99)} ms, max ${round(r.max)} ms (A's schedule ran at worst ${round(r.late)} ms late)`,
      )
      const p99 = round(median(runs.map((r) => r.p99)))
      const worstP99 = round(Math.max(...runs.map((r) => r.p99)))
      return {
        ...summarizeRuns(runs, (r) => r.p50, 'ms', targets.streamP50, {
          p99: (r) => r.p99,
          slowest: (r) => r.max,
          schedule_late_ms: (r) => r.late,
        }),
        p99_worst_run: worstP99,
        ...prefixed('p99_', targetFields(p99, targets.streamP99)),
        rate: STREAM_RATE,
        count,
      }
    }),
}

/** `fields` with each name prefixed: `{ target, pass }` as `{ ratio_target, ratio_pass }`. */
function prefixed(prefix: string, fields: Record<string, Extra>): Record<string, Extra> {
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [prefix + k, v]))
}

/** The heap of a node process after a full GC (the nodes run with `--expose-gc`). */
async function heapOf(node: ChildNode): Promise<number> {
  // Twice: the first collection may leave what only a later turn lets go.
  await node.request({ op: 'heapUsed' })
  return numberReply(await node.request({ op: 'heapUsed' }), 'heapUsed')
}

const heapPerName: Figure = {
  name: 'heap_per_name',
  description: `bytes of heap per name on a replica: node B's heap growth while node A registers ${NAMES} names, over ${NAMES} (target <= ${targets.heapPerName.value})`,
  run: (options: RunOptions) =>
    withChildren(async (): Promise<Measurement> => {
      const count = scaled(NAMES, options.scale)
      const once = async (): Promise<{ replica: number; owner: number }> => {
        await using mesh = await startMesh(['bench-a', 'bench-b'], { execArgv: ['--expose-gc'] })
        const [a, b] = mesh.nodes as [ChildNode, ChildNode]
        await startRegistries(mesh.nodes)
        const before = await warmUpNodes(a, [b], options.scale)
        const [a0, b0] = [await heapOf(a), await heapOf(b)]
        await bulkRegister(a, count, 'name:')
        await awaitCount(b, before + count)
        const [a1, b1] = [await heapOf(a), await heapOf(b)]
        return { replica: (b1 - b0) / count, owner: (a1 - a0) / count }
      }
      const runs = await repeat(
        { ...options, warmup: 0 },
        'registry.heap_per_name',
        once,
        (r) =>
          `replica ${round(r.replica)} bytes, owner ${round(r.owner)} bytes (with its process)`,
      )
      return {
        ...summarizeRuns(runs, (r) => r.replica, 'bytes', targets.heapPerName, {
          owner: (r) => r.owner,
        }),
        count,
      }
    }),
}

const churnHeapRatio: Figure = {
  name: 'churn_heap_ratio',
  description: `heap after ${CHURN_CYCLES} register/unregister cycles beside ${CHURN_LIVE} live names, over the heap with those alone; child node --expose-gc (target <= ${targets.churnHeapRatio.value})`,
  async run(options: RunOptions): Promise<Measurement> {
    const cycles = scaled(CHURN_CYCLES, options.scale)
    const live = scaled(CHURN_LIVE, options.scale)
    const runCount = Math.min(options.runs, CHURN_MAX_RUNS)
    const stdout = await runNodeChild(CHURN_CHILD, {
      nodeFlags: ['--expose-gc'],
      args: [
        String(cycles),
        String(live),
        String(scaled(CHURN_WARMUP_CYCLES, options.scale)),
        String(options.warmup),
        String(runCount),
      ],
      note: options.note,
    })
    const runs = parseChurnRuns(stdout)
    return {
      ...summarize(
        runs.map((r) => r.ratio),
        'ratio',
        targets.churnHeapRatio,
      ),
      peak: round(Math.max(...runs.map((r) => r.peak))),
      ms: round(median(runs.map((r) => r.ms))),
      generations: median(runs.map((r) => r.generations)),
      cycles,
      live,
    }
  },
}

const scrape: Figure = {
  name: 'scrape_ms',
  description: `ms: one /metrics scrape (every metric collected and printed, as prom-client does for GET /metrics) of a node whose registry holds ${NAMES} names, median of ${SCRAPES} scrapes a run; the scrape is synchronous work, so this is the event-loop delay it causes (target <= ${targets.scrape.value})`,
  async run(options: RunOptions): Promise<Measurement> {
    const count = scaled(NAMES, options.scale)
    await using local = await filledLocalRegistry(makeNames(count))
    const { node, registry } = local
    using observer = observe(node, { registries: () => [registry] })
    const prom = observer.promRegistry
    if (prom === undefined) throw new Error('the observer has no metrics')
    const once = async (): Promise<number> => {
      const times: number[] = []
      for (let i = 0; i < SCRAPES; i++) {
        const t0 = performance.now()
        const text = await prom.metrics()
        times.push(performance.now() - t0)
        // A scrape that left the names out measured less than it claims.
        if (!new RegExp(`sworm_registered_names\\{[^}]*\\} ${count}\\b`).test(text)) {
          throw new Error(`the scrape did not report ${count} names`)
        }
      }
      return median(times)
    }
    const samples = await repeat(options, 'registry.scrape_ms', once, (v) => `${round(v)} ms`)
    return { ...summarize(samples, 'ms', targets.scrape), count }
  },
}

/** The `registry` suite, in the order `cli.js registry` runs it. */
export const registrySuite: Suite = [
  whereis,
  register,
  registerThreeNodes,
  converge,
  convergeStream,
  heapPerName,
  churnHeapRatio,
  scrape,
]
