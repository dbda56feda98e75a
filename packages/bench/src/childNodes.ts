// Real node processes for the suites that need several: the clusterNode fixture of @swormjs/test,
// spawned through its process harness, meshed, and killed whatever happens.
import { performance } from 'node:perf_hooks'
import { freePorts, killAllChildren, spawnNodes, type ChildNode } from '@swormjs/test'

export { freePorts }

/** Bounds on the harness: generous, since a slow machine must fail a target, not time out. */
export const REQUEST_TIMEOUT_MS = 120_000
export const EVENT_TIMEOUT_MS = 30_000
/** How long a node may take to leave after SIGTERM before it is killed. */
export const STOP_TIMEOUT_MS = 2_000
/** The same while profiling: the profile is written on the way out, which takes a while. */
const PROFILED_STOP_TIMEOUT_MS = 60_000

/** How long a node child may take to stop: `STOP_TIMEOUT_MS`, or longer while profiled. */
export function stopTimeoutMs(): number {
  return nodeFlags().length > 0 ? PROFILED_STOP_TIMEOUT_MS : STOP_TIMEOUT_MS
}

/**
 * Extra flags for the node children, space-separated: `SWORM_BENCH_NODE_FLAGS='--cpu-prof
 * --cpu-prof-dir=/tmp/prof'` profiles every node (they are then stopped with SIGTERM, so the
 * profile is written).
 */
export const NODE_FLAGS_ENV = 'SWORM_BENCH_NODE_FLAGS'

/** The flags of `SWORM_BENCH_NODE_FLAGS`, none when unset. */
export function nodeFlags(): string[] {
  return process.env[NODE_FLAGS_ENV]?.split(' ').filter((f) => f !== '') ?? []
}

/** The fixture script, compiled: `dist/fixtures/clusterNode.js` next to @swormjs/test's entry. */
export function clusterNodeScript(): URL {
  return new URL('../dist/fixtures/clusterNode.js', import.meta.resolve('@swormjs/test'))
}

/** Ms since the epoch with sub-ms precision, comparable with the fixture's timestamps. */
export function wallClock(): number {
  return performance.timeOrigin + performance.now()
}

/** Nodes that see each other up; disposing it ends them all. */
export interface Mesh extends AsyncDisposable {
  readonly nodes: readonly ChildNode[]
}

/** Options of {@link startMesh}. */
export interface MeshOptions {
  /** The node script each process runs. Default: the clusterNode fixture ({@link clusterNodeScript}). */
  readonly script?: URL
  /** Node flags of every node, before those of `SWORM_BENCH_NODE_FLAGS`. Default none. */
  readonly execArgv?: readonly string[]
  /** More environment of every node. */
  readonly env?: Readonly<Record<string, string>>
  /**
   * Stop the nodes with SIGTERM (SIGKILL after `STOP_TIMEOUT_MS`) rather than SIGKILL at once.
   * Default false, but always true when `SWORM_BENCH_NODE_FLAGS` is set, so profiles get written.
   */
  readonly graceful?: boolean
  /**
   * Node `i` listens on `ports[i]` (`SWORM_PORT`) and has every other node as a seed
   * (`SWORM_SEEDS`), as the nodes of a deployed cluster do: they meet while they start, and
   * nobody dials them afterwards. Default: each on a free port, meshed once all are ready.
   */
  readonly ports?: readonly number[]
}

/**
 * Spawns one node per name (its `NODE_NAME`), has each dial every node after it, and resolves
 * once every node has seen every other one come up (`nodeUp`). Any node script works that
 * answers `connect { url }` and prints `nodeUp` events and a ready line with `id` and `url`.
 * With `ports`, it resolves once the nodes are ready, without waiting for them to meet.
 */
export async function startMesh(
  names: readonly string[],
  options: MeshOptions = {},
): Promise<Mesh> {
  const flags = nodeFlags()
  const graceful = options.graceful === true || flags.length > 0
  const ports = options.ports
  const seeded = (i: number): Record<string, string> =>
    ports === undefined
      ? {}
      : {
          SWORM_PORT: String(ports[i]),
          SWORM_SEEDS: ports
            .filter((_, j) => j !== i)
            .map((p) => `ws://127.0.0.1:${p}`)
            .join(','),
        }
  const nodes = await spawnNodes(names.length, (i) => ({
    script: options.script ?? clusterNodeScript(),
    name: names[i]!,
    env: { NODE_NAME: names[i]!, SWORM_LOG_LEVEL: 'warn', ...options.env, ...seeded(i) },
    execArgv: [...(options.execArgv ?? []), ...flags],
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    stopTimeoutMs: stopTimeoutMs(),
  }))
  const dispose = async (): Promise<void> => {
    if (graceful) await Promise.all(nodes.map((n) => n.stop()))
    await nodes[Symbol.asyncDispose]()
  }
  // Seeded nodes dial each other as they start: the caller checks that they met.
  if (ports !== undefined) return { nodes, [Symbol.asyncDispose]: dispose }
  try {
    const readies = await Promise.all(nodes.map((n) => n.ready))
    const ids = readies.map((r) => field(r, 'id', 'string'))
    const urls = readies.map((r) => field(r, 'url', 'string'))
    const ups: Array<Promise<unknown>> = []
    for (const [i, node] of nodes.entries()) {
      for (const [j, id] of ids.entries()) {
        if (j !== i) {
          ups.push(node.waitForEvent((e) => e.event === 'nodeUp' && e.id === id, EVENT_TIMEOUT_MS))
        }
      }
    }
    for (const [i, node] of nodes.entries()) {
      for (const url of urls.slice(i + 1)) await node.request({ op: 'connect', url })
    }
    await Promise.all(ups)
  } catch (e) {
    await dispose()
    throw e
  }
  return { nodes, [Symbol.asyncDispose]: dispose }
}

/** Runs `fn` and then kills every child still running, whatever happened. */
export async function withChildren<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } finally {
    await killAllChildren()
  }
}

/** `record[key]`, checked to be of `type`: the fixture's replies are untyped JSON. */
export function field<K extends 'number' | 'string'>(
  record: unknown,
  key: string,
  type: K,
): K extends 'number' ? number : string {
  const value = (record as Record<string, unknown> | null)?.[key]
  if (typeof value !== type) {
    throw new Error(`expected a ${type} ${key} from the node, got ${JSON.stringify(record)}`)
  }
  return value as K extends 'number' ? number : string
}

/** A reply of the fixture that must be a number (`regAwaitCount`, `heapUsed`, ...). */
export function numberReply(reply: unknown, what: string): number {
  if (typeof reply !== 'number' || !Number.isFinite(reply)) {
    throw new Error(`expected a number from ${what}, got ${JSON.stringify(reply)}`)
  }
  return reply
}
