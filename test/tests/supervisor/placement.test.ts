// Placement: children started from any node run exactly once, spread evenly over the members by
// hashing, and every node reports the same cluster-wide children and counts.
import { beforeEach, describe, expect, it } from 'vitest'
import { nodeOf } from '@swormjs/actor'
import { testCluster, waitUntil } from '../../src/index.js'
import {
  SETTLE_MS,
  eachRunsOnce,
  liveCopies,
  resetCensus,
  startSupervisors,
  viewsAgree,
  worker,
} from './helpers.js'

beforeEach(resetCensus)

describe('placement', () => {
  it('runs each of 1,000 children started across 3 nodes exactly once', async () => {
    await using cluster = await testCluster(3)
    const sups = await startSupervisors(cluster.nodes)
    const ids = Array.from({ length: 1000 }, (_, i) => `child-${i}`)
    // Each node starts a third of them.
    const pids = await Promise.all(ids.map((id, i) => sups[i % 3]!.startChild(worker(id))))
    expect(new Set(pids).size).toBe(1000)

    await waitUntil(() => viewsAgree(sups), SETTLE_MS, 'every node to report the same children')
    for (const sup of sups) {
      const children = sup.whichChildren()
      expect(children).toHaveLength(1000)
      expect(new Set(children.map((c) => c.id)).size).toBe(1000)
      for (const c of children) {
        expect(c.node).toBe(nodeOf(c.pid))
        expect(cluster.nodes.find((n) => n.id === c.node)!.runtime.isAlive(c.pid)).toBe(true)
      }
      const counts = sup.countChildren()
      expect(counts.active).toBe(1000)
      expect(counts.workers).toBe(1000)
      expect(Object.values(counts.byNode).reduce((a, b) => a + b, 0)).toBe(1000)
      expect(Object.keys(counts.byNode).sort()).toEqual(cluster.nodes.map((n) => n.id).sort())
    }
    // The processes themselves: one live copy per id, and it is the pid startChild returned.
    expect(eachRunsOnce(cluster.nodes, ids)).toBe(true)
    const live = liveCopies(cluster.nodes)
    ids.forEach((id, i) => expect(live.get(id)).toEqual([pids[i]]))
  })

  it('spreads children over all nodes within ±30% of even', async () => {
    await using cluster = await testCluster(3)
    const sups = await startSupervisors(cluster.nodes)
    await Promise.all(
      Array.from({ length: 1000 }, (_, i) => sups[0]!.startChild(worker(`spread-${i}`))),
    )
    const byNode = sups[0]!.countChildren().byNode
    expect(Object.keys(byNode)).toHaveLength(3)
    for (const n of Object.values(byNode)) {
      expect(n).toBeGreaterThanOrEqual((1000 / 3) * 0.7)
      expect(n).toBeLessThanOrEqual((1000 / 3) * 1.3)
    }
  })

  it('places an id on the same node whichever node starts it', async () => {
    await using cluster = await testCluster(3)
    const sups = await startSupervisors(cluster.nodes)
    for (let i = 0; i < 30; i++) {
      const id = `same-${i}`
      const expected = sups[0]!.find(id, 'Worker')
      expect(sups.map((s) => s.find(id, 'Worker'))).toEqual([expected, expected, expected])
      const pid = await sups[i % 3]!.startChild(worker(id))
      expect(nodeOf(pid)).toBe(expected)
    }
  })
})
