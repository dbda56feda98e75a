// The steps the `scale` suite's figures share: a cluster of many scaleNode processes (from
// @sworm/test) started with the suite's heap and flags, what it costs per node while idle
// (heartbeat traffic) and once filled (memory), and who it took down.
import { setTimeout as sleep } from 'node:timers/promises'
import {
  membershipEvents,
  scaleCluster,
  type MembershipEvent,
  type ScaleCluster,
} from '@sworm/test'
import { nodeFlags } from '../childNodes.js'
import { median, round } from '../measure.js'

/**
 * Each node's heap bound, so that 50 processes fit a small machine: a node with 10,000 names
 * (and a replica of every other node's docs) uses a few tens of MiB of heap.
 */
export const MAX_OLD_SPACE_MB = 256
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
    startTimeoutMs: 60_000 + nodes * 4_000,
    requestTimeoutMs: 180_000,
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

/**
 * The bytes each node sends per second while nothing happens, median over the nodes. A
 * heartbeat is one 1-byte frame, alone in its websocket message, so on an idle mesh this is the
 * heartbeat frames each node sends per second (n - 1 at the default interval of 1 s).
 */
export async function idleBytesPerSecond(cluster: ScaleCluster): Promise<number> {
  type Traffic = { bytesOut: number; at: number }
  const read = async (): Promise<Traffic[]> =>
    (await Promise.all(cluster.nodes.map((x) => x.request({ op: 'traffic' })))) as Traffic[]
  const before = await read()
  await sleep(IDLE_WINDOW_MS)
  const after = await read()
  return round(
    median(
      after.map((a, i) => {
        const b = before[i]!
        return ((a.bytesOut - b.bytesOut) * 1000) / (a.at - b.at)
      }),
    ),
  )
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
