// Redistribution when a node joins: `active` moves to it the children it now wins by hash (about
// 1/N of them, each stopped on its old node and started once on the new one); `passive` (the
// default) leaves every child where it is.
import { beforeEach, describe, expect, it } from 'vitest'
import { nodeOf, type Pid } from '@swormjs/actor'
import type { NodeOptions } from '@swormjs/cluster'
import { DistributedSupervisor } from '@swormjs/supervisor'
import { rendezvous } from '@swormjs/supervisor/internal'
import { pause, testCluster, waitUntil, type TestCluster } from '../../src/index.js'
import {
  ACTORS,
  SETTLE_MS,
  eachRunsOnce,
  liveCopies,
  recordEvents,
  resetCensus,
  startSupervisors,
  viewsAgree,
  worker,
} from './helpers.js'

beforeEach(resetCensus)

/** Where each id runs now (its single live copy's pid). */
function pidsOf(cluster: TestCluster, ids: readonly string[]): Map<string, Pid> {
  const live = liveCopies(cluster.nodes)
  return new Map(ids.map((id) => [id, live.get(id)![0]!]))
}

/**
 * Fixed node ids, so that the hash spreads these children the same way on every run (the bound
 * on moves is a property of the hash, and must not depend on the luck of random ids).
 */
const FIXED_IDS = [
  '6f1c2a8e-3d4b-4c1a-9e2f-1a2b3c4d5e6f',
  'b2e4d6f8-1a3c-4e5b-8d7f-9a0b1c2d3e4f',
  '0c9d8e7f-6a5b-4c3d-a2e1-f0e9d8c7b6a5',
  'e5f4a3b2-c1d0-4e9f-b8a7-6c5d4e3f2a1b',
]

/** A cluster of one node per id in `ids`, with those node ids. */
async function clusterWith(
  ids: readonly string[],
  options: NodeOptions = {},
): Promise<TestCluster> {
  const cluster = await testCluster(1, { ...options, nodeId: ids[0]! })
  for (const id of ids.slice(1)) await cluster.add({ nodeId: id })
  return cluster
}

