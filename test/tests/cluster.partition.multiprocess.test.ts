// Links between node processes run through fault proxies: heartbeat detection of a black-holed
// link, a partition that heals, docs written on both sides of it converging, and two nodes that
// dial each other at once.
import { afterAll, describe, expect, it, vi } from 'vitest'
import { killAllChildren, type ChildNode } from '../src/index.js'
import {
  SLOW_MS,
  at,
  nodeDownOf,
  proxiedCluster,
  waitForMesh,
  waitForView,
  type NodeInfo,
} from './clusterProcesses.js'

const HEARTBEAT_INTERVAL_MS = 200
const HEARTBEAT_TIMEOUT_MS = 600
/**
 * A silent peer is down at the first heartbeat tick after `heartbeatTimeoutMs` of silence, so at
 * most one interval late. On top of that come timer lateness and the delay before the child's
 * event loop runs the tick, which on this shared 2-core machine can reach tens of milliseconds:
 * the allowance covers that, and nothing of the detection itself.
 */
const SCHEDULING_ALLOWANCE_MS = 150

const FAST_HEARTBEAT = {
  HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_INTERVAL_MS),
  HEARTBEAT_TIMEOUT_MS: String(HEARTBEAT_TIMEOUT_MS),
  RECONNECT_MAX_MS: '500',
}

afterAll(killAllChildren)

/** The ids of `infos`, except those at `indexes`. */
function othersThan(infos: readonly NodeInfo[], ...indexes: number[]): string[] {
  return infos.filter((_, j) => !indexes.includes(j)).map((x) => x.id)
}

describe('cluster across processes, links through fault proxies', () => {
  it(
    'detects a black-holed link within heartbeatTimeoutMs plus one heartbeat interval',
    { timeout: 60_000 },
    async () => {
      await using cluster = await proxiedCluster(['A', 'B'], FAST_HEARTBEAT)
      const [a, b] = cluster.nodes
      const [ia, ib] = cluster.infos
      const cutAt = Date.now()
      cluster.setLink(0, 1, 'blackhole')
      const [downOnA, downOnB] = await Promise.all([nodeDownOf(a!, ib!.id), nodeDownOf(b!, ia!.id)])
      const delays = [at(downOnA) - cutAt, at(downOnB) - cutAt]
      console.info(`blackhole → nodeDown A ${delays[0]} ms, B ${delays[1]} ms`)
      // Silence is noticed by the heartbeat check, not by a closed socket.
      expect(downOnA['reason']).toBe('timeout')
      expect(downOnB['reason']).toBe('timeout')
      for (const delay of delays) {
        expect(delay).toBeLessThanOrEqual(
          HEARTBEAT_TIMEOUT_MS + HEARTBEAT_INTERVAL_MS + SCHEDULING_ALLOWANCE_MS,
        )
      }
    },
  )

  it(
    'sees a partition {A} | {B, C} on every side, then heals it',
    { timeout: 60_000 },
    async () => {
      await using cluster = await proxiedCluster(['A', 'B', 'C'], FAST_HEARTBEAT)
      const { nodes, infos } = cluster
      cluster.setLink(0, 1, 'close')
      cluster.setLink(0, 2, 'close')
      await waitForView(nodes, (i) => (i === 0 ? [] : othersThan(infos, 0, i)))

      const healAt = Date.now()
      cluster.setLink(0, 1, 'pass')
      cluster.setLink(0, 2, 'pass')
      await waitForMesh(nodes, infos)
      console.info(`partition healed in ${Date.now() - healAt} ms`)
    },
  )

  it(
    'converges docs written on both sides of a partition once it heals',
    { timeout: 60_000 },
    async () => {
      await using cluster = await proxiedCluster(['A', 'B', 'C'], FAST_HEARTBEAT)
      const { nodes, infos } = cluster
      const docs = infos.map((x) => `t/${x.id}/0`)
      const expected = new Map<string, Record<string, unknown>>()
      for (const [i, node] of nodes.entries()) {
        await node.request({ op: 'docCreate', name: docs[i]! })
        await node.request({ op: 'docWrite', name: docs[i]!, entries: { before: i } })
        expected.set(docs[i]!, { before: i })
      }
      await waitForReplicas(nodes, expected)

      cluster.setLink(0, 1, 'close')
      cluster.setLink(0, 2, 'close')
      await waitForView(nodes, (i) => (i === 0 ? [] : othersThan(infos, 0, i)))
      for (const [i, node] of nodes.entries()) {
        const entries = { before: `${i} rewritten`, during: i, [`only-${i}`]: [i, i] }
        await node.request({ op: 'docWrite', name: docs[i]!, entries })
        await node.request({ op: 'docFill', name: docs[i]!, count: 50, prefix: `k${i}-` })
        const all: Record<string, unknown> = { ...entries }
        for (let k = 0; k < 50; k++) all[`k${i}-${k}`] = k
        expected.set(docs[i]!, all)
      }
      // B and C are still connected: they have each other's writes, A has neither.
      await waitForReplicas(nodes.slice(1), new Map([...expected].slice(1)))
      expect(await nodes[0]!.request({ op: 'docRead', name: docs[1]! })).toEqual({ before: 1 })

      cluster.setLink(0, 1, 'pass')
      cluster.setLink(0, 2, 'pass')
      await waitForMesh(nodes, infos)
      await waitForReplicas(nodes, expected)
    },
  )

  it(
    'keeps one connection when two nodes dial each other at once, and syncs their docs',
    { timeout: 60_000 },
    async () => {
      await using cluster = await proxiedCluster(['A', 'B'], FAST_HEARTBEAT, { join: false })
      const { nodes, infos } = cluster
      const docs = infos.map((x) => `t/${x.id}/0`)
      const expected = new Map<string, Record<string, unknown>>()
      for (const [i, node] of nodes.entries()) {
        await node.request({ op: 'docCreate', name: docs[i]! })
        await node.request({ op: 'docWrite', name: docs[i]!, entries: { owner: infos[i]!.name } })
        expected.set(docs[i]!, { owner: infos[i]!.name })
      }
      // Each handshake takes four trips through a proxy. Slowed down, the two handshakes overlap
      // for sure (the two connect ops reach the nodes far less than 100 ms apart), and each node
      // sees the connection it accepted complete first: the case where both nodes hold two
      // connections and must agree on the one to keep.
      cluster.setLink(0, 1, { delayMs: 100 })
      await Promise.all(
        nodes.map((node, i) => node.request({ op: 'connect', url: infos[1 - i]!.url })),
      )
      await waitForMesh(nodes, infos)
      await waitForReplicas(nodes, expected)
      await vi.waitFor(
        () => {
          expect(cluster.proxy(0, 1).stats().open + cluster.proxy(1, 0).stats().open).toBe(1)
        },
        { timeout: SLOW_MS, interval: 50 },
      )
      for (const node of nodes)
        expect(node.events.filter((e) => e.event === 'nodeDown')).toEqual([])
    },
  )
})

/** Resolves once every node's copy of every doc in `expected` reads as expected. */
async function waitForReplicas(
  nodes: readonly ChildNode[],
  expected: ReadonlyMap<string, Record<string, unknown>>,
): Promise<void> {
  await vi.waitFor(
    async () => {
      for (const node of nodes) {
        for (const [name, content] of expected) {
          expect(await node.request({ op: 'docRead', name }), `${name} on ${node.name}`).toEqual(
            content,
          )
        }
      }
    },
    { timeout: SLOW_MS, interval: 50 },
  )
}
