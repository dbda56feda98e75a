// The steps the `scale` suite's figures share: a cluster of many scaleNode processes (from
// @swormjs/test) started with the suite's heap and flags, what it costs per node while idle
// (heartbeat traffic) and once filled (memory, CPU), who it took down, watching for names to show
// up everywhere, and checking that every name runs once.
import { setTimeout as sleep } from 'node:timers/promises'
import {
  membershipEvents,
  scaleCluster,
  type ChildNode,
  type MembershipEvent,
  type ScaleCluster,
} from '@swormjs/test'
import { nodeFlags } from '../childNodes.js'
import { median, round } from '../measure.js'

/**
 * Each node's heap bound, so that 50 processes fit a small machine: a node with 10,000 names
 * (and a replica of every other node's docs) uses a few tens of MiB of heap.
 */
export const MAX_OLD_SPACE_MB = 256
/** Bound on the waits for names to show up or run again: a slow machine fails, not hangs. */
export const SETTLE_MS = 120_000
/** How long the traffic of an idle mesh is counted. */
const IDLE_WINDOW_MS = 3_000

/** Starts `nodes` scaleNode processes seeded to the first; the start may take a while at 50. */
export function startScale(nodes: number, prefix: string): Promise<ScaleCluster> {
  return scaleCluster({
    nodes,
    prefix,
    maxOldSpaceMb: MAX_OLD_SPACE_MB,
    // A full GC before each memory reading, so that it counts what is kept.
    execArgv: ['--expose-gc', ...nodeFlags()],
    // Forming a mesh of 50 took minutes on a small shared machine (Members gossip is O(n²) a node).
    startTimeoutMs: 60_000 + nodes * 12_000,
    requestTimeoutMs: 180_000,
    // A profiled node writes its profile only when it exits by itself.
    graceful: nodeFlags().length > 0,
  })
}

/** What one node costs: median over the nodes. */
export interface PerNode {
  /** Resident set size and heap in use after a full GC, MiB. */
  readonly rssMb: number
  readonly heapMb: number
}

/** The median memory of the nodes, after a full GC in each. */
export async function memoryPerNode(cluster: ScaleCluster): Promise<PerNode> {
  const all = (await Promise.all(cluster.nodes.map((x) => x.request({ op: 'memory' })))) as Array<{
    rss: number
    heapUsed: number
  }>
  const mb = (bytes: number): number => round(bytes / 2 ** 20)
  return {
    rssMb: mb(median(all.map((m) => m.rss))),
    heapMb: mb(median(all.map((m) => m.heapUsed))),
  }
}

/** What an idle mesh sends, median over the nodes. */
export interface IdleTraffic {
  /**
   * Bytes each node sends per second while nothing happens. A heartbeat is one 1-byte frame
   * alone in its websocket message, so this is the heartbeat frames a node sends per second
   * (n - 1 at the default interval of 1 s).
   */
  readonly idleBytesPerS: number
  /** KiB each node sent from its start to now: the handshakes, Members gossip and doc sync. */
  readonly meshKiB: number
}

/** Counts what the nodes send for a few seconds before anything happens. */
export async function idleTraffic(cluster: ScaleCluster): Promise<IdleTraffic> {
  type Traffic = { bytesOut: number; at: number }
  const read = async (): Promise<Traffic[]> =>
    (await Promise.all(cluster.nodes.map((x) => x.request({ op: 'traffic' })))) as Traffic[]
  const before = await read()
  await sleep(IDLE_WINDOW_MS)
  const after = await read()
  const perSecond = after.map((a, i) => {
    const b = before[i]!
    return ((a.bytesOut - b.bytesOut) * 1000) / (a.at - b.at)
  })
  return {
    idleBytesPerS: round(median(perSecond)),
    meshKiB: round(median(before.map((b) => b.bytesOut)) / 1024),
  }
}

/** The CPU time (user and system, ms) each node has used so far. */
export async function cpuMs(cluster: ScaleCluster): Promise<number[]> {
  return (await Promise.all(cluster.nodes.map((x) => x.request({ op: 'cpu' })))) as number[]
}

/** What a step cost in CPU: the median per node (ms) and the sum over nodes per name (µs). */
export function cpuCost(
  before: readonly number[],
  after: readonly number[],
  names: number,
): { cpuMsPerNode: number; cpuUsPerName: number } {
  const spent = after.map((a, i) => a - before[i]!)
  return {
    cpuMsPerNode: round(median(spent)),
    cpuUsPerName: round((spent.reduce((sum, x) => sum + x, 0) * 1000) / names),
  }
}

/** The downs of nodes that were alive, as `observer>down` pairs (each counted once). */
export function falseDowns(
  cluster: ScaleCluster,
  alive: (name: string) => boolean = () => true,
): { pairs: string[]; events: MembershipEvent[] } {
  const events = membershipEvents(cluster)
  const pairs = new Set(
    events.filter((e) => e.event === 'nodeDown' && alive(e.about)).map((e) => `${e.on}>${e.about}`),
  )
  return { pairs: [...pairs], events }
}

/**
 * Has every node watch until it resolves `count` names (for `timeoutMs` at most); resolves once
 * each watch is set up, with `done`: the time (absolute) at which the last node did.
 */
export async function allSee(
  nodes: readonly ChildNode[],
  count: number,
  timeoutMs = SETTLE_MS,
): Promise<{ done: Promise<number> }> {
  const done = Promise.all(
    nodes.map((x) => x.request({ op: 'awaitCount', count, timeoutMs }, timeoutMs + 10_000)),
  ).then((all) => Math.max(...(all as Array<{ at: number }>).map((a) => a.at)))
  // The caller awaits it later; a failure is heard there.
  done.catch(() => undefined)
  // A node handles requests in order: its reply to this one comes after its watch is set up.
  await Promise.all(nodes.map((x) => x.request({ op: 'count' })))
  return { done }
}

/**
 * Of `names`, those lost (missing from a node's view, or with no worker running) and those held
 * twice (two workers running, or two pids in the views).
 */
export async function checkNames(
  nodes: readonly ChildNode[],
  names: readonly string[],
): Promise<{ lost: number; duplicates: number }> {
  const running = new Map<string, number>()
  const pids = new Map<string, Set<string>>()
  for (const node of nodes) {
    for (const name of (await node.request({ op: 'workers' })) as string[])
      running.set(name, (running.get(name) ?? 0) + 1)
  }
  const missing = new Set<string>()
  for (const node of nodes) {
    const view = new Map((await node.request({ op: 'registered' })) as Array<[string, string]>)
    for (const name of names) {
      const pid = view.get(name)
      if (pid === undefined) missing.add(name)
      else pids.set(name, (pids.get(name) ?? new Set()).add(pid))
    }
  }
  for (const name of names) if ((running.get(name) ?? 0) === 0) missing.add(name)
  const twice = names.filter((n) => (running.get(n) ?? 0) > 1 || (pids.get(n)?.size ?? 0) > 1)
  return { lost: missing.size, duplicates: twice.length }
}
