// Failover: when a node dies, every child it ran is started again by the survivor its hash now
// picks, each exactly once, with a `moved` event; children of the survivors are left alone.
import { beforeEach, describe, expect, it } from 'vitest'
import { supervisorDefaults } from '@swormjs/supervisor'
import { pause, testCluster, waitUntil } from '../../src/index.js'
import {
  FAST,
  SETTLE_MS,
  childrenById,
  copiesOf,
  duplicated,
  eachRunsOnce,
  idsPlacedOn,
  liveCopies,
  recordEvents,
  resetCensus,
  startSupervisors,
  view,
  viewsAgree,
  worker,
} from './helpers.js'

beforeEach(resetCensus)

describe('failover', () => {
  it('runs the 200 children of a killed node on the survivors within 2 s, each once', async () => {
    await using cluster = await testCluster(3, FAST)
    const sups = await startSupervisors(cluster.nodes)
    const victim = cluster.node(2)
    const orphans = idsPlacedOn(sups[0]!, victim.id, 200, 'orphan')
    const stay = [
      ...idsPlacedOn(sups[0]!, cluster.node(0).id, 100, 'stay0'),
      ...idsPlacedOn(sups[0]!, cluster.node(1).id, 100, 'stay1'),
    ]
    const all = [...orphans, ...stay]
    await Promise.all(all.map((id, i) => sups[i % 3]!.startChild(worker(id))))
    await waitUntil(
      () => sups.every((s) => s.countChildren().active === 400),
      SETTLE_MS,
      'every node to see the 400 children',
    )
    expect(sups[0]!.countChildren().byNode[victim.id]).toBe(200)
    const before = childrenById(sups[0]!)
    const survivors = sups.slice(0, 2)
    const moved = survivors.map((s) => recordEvents(s, 'moved'))
    const lost = survivors.map((s) => recordEvents(s, 'lost'))
    // What each survivor reports as its adoption runs: its share still on its way.
    const adoptingSeen = survivors.map(() => 0)
    survivors.forEach((s, i) =>
      s.on('moved', () => (adoptingSeen[i] = Math.max(adoptingSeen[i]!, s.stats().adopting))),
    )

    const killedAt = performance.now()
    await victim.kill()
    await waitUntil(
      () =>
        survivors.every((s) => {
          const counts = s.countChildren()
          return counts.active === 400 && counts.byNode[victim.id] === undefined
        }) && eachRunsOnce(cluster.nodes, all),
      2000 - (performance.now() - killedAt),
      'the survivors to run every child',
    )
    expect(performance.now() - killedAt).toBeLessThan(2000)
    // Each survivor adopted a share, reported it while it ran, and reports none once done.
    for (const seen of adoptingSeen) expect(seen).toBeGreaterThan(1)
    for (const s of survivors) expect(s.stats().adopting).toBe(0)

    expect(duplicated(cluster.nodes)).toEqual([])
    expect(view(sups[0]!)).toEqual(view(sups[1]!))
    // Each orphan moved once, from the victim; the survivors' own children kept their pids.
    const movedIds = moved.flat().map(([id, , from]) => {
      expect(from).toBe(victim.id)
      return id
    })
    expect(movedIds.sort()).toEqual([...orphans].sort())
    expect(lost.flat()).toEqual([])
    const after = childrenById(sups[0]!)
    for (const id of stay) expect(after.get(id)!.pid).toBe(before.get(id)!.pid)
    for (const id of orphans) {
      const c = after.get(id)!
      expect(c.pid).not.toBe(before.get(id)!.pid)
      expect(liveCopies(cluster.nodes).get(id)).toEqual([c.pid])
    }
  })

  it('adopts again when the adopter dies in turn: the last node runs everything', async () => {
    await using cluster = await testCluster(3, FAST)
    const sups = await startSupervisors(cluster.nodes)
    const ids = Array.from({ length: 150 }, (_, i) => `chain-${i}`)
    await Promise.all(ids.map((id) => sups[0]!.startChild(worker(id))))
    await waitUntil(
      () => sups.every((s) => s.countChildren().active === 150),
      SETTLE_MS,
      'replication',
    )

    await cluster.node(2).kill()
    await waitUntil(
      () =>
        sups.slice(0, 2).every((s) => s.countChildren().active === 150) &&
        eachRunsOnce(cluster.nodes, ids),
      SETTLE_MS,
      'the first adoption',
    )
    await waitUntil(
      () => sups[1]!.countChildren().active === 150,
      SETTLE_MS,
      'node 1 to see the adoptions',
    )
    await cluster.node(1).kill()
    await waitUntil(
      () =>
        sups[0]!.countChildren().byNode[cluster.node(0).id] === 150 &&
        eachRunsOnce(cluster.nodes, ids),
      SETTLE_MS,
      'the last node to run every child',
    )
    expect(sups[0]!.countChildren()).toMatchObject({ active: 150 })
    expect(duplicated(cluster.nodes)).toEqual([])
  })

  it('does not bring back an adopted child that was terminated, when another node dies later', async () => {
    await using cluster = await testCluster(4, FAST)
    const sups = await startSupervisors(cluster.nodes)
    const ids = idsPlacedOn(sups[0]!, cluster.node(3).id, 20, 'once')
    await Promise.all(ids.map((id) => sups[0]!.startChild(worker(id))))
    await waitUntil(
      () => sups.every((s) => s.countChildren().active === 20),
      SETTLE_MS,
      'replication',
    )
    await cluster.node(3).kill()
    const survivors = sups.slice(0, 3)
    await waitUntil(
      () =>
        eachRunsOnce(cluster.nodes, ids) &&
        viewsAgree(survivors) &&
        survivors[0]!.countChildren().active === 20,
      SETTLE_MS,
      'adoption, seen by every survivor',
    )
    const [gone, ...kept] = ids
    expect(await sups[0]!.terminateChild(gone!)).toBe(true)
    await waitUntil(
      () => viewsAgree(survivors) && survivors[0]!.countChildren().active === 19,
      SETTLE_MS,
      'every node to see the termination',
    )
    // Another node dies: the first dead node's old record of the child must not revive it.
    await cluster.node(2).kill()
    await waitUntil(() => eachRunsOnce(cluster.nodes, kept), SETTLE_MS, 'the second adoption')
    await pause(200)
    expect(copiesOf(cluster.nodes, gone!)).toEqual([])
    expect(childrenById(sups[0]!).has(gone!)).toBe(false)
  })

  it('adopts every child of a killed node when a survivor gets more than it starts at once', async () => {
    await using cluster = await testCluster(2, FAST)
    const sups = await startSupervisors(cluster.nodes)
    const victim = cluster.node(1)
    // The one survivor adopts them all: more than twice what it starts at once.
    const count = supervisorDefaults.startsInFlight * 2 + 50
    const orphans = idsPlacedOn(sups[0]!, victim.id, count, 'many')
    await Promise.all(orphans.map((id) => sups[0]!.startChild(worker(id))))
    await waitUntil(
      () => sups[0]!.countChildren().active === count,
      SETTLE_MS,
      'the survivor to see the children',
    )
    const moved = recordEvents(sups[0]!, 'moved')
    const lost = recordEvents(sups[0]!, 'lost')

    await victim.kill()
    await waitUntil(
      () =>
        sups[0]!.countChildren().byNode[cluster.node(0).id] === count &&
        eachRunsOnce(cluster.nodes, orphans),
      SETTLE_MS,
      'the survivor to run every orphan',
    )
    expect(lost).toEqual([])
    expect(moved.map(([id]) => id).sort()).toEqual([...orphans].sort())
    expect(duplicated(cluster.nodes)).toEqual([])
  })
})
