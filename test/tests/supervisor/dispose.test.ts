// A supervisor is AsyncDisposable: `await using sup = await DistributedSupervisor.start(...)`
// stops this node's part at the end of the scope, as `stop()` does (its children stop, its doc goes).
import { beforeEach, describe, expect, it } from 'vitest'
import { DistributedSupervisor, ShuttingDown } from '@swormjs/supervisor'
import { rejectionOf, testCluster, waitUntil } from '../../src/index.js'
import {
  ACTORS,
  SETTLE_MS,
  childrenById,
  copiesOf,
  idsPlacedOn,
  resetCensus,
  terminations,
  worker,
} from './helpers.js'

beforeEach(resetCensus)

describe('await using', () => {
  it('stops this node’s part of the supervisor at the end of the scope', async () => {
    await using cluster = await testCluster(2)
    const a = cluster.node(0)
    const b = cluster.node(1)
    await using other = await DistributedSupervisor.start(b, 's', { actors: ACTORS })
    let disposed: DistributedSupervisor
    let ids: string[]
    {
      await using sup = await DistributedSupervisor.start(a, 's', { actors: ACTORS })
      disposed = sup
      await waitUntil(() => other.stats().members === 2, SETTLE_MS, 'both members')
      ids = idsPlacedOn(other, a.id, 3, 'scoped')
      for (const id of ids) await other.startChild(worker(id))
      await waitUntil(
        () => ids.every((id) => childrenById(other).has(id)),
        SETTLE_MS,
        'replication',
      )
      for (const id of ids) expect(copiesOf(cluster.nodes, id)).toHaveLength(1)
    }
    // Its children stopped with it (a stop does not move them), and it takes no more.
    for (const id of ids) expect(copiesOf(cluster.nodes, id)).toEqual([])
    expect(terminations.map((t) => t.reason)).toEqual(['shutdown', 'shutdown', 'shutdown'])
    expect(a.runtime.whereis('sworm.supervisor.s')).toBeUndefined()
    expect(ShuttingDown.is(await rejectionOf(disposed.startChild(worker('late'))))).toBe(true)
    // The other member sees it gone, with its children, and places new ones on itself.
    await waitUntil(
      () => other.stats().members === 1 && other.countChildren().active === 0,
      SETTLE_MS,
      'the other member to see the supervisor stop',
    )
    const pid = await other.startChild(worker(ids[0]!))
    expect(copiesOf(cluster.nodes, ids[0]!)).toEqual([pid])
  })
})
