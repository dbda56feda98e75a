// Busy is not dead, across real processes: a node paused (SIGSTOP) for less than unreachable
// plus the downing bound is suspected and heard again, never down; a node whose own event loop
// stalled far past its downing bound judges nobody from what it had not read yet.
import { afterAll, describe, expect, it } from 'vitest'
import { killAllChildren, pause, type ChildEvent, type ChildNode } from '../src/index.js'
import {
  SLOW_MS,
  info,
  peerIds,
  spawnCluster,
  waitForMesh,
  type Cluster,
} from './clusterProcesses.js'

afterAll(killAllChildren)

const INTERVAL_MS = 200
/** A regular peer is suspected about 200 + 600 + 5.2 × 50 ≈ 1.06 s after its last beat. */
const DETECTION = {
  HEARTBEAT_INTERVAL_MS: String(INTERVAL_MS),
  ACCEPTABLE_HEARTBEAT_PAUSE_MS: '600',
  MIN_HEARTBEAT_STD_DEVIATION_MS: '50',
  RECONNECT_MAX_MS: '500',
}

/** Three node processes, B and C given A as seed, with `env(i)` for node `i`. */
async function threeNodes(env: (i: number) => Record<string, string>): Promise<Cluster> {
  const nodes = await spawnCluster(['A', 'B', 'C'], env)
  try {
    const infos = await Promise.all(nodes.map(info))
    for (const node of nodes.slice(1)) await node.request({ op: 'connect', url: infos[0]!.url })
    await waitForMesh(nodes, infos)
    return { nodes, infos, [Symbol.asyncDispose]: () => nodes[Symbol.asyncDispose]() }
  } catch (error) {
    await nodes[Symbol.asyncDispose]()
    throw error
  }
}

/** What `node` said about the node `id` since it came up: suspected, heard again, down. */
function about(node: ChildNode, id: string): string[] {
  return node.events
    .filter((e) => e['id'] === id && e.event !== 'nodeUp')
    .map((e) => String(e.event))
}

const isEvent =
  (kind: string, id: string) =>
  (e: ChildEvent): boolean =>
    e.event === kind && e['id'] === id

function signal(node: ChildNode, sig: 'SIGSTOP' | 'SIGCONT'): void {
  process.kill(node.pid, sig)
}

describe('a busy node is not a dead node', () => {
  it(
    'declares nobody down when a node pauses for less than unreachable plus the downing bound',
    { timeout: 90_000 },
    async () => {
      // Suspected after about 1.06 s of silence, down 5 s later: the pause ends in between.
      await using cluster = await threeNodes(() => ({
        ...DETECTION,
        DOWN_AFTER_UNREACHABLE_MS: '5000',
      }))
      const { nodes } = cluster
      const ids = cluster.infos.map((x) => x.id)
      const [a, b, c] = [nodes[0]!, nodes[1]!, nodes[2]!]
      const cId = ids[2]!

      signal(c, 'SIGSTOP')
      try {
        await Promise.all([
          a.waitForEvent(isEvent('unreachable', cId), SLOW_MS),
          b.waitForEvent(isEvent('unreachable', cId), SLOW_MS),
        ])
        // Stopped 1.5 s more, about 2.6 s in all: still far from down.
        await pause(1500)
      } finally {
        signal(c, 'SIGCONT')
      }
      await Promise.all([
        a.waitForEvent(isEvent('reachable', cId), SLOW_MS),
        b.waitForEvent(isEvent('reachable', cId), SLOW_MS),
      ])
      expect(about(a, cId)).toEqual(['unreachable', 'reachable'])
      expect(about(b, cId)).toEqual(['unreachable', 'reachable'])
      for (const node of nodes) {
        expect(
          node.events.filter((e) => e.event === 'nodeDown'),
          node.name,
        ).toEqual([])
      }
      expect(await peerIds(a)).toEqual([ids[1]!, cId].sort())
      expect(await peerIds(c)).toEqual([ids[0]!, ids[1]!].sort())
    },
  )

  it(
    'does not declare its peers down after its own event loop stalled past its downing bound',
    { timeout: 90_000 },
    async () => {
      // C would take a silent peer down about 1.06 + 1 s after its last beat. A and B are
      // patient (a minute), so that they keep C's connections open through its stall: what C
      // does when it resumes is all its own judgement.
      await using cluster = await threeNodes((i) => ({
        ...DETECTION,
        DOWN_AFTER_UNREACHABLE_MS: i === 2 ? '1000' : '60000',
      }))
      const { nodes } = cluster
      const ids = cluster.infos.map((x) => x.id)
      const [a, b, c] = [nodes[0]!, nodes[1]!, nodes[2]!]
      const cId = ids[2]!

      // A long synchronous step, and the process stopped in the middle of it: C's timers come due
      // while it runs, and fire, late, before C reads what its peers sent meanwhile.
      const stalled = c.request({ op: 'stall', ms: 1500 }, 60_000)
      await c.waitForEvent('stalling', SLOW_MS)
      signal(c, 'SIGSTOP')
      try {
        await pause(4000)
      } finally {
        signal(c, 'SIGCONT')
      }
      await stalled
      // A and B felt the stall (they suspected C), and hear C again.
      await Promise.all([
        a.waitForEvent(isEvent('reachable', cId), SLOW_MS),
        b.waitForEvent(isEvent('reachable', cId), SLOW_MS),
      ])
      // C's next judgements come within an interval or two: none may suspect anyone.
      await pause(5 * INTERVAL_MS)
      const ofC = c.events.filter((e) => ['unreachable', 'nodeDown'].includes(String(e.event)))
      expect(ofC).toEqual([])
      expect(await peerIds(c)).toEqual([ids[0]!, ids[1]!].sort())
      for (const node of [a, b]) {
        expect(about(node, cId), node.name).toEqual(['unreachable', 'reachable'])
      }
    },
  )
})
