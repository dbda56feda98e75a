// Duplicates after a healed split (hash distribution): each side runs what it started or adopted;
// after the heal each id runs once, the earliest start is kept, and the other copy stops with
// reason `{ shutdown: 'duplicate' }`.
import { beforeEach, describe, expect, it } from 'vitest'
import { nodeOf, type Pid } from '@swormjs/actor'
import { pastMillisecond, proxiedCluster, waitUntil } from '../../src/index.js'
import {
  FAST,
  SETTLE_MS,
  copiesOf,
  eachRunsOnce,
  liveCopies,
  resetCensus,
  startSupervisors,
  terminations,
  viewsAgree,
  worker,
} from './helpers.js'

beforeEach(resetCensus)

describe('duplicates after a split', () => {
  it('keeps the earliest start of an id started on both sides of a split', async () => {
    await using cluster = await proxiedCluster(2, FAST)
    const sups = await startSupervisors(cluster.nodes)
    await cluster.split([1])
    const a = Array.from({ length: 20 }, (_, i) => `a-${i}`) // n0 first
    const b = Array.from({ length: 20 }, (_, i) => `b-${i}`) // n1 first
    const first = new Map<string, Pid>()
    const later = new Map<string, Pid>()
    for (const id of a) first.set(id, await sups[0]!.startChild(worker(id)))
    for (const id of b) first.set(id, await sups[1]!.startChild(worker(id)))
    await pastMillisecond()
    for (const id of a) later.set(id, await sups[1]!.startChild(worker(id)))
    for (const id of b) later.set(id, await sups[0]!.startChild(worker(id)))
    // Each side runs its own copy meanwhile.
    for (const id of [...a, ...b]) expect(copiesOf(cluster.nodes, id)).toHaveLength(2)

    await cluster.heal()
    const ids = [...a, ...b]
    await waitUntil(
      () => eachRunsOnce(cluster.nodes, ids) && viewsAgree(sups),
      SETTLE_MS,
      'one copy of each id, seen alike',
    )
    const live = liveCopies(cluster.nodes)
    for (const id of ids) expect(live.get(id)).toEqual([first.get(id)])
    // Both nodes report the winners.
    for (const s of sups) {
      for (const c of s.whichChildren()) expect(c.pid).toBe(first.get(c.id))
    }
    // Each loser ran its terminate with the duplicate reason.
    for (const id of ids) {
      expect(terminations.filter((t) => t.id === id)).toEqual([
        { id, pid: later.get(id), reason: { shutdown: 'duplicate' } },
      ])
    }
  })

  it('keeps the original of a child both sides ran during a split (adopted copies stop)', async () => {
    await using cluster = await proxiedCluster(3, FAST)
    const sups = await startSupervisors(cluster.nodes)
    const ids = Array.from({ length: 60 }, (_, i) => `orig-${i}`)
    const original = new Map<string, Pid>()
    for (const [i, id] of ids.entries()) original.set(id, await sups[i % 3]!.startChild(worker(id)))
    await waitUntil(
      () => viewsAgree(sups) && sups[2]!.countChildren().active === 60,
      SETTLE_MS,
      'replication',
    )

    // Each side takes the other's children for dead: during the split, every id runs on both.
    await cluster.split([2])
    await waitUntil(
      () => ids.every((id) => copiesOf(cluster.nodes, id).length === 2),
      SETTLE_MS,
      'both sides to run every child',
    )
    await cluster.heal()
    await waitUntil(
      () => eachRunsOnce(cluster.nodes, ids) && viewsAgree(sups),
      SETTLE_MS,
      'one copy of each id after the heal',
    )
    const live = liveCopies(cluster.nodes)
    for (const id of ids) expect(live.get(id)).toEqual([original.get(id)])
    const losers = terminations.filter((t) => ids.includes(t.id))
    expect(losers).toHaveLength(60)
    for (const t of losers) {
      expect(t.reason).toEqual({ shutdown: 'duplicate' })
      expect(t.pid).not.toBe(original.get(t.id))
      // The adopted copy ran on the other side of the split from the original.
      expect(nodeOf(t.pid) === cluster.node(2).id).toBe(
        nodeOf(original.get(t.id)!) !== cluster.node(2).id,
      )
    }
  })
})
