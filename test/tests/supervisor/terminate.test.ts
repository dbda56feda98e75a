// Terminating children: `terminateChild` (and its alias `deleteChild`) stops a child wherever it
// runs, asked from any node; it is not restarted and every node forgets it.
import { beforeEach, describe, expect, it } from 'vitest'
import { nodeOf } from '@swormjs/actor'
import { pause, testCluster, waitUntil } from '../../src/index.js'
import {
  SETTLE_MS,
  childrenById,
  copiesOf,
  idsPlacedOn,
  recordEvents,
  resetCensus,
  startSupervisors,
  terminations,
  worker,
} from './helpers.js'

beforeEach(resetCensus)

describe('terminateChild', () => {
  it('stops a child on another node for good, and every node forgets it', async () => {
    await using cluster = await testCluster(3)
    const sups = await startSupervisors(cluster.nodes)
    const [id] = idsPlacedOn(sups[0]!, cluster.node(2).id, 1, 'term')
    const pid = await sups[0]!.startChild(worker(id!))
    await waitUntil(() => childrenById(sups[1]!).has(id!), SETTLE_MS, 'replication')
    const restarted = sups.map((s) => recordEvents(s, 'restarted'))

    expect(await sups[1]!.terminateChild(id!)).toBe(true)
    expect(copiesOf(cluster.nodes, id!)).toEqual([])
    expect(terminations).toEqual([{ id, pid, reason: 'shutdown' }])
    await waitUntil(
      () => sups.every((s) => !childrenById(s).has(id!)),
      SETTLE_MS,
      'every node to forget it',
    )
    await pause(200)
    expect(restarted.flat()).toEqual([])
    expect(copiesOf(cluster.nodes, id!)).toEqual([])
    // The id is free again.
    const again = await sups[0]!.startChild(worker(id!))
    expect(nodeOf(again)).toBe(cluster.node(2).id)
  })

  it('answers false for a child that does not run', async () => {
    await using cluster = await testCluster(2)
    const sups = await startSupervisors(cluster.nodes)
    expect(await sups[0]!.terminateChild('never-started')).toBe(false)
    expect(await sups[1]!.deleteChild('never-started')).toBe(false)
  })

  it('deletes a child with deleteChild', async () => {
    await using cluster = await testCluster(2)
    const sups = await startSupervisors(cluster.nodes)
    await sups[0]!.startChild(worker('del'))
    expect(await sups[0]!.deleteChild('del')).toBe(true)
    await waitUntil(
      () => sups.every((s) => s.countChildren().active === 0),
      SETTLE_MS,
      'every node to forget it',
    )
    expect(copiesOf(cluster.nodes, 'del')).toEqual([])
  })
})