describe('redistribution', () => {
  it('moves about 1/N of the children to a node that joins under active redistribution', async () => {
    await using cluster = await testCluster(3)
    const sups = await startSupervisors(cluster.nodes, { redistribution: 'active' })
    const ids = Array.from({ length: 600 }, (_, i) => `act-${i}`)
    await Promise.all(ids.map((id, i) => sups[i % 3]!.startChild(worker(id))))
    const before = pidsOf(cluster, ids)
    const movedOnOld = sups.map((s) => recordEvents(s, 'moved'))

    const joiner = await cluster.add()
    const fourth = await DistributedSupervisor.start(joiner, 's', {
      actors: ACTORS,
      redistribution: 'active',
    })
    const moved: Array<[string, string]> = []
    fourth.on('moved', (id, _pid, from) => moved.push([id, from]))
    const all = [...sups, fourth]
    const members = cluster.nodes.map((n) => n.id)
    const wins = ids.filter((id) => rendezvous(id, members) === joiner.id)
    await waitUntil(
      () =>
        eachRunsOnce(cluster.nodes, ids) &&
        viewsAgree(all) &&
        fourth.countChildren().byNode[joiner.id] === wins.length,
      SETTLE_MS,
      'the children the new node wins to move there',
    )
    // About a quarter of them moved.
    expect(wins.length).toBeGreaterThanOrEqual((600 / 4) * 0.7)
    expect(wins.length).toBeLessThanOrEqual((600 / 4) * 1.3)
    const after = pidsOf(cluster, ids)
    for (const id of ids) {
      if (wins.includes(id)) {
        // Moved: one copy, on the new node, a new process.
        expect(nodeOf(after.get(id)!)).toBe(joiner.id)
        expect(after.get(id)).not.toBe(before.get(id))
      } else {
        // Not moved: the same process as before.
        expect(after.get(id)).toBe(before.get(id))
      }
    }
    // Each move is reported once by the new node, from the node the child left.
    expect(moved.map(([id]) => id).sort()).toEqual([...wins].sort())
    for (const [id, from] of moved) expect(from).toBe(nodeOf(before.get(id)!))
    expect(movedOnOld.flat()).toEqual([])
  })

  it('moves fewer than 1.1 × children/4 when a 4th node joins under active redistribution', async () => {
    await using cluster = await clusterWith(FIXED_IDS.slice(0, 3))
    const sups = await startSupervisors(cluster.nodes, { redistribution: 'active' })
    const n = 2000
    const ids = Array.from({ length: n }, (_, i) => `bound-${i}`)
    await Promise.all(ids.map((id, i) => sups[i % 3]!.startChild(worker(id))))
    const before = pidsOf(cluster, ids)

    const joiner = await cluster.add({ nodeId: FIXED_IDS[3]! })
    const fourth = await DistributedSupervisor.start(joiner, 's', {
      actors: ACTORS,
      redistribution: 'active',
    })
    const all = [...sups, fourth]
    const members = cluster.nodes.map((n) => n.id)
    await waitUntil(
      () =>
        eachRunsOnce(cluster.nodes, ids) &&
        viewsAgree(all) &&
        ids.every(
          (id) => nodeOf(liveCopies(cluster.nodes).get(id)![0]!) === rendezvous(id, members),
        ),
      SETTLE_MS * 2,
      'redistribution to settle',
    )
    const after = pidsOf(cluster, ids)
    const movedIds = ids.filter((id) => after.get(id) !== before.get(id))
    expect(movedIds.length).toBeGreaterThan(0)
    expect(movedIds.length).toBeLessThan((1.1 * n) / 4)
    // Every move went to the new node.
    for (const id of movedIds) expect(nodeOf(after.get(id)!)).toBe(joiner.id)
  })

  it('moves nothing to a node that joins under passive redistribution, but places new children there', async () => {
    await using cluster = await testCluster(3)
    const sups = await startSupervisors(cluster.nodes)
    const ids = Array.from({ length: 300 }, (_, i) => `pas-${i}`)
    await Promise.all(ids.map((id, i) => sups[i % 3]!.startChild(worker(id))))
    const before = pidsOf(cluster, ids)

    const joiner = await cluster.add()
    const fourth = await DistributedSupervisor.start(joiner, 's', { actors: ACTORS })
    await waitUntil(
      () => sups.every((s) => s.stats().members === 4),
      SETTLE_MS,
      'every node to see the new member',
    )
    await pause(300)
    expect(pidsOf(cluster, ids)).toEqual(before)
    expect(fourth.countChildren().byNode[joiner.id]).toBe(0)
    expect(fourth.stats().local).toBe(0)
    // New children do go there.
    const fresh = await Promise.all(
      Array.from({ length: 100 }, (_, i) => sups[0]!.startChild(worker(`fresh-${i}`))),
    )
    expect(fresh.some((pid) => nodeOf(pid) === joiner.id)).toBe(true)
  })

  // A node places a move or a start by its own view of the members; the node it sends it to may
  // already know a member that wins the child, and have run its round for that join before the
  // child arrived (two nodes joining a loaded one at once). With no join left to come, the child
  // would stay on the wrong node for good: under `active`, an arrival that belongs elsewhere
  // brings a round of its own. Driven here by a child started on a node its hash does not pick.
  it('moves a child that arrives on a node its hash does not pick, with no join to follow', async () => {
    await using cluster = await testCluster(3)
    const sups = await startSupervisors(cluster.nodes, {
      redistribution: 'active',
      rebalance: { maxMovesPerRound: 1000, intervalMs: 50 },
    })
    const members = cluster.nodes.map((n) => n.id)
    const [a, b] = cluster.nodes
    const ids = Array.from({ length: 200 }, (_, i) => `late-${i}`).filter(
      (id) => rendezvous(id, members) === b!.id,
    )
    expect(ids.length).toBeGreaterThan(30)
    // Started on A, as a move from a node that did not know B yet would start them.
    await Promise.all(ids.map((id) => sups[0]!.restoreChild(worker(id), undefined)))
    const started = pidsOf(cluster, ids)
    for (const id of ids) expect(nodeOf(started.get(id)!)).toBe(a!.id)
    await waitUntil(
      () =>
        eachRunsOnce(cluster.nodes, ids) &&
        ids.every((id) => nodeOf(liveCopies(cluster.nodes).get(id)![0]!) === b!.id),
      SETTLE_MS,
      'each child to move to the node that wins it',
    )
  })
})
