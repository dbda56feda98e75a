// Many real sworm node processes (the scaleNode fixture), each seeded to the first and meshed by
// gossip, for the scale test and the `scale` benchmarks: starting them, a registration burst from
// several nodes at once, whether they agree afterwards, and what each node said of the others
// (suspected, heard again, down) and why.
import { spawnNode, type ChildEvent, type ChildNode } from './ProcessHarness.js'

/** The fixture, compiled: these nodes run plain JavaScript. */
export const scaleNodeScript = new URL('../dist/fixtures/scaleNode.js', import.meta.url)

/** Options of {@link scaleCluster}. */
export interface ScaleClusterOptions {
  /** How many node processes. */
  readonly nodes: number
  /** Node names are `<prefix><i>`. Default `'n'`. */
  readonly prefix?: string
  /** Each node's `--max-old-space-size`, in MiB. Default: node's own limit. */
  readonly maxOldSpaceMb?: number
  /** More node flags of every node. Default none. */
  readonly execArgv?: readonly string[]
  /** Bound on the start: every process ready and the full mesh seen. Default 60 000. */
  readonly startTimeoutMs?: number
  /** How long a request to a node may take. Default 120 000 (a burst is one request). */
  readonly requestTimeoutMs?: number
  /**
   * Stop the nodes with SIGTERM (SIGKILL after the harness's stop bound) rather than SIGKILL at
   * once, so that a node started with `--cpu-prof` writes its profile. Default false.
   */
  readonly graceful?: boolean
}

/** Node processes meshed together; disposing it kills them all. */
export interface ScaleCluster extends AsyncDisposable {
  readonly nodes: readonly ChildNode[]
  readonly ids: readonly string[]
  /** The node's name for an id, or the id if it is none of these nodes. */
  nameOf(id: string): string
  /** How many events each node had printed when the mesh was complete. */
  readonly meshed: readonly number[]
}

/** A suspicion or a down that node `on` printed about node `about`. */
export interface MembershipEvent {
  readonly on: string
  readonly about: string
  readonly event: 'unreachable' | 'reachable' | 'nodeDown'
  readonly reason?: string
  readonly at: number
}

const POLL_MS = 200
/** A graceful stop of many nodes at once hands their names around: time to finish and write. */
const GRACEFUL_STOP_MS = 60_000

async function until(what: string, deadline: number, probe: () => Promise<boolean>): Promise<void> {
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`${what}: not before the start's bound`)
    await new Promise((r) => setTimeout(r, POLL_MS))
  }
}

/**
 * Starts node 0, then every other node with node 0 as its only seed (they find each other by
 * gossip), and resolves once every node has seen every other come up, sees all of them up now,
 * and counts all of them as members of the sworm with their routers.
 *
 * @example
 * ```ts
 * await using cluster = await scaleCluster({ nodes: 10, maxOldSpaceMb: 256 })
 * ```
 */
export async function scaleCluster(options: ScaleClusterOptions): Promise<ScaleCluster> {
  const n = options.nodes
  const prefix = options.prefix ?? 'n'
  const startTimeoutMs = options.startTimeoutMs ?? 60_000
  const deadline = Date.now() + startTimeoutMs
  const execArgv = [
    ...(options.maxOldSpaceMb === undefined
      ? []
      : [`--max-old-space-size=${options.maxOldSpaceMb}`]),
    ...(options.execArgv ?? []),
  ]
  const nodes: ChildNode[] = []
  const spawn = (i: number, seeds: string[]): ChildNode =>
    spawnNode({
      script: scaleNodeScript,
      name: `${prefix}${i}`,
      execArgv,
      env: { NODE_NAME: `${prefix}${i}`, SEEDS: JSON.stringify(seeds) },
      readyTimeoutMs: startTimeoutMs,
      requestTimeoutMs: options.requestTimeoutMs ?? 120_000,
    })
  const dispose = async (): Promise<void> => {
    if (options.graceful === true) await Promise.all(nodes.map((x) => x.stop(GRACEFUL_STOP_MS)))
    await Promise.all(nodes.map((x) => x[Symbol.asyncDispose]()))
  }
  try {
    nodes.push(spawn(0, []))
    const seed = String((await nodes[0]!.ready)['url'])
    for (let i = 1; i < n; i++) nodes.push(spawn(i, [seed]))
    const ids = (await Promise.all(nodes.map((x) => x.ready))).map((e) => String(e['id']))
    const names = new Map(ids.map((id, i) => [id, nodes[i]!.name]))
    await Promise.all(
      nodes.flatMap((node, i) =>
        ids
          .filter((_, j) => j !== i)
          .map((id) =>
            node.waitForEvent(
              (e) => e.event === 'nodeUp' && e['id'] === id,
              Math.max(1, deadline - Date.now()),
            ),
          ),
      ),
    )
    for (const node of nodes) {
      await until(`the full mesh on ${node.name}`, deadline, async () => {
        const up = (await node.request({ op: 'nodes' })) as string[]
        const m = (await node.request({ op: 'members' })) as { members: number; routers: number }
        return up.length === n - 1 && m.members === n && m.routers === n
      })
    }
    return {
      nodes,
      ids,
      nameOf: (id) => names.get(id) ?? id,
      meshed: nodes.map((x) => x.events.length),
      [Symbol.asyncDispose]: dispose,
    }
  } catch (e) {
    await dispose()
    throw e
  }
}

