// Graceful stop (`node.stop()`): the leaving node takes nothing new, stops each child (waiting
// for its `terminate`) and starts it on the node its hash picks among the others; temporary
// children are stopped, not moved.
import { beforeEach, describe, expect, it } from 'vitest'
import { nodeOf } from '@swormjs/actor'
import { ShuttingDown, supervisorDefaults } from '@swormjs/supervisor'
import { rejectionOf, testCluster, waitUntil } from '../../src/index.js'
import {
  FAST,
  SETTLE_MS,
  childrenById,
  copiesOf,
  eachRunsOnce,
  idsPlacedOn,
  recordEvents,
  resetCensus,
  startSupervisors,
  terminations,
  worker,
} from './helpers.js'

beforeEach(resetCensus)

describe('graceful stop', () => {
  it('runs a child with a 500 ms terminate elsewhere within 2 s of its node stopping', async () => {
    await using cluster = await testCluster(3, FAST)
    const sups = await startSupervisors(cluster.nodes)
    const leaving = cluster.node(2)
    const [slow] = idsPlacedOn(sups[0]!, leaving.id, 1, 'slow')
    const slowPid = await sups[0]!.startChild(worker(slow!, { terminateMs: 500, shutdownMs: 2000 }))
    expect(nodeOf(slowPid)).toBe(leaving.id)
    await waitUntil(() => sups.every((s) => childrenById(s).has(slow!)), SETTLE_MS, 'replication')
    const moved = sups.slice(0, 2).map((s) => recordEvents(s, 'moved'))

    const stoppedAt = performance.now()
    const stopping = leaving.stop()
    await waitUntil(
      () => {
        const copies = copiesOf(cluster.nodes, slow!)
        return copies.length === 1 && nodeOf(copies[0]!) !== leaving.id
      },
      2000 - (performance.now() - stoppedAt),
      'the slow child to run on another node',
    )
    const elapsed = performance.now() - stoppedAt
    expect(elapsed).toBeLessThan(2000)
    // It waited for the old copy's terminate: the move is a stop, then a start.
    expect(elapsed).toBeGreaterThanOrEqual(450)
    expect(terminations.filter((t) => t.id === slow)).toEqual([
      { id: slow, pid: slowPid, reason: 'shutdown' },
    ])
    await waitUntil(
      () => sups.slice(0, 2).every((s) => childrenById(s).get(slow!)?.node !== leaving.id),
      SETTLE_MS,
      'the survivors to see the child on its new node',
    )
    expect(moved.flat().map(([id, , from]) => [id, from])).toEqual([[slow, leaving.id]])
    await stopping
  })

  it('places nothing new on the leaving node while it stops', async () => {
    await using cluster = await testCluster(3, FAST)
    const sups = await startSupervisors(cluster.nodes)
    const leaving = cluster.node(2)
    // A child whose terminate keeps the node in its stop for a while.
    const [slow] = idsPlacedOn(sups[0]!, leaving.id, 1, 'hold')
    await sups[0]!.startChild(worker(slow!, { terminateMs: 800, shutdownMs: 2000 }))
    const wouldGoThere = idsPlacedOn(sups[0]!, leaving.id, 40, 'new')

    const stopping = leaving.stop()
    // On the leaving node itself: refused at once.
    expect(ShuttingDown.is(await rejectionOf(sups[2]!.startChild(worker('late'))))).toBe(true)
    // From the others, at once (before they may have heard): refused or placed elsewhere.
    const early = await Promise.allSettled(
      wouldGoThere.slice(0, 20).map((id) => sups[0]!.startChild(worker(id))),
    )
    for (const r of early) {
      if (r.status === 'fulfilled') expect(nodeOf(r.value)).not.toBe(leaving.id)
      else expect(ShuttingDown.is(r.reason)).toBe(true)
    }
    // Once they have heard, the same ids go to the others.
    await waitUntil(
      () => sups[1]!.find(wouldGoThere[25]!, 'Worker') !== leaving.id,
      SETTLE_MS,
      'node 1 to see node 2 leaving',
    )
    const later = await Promise.all(
      wouldGoThere.slice(20).map((id) => sups[1]!.startChild(worker(id))),
    )
    for (const pid of later) expect(nodeOf(pid)).not.toBe(leaving.id)
    await stopping
    // No child is left on the stopped node (it may still be listed, with none, until the
    // others have seen it go).
    for (const s of sups.slice(0, 2)) {
      expect(s.countChildren().byNode[leaving.id] ?? 0).toBe(0)
      expect(s.whichChildren().filter((c) => c.node === leaving.id)).toEqual([])
    }
    expect(eachRunsOnce(cluster.nodes, [slow!, ...wouldGoThere.slice(20)])).toBe(true)
  })

  it('moves every child of a stopping node and stops its temporary ones', async () => {
    await using cluster = await testCluster(3, FAST)
    const sups = await startSupervisors(cluster.nodes)
    const leaving = cluster.node(2)
    const ids = idsPlacedOn(sups[0]!, leaving.id, 60, 'mv')
    const temporary = idsPlacedOn(sups[0]!, leaving.id, 65, 'mv').slice(60)
    await Promise.all(ids.map((id) => sups[0]!.startChild(worker(id))))
    await Promise.all(
      temporary.map((id) => sups[0]!.startChild(worker(id, { restart: 'temporary' }))),
    )
    const lost = sups.map((s) => recordEvents(s, 'lost'))

    await leaving.stop()
    await waitUntil(
      () =>
        sups.slice(0, 2).every((s) => s.countChildren().active === 60) &&
        eachRunsOnce(cluster.nodes, ids),
      SETTLE_MS,
      'the others to run every moved child',
    )
    for (const id of temporary) expect(copiesOf(cluster.nodes, id)).toEqual([])
    expect(lost.flat()).toEqual([])
    for (const id of ids) expect(nodeOf(copiesOf(cluster.nodes, id)[0]!)).not.toBe(leaving.id)
  })

  it('moves every child of a stopping node when it has more than it moves at once, each once', async () => {
    await using cluster = await testCluster(3, FAST)
    const sups = await startSupervisors(cluster.nodes)
    const leaving = cluster.node(2)
    // More than twice what a node moves at once: the later ones wait for a free lane.
    const count = supervisorDefaults.startsInFlight * 2 + 50
    const ids = idsPlacedOn(sups[0]!, leaving.id, count, 'many')
    await Promise.all(ids.map((id) => sups[0]!.startChild(worker(id))))
    await waitUntil(
      () => sups.every((s) => s.countChildren().active === count),
      SETTLE_MS,
      'every node to see the children',
    )
    const moved = sups.slice(0, 2).map((s) => recordEvents(s, 'moved'))
    const lost = sups.map((s) => recordEvents(s, 'lost'))

    await leaving.stop()
    await waitUntil(
      () =>
        sups.slice(0, 2).every((s) => s.countChildren().active === count) &&
        eachRunsOnce(cluster.nodes, ids),
      SETTLE_MS,
      'the others to run every moved child',
    )
    expect(lost.flat()).toEqual([])
    expect(
      moved
        .flat()
        .map(([id]) => id)
        .sort(),
    ).toEqual([...ids].sort())
    for (const id of ids) expect(nodeOf(copiesOf(cluster.nodes, id)[0]!)).not.toBe(leaving.id)
  })
})