/** Every suspicion, recovery and down any node printed since the mesh was complete. */
export function membershipEvents(cluster: ScaleCluster): MembershipEvent[] {
  const out: MembershipEvent[] = []
  for (const [i, node] of cluster.nodes.entries()) {
    for (const e of node.events.slice(cluster.meshed[i] ?? 0)) {
      if (e.event !== 'unreachable' && e.event !== 'reachable' && e.event !== 'nodeDown') continue
      out.push({
        on: node.name,
        about: cluster.nameOf(String(e['id'])),
        event: e.event,
        ...(typeof e['reason'] === 'string' ? { reason: e['reason'] } : {}),
        at: Number(e['at']),
      })
    }
  }
  return out.sort((a, b) => a.at - b.at)
}

/** The warn and error lines node `i` logged since the mesh was complete (the first 200 in all). */
export function logLines(cluster: ScaleCluster, i: number): string[] {
  const node = cluster.nodes[i]!
  return node.events
    .slice(cluster.meshed[i] ?? 0)
    .filter((e: ChildEvent) => e.event === 'log')
    .map((e) => String(e['line']))
}

/** One node's share of a burst: it registers the names `<prefix>0 .. <prefix><count - 1>`. */
export interface BurstPart {
  readonly node: number
  readonly prefix: string
  readonly count: number
}

/** What one node's share of a burst gave. */
export interface BurstResult extends BurstPart {
  /** Absolute times (ms since the epoch) of its first call and its last answer. */
  readonly start: number
  readonly end: number
  readonly ok: number
  readonly failed: number
  /** Failures by error code. */
  readonly errors: Readonly<Record<string, number>>
  /** The first failed names, each with its error. */
  readonly examples: readonly string[]
  /** Failed names that resolved on the node when they failed, and when the burst was over. */
  readonly resolvedAtFailure: number
  readonly resolvedAtEnd: number
}

/** Options of {@link burst}. */
export interface BurstOptions {
  /** registerName calls in flight per node. Default: all of its names at once. */
  readonly concurrency?: number
  /** How often a failed name is tried again (a setup that needs every name). Default 0. */
  readonly retries?: number
  /** Bound on each node's share. Default: the cluster's `requestTimeoutMs`. */
  readonly timeoutMs?: number
}

/** Runs every part at once and resolves with what each part gave. */
export async function burst(
  cluster: ScaleCluster,
  parts: readonly BurstPart[],
  options: BurstOptions = {},
): Promise<BurstResult[]> {
  const { concurrency, retries, timeoutMs } = options
  return Promise.all(
    parts.map(async (part) => {
      const node = cluster.nodes[part.node]!
      const reply = (await node.request(
        {
          op: 'burst',
          prefix: part.prefix,
          count: part.count,
          ...(concurrency === undefined ? {} : { concurrency }),
          ...(retries === undefined ? {} : { retries }),
        },
        timeoutMs,
      )) as Omit<BurstResult, keyof BurstPart>
      return { ...part, ...reply }
    }),
  )
}

/** A node's view of the names: how many resolve, and a hash of them with their pids. */
export interface Digest {
  readonly count: number
  readonly digest: string
}

export async function digests(nodes: readonly ChildNode[]): Promise<Digest[]> {
  return Promise.all(nodes.map(async (x) => (await x.request({ op: 'digest' })) as Digest))
}

/**
 * Polls until every one of `nodes` resolves `count` names and all hold the same view, or
 * `timeoutMs` passed; resolves with the last digests either way (the caller asserts).
 */
export async function settledDigests(
  nodes: readonly ChildNode[],
  count: number,
  timeoutMs: number,
): Promise<Digest[]> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const all = await digests(nodes)
    const agreed = all.every((d) => d.count === count && d.digest === all[0]!.digest)
    if (agreed || Date.now() > deadline) return all
    await new Promise((r) => setTimeout(r, POLL_MS))
  }
}

/** The longest stall (`lateMs`) each node logged since the mesh was complete, by name. */
export function longestStalls(cluster: ScaleCluster): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [i, node] of cluster.nodes.entries()) {
    for (const line of logLines(cluster, i)) {
      const late = (JSON.parse(line) as { lateMs?: unknown }).lateMs
      if (typeof late === 'number') out[node.name] = Math.max(out[node.name] ?? 0, late)
    }
  }
  return out
}

/**
 * What the nodes said of each other, one line per event, then each node's longest stall, then
 * the warn lines (why: stalls, silences with their phi) of each node that took another down.
 */
export function explain(cluster: ScaleCluster, events: readonly MembershipEvent[]): string {
  const lines: string[] = []
  for (const e of events) {
    lines.push(`${e.on}: ${e.event} ${e.about}${e.reason === undefined ? '' : ` (${e.reason})`}`)
  }
  const stalls = Object.entries(longestStalls(cluster)).map(([name, ms]) => `${name} ${ms} ms`)
  lines.push(`longest stalls logged: ${stalls.length === 0 ? 'none' : stalls.join(', ')}`)
  const observers = new Set(events.filter((e) => e.event === 'nodeDown').map((e) => e.on))
  for (const name of observers) {
    const i = cluster.nodes.findIndex((x) => x.name === name)
    for (const line of logLines(cluster, i).slice(0, 20)) lines.push(`  ${name} logged ${line}`)
  }
  return lines.join('\n')
}
