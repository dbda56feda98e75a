// Restart policies: `permanent` children always come back, `transient` ones only after a crash,
// `temporary` ones never; and only children that still run are adopted when their node dies.
import { beforeEach, describe, expect, it } from 'vitest'
import { nodeOf } from '@swormjs/actor'
import { pause, testCluster, waitUntil } from '../../src/index.js'
import {
  FAST,
  SETTLE_MS,
  childrenById,
  copiesOf,
  idsPlacedOn,
  recordEvents,
  resetCensus,
  startSupervisors,
  worker,
} from './helpers.js'

beforeEach(resetCensus)

describe('restart policies', () => {
  it('does not restart a temporary child that is killed, and forgets it', async () => {
    await using cluster = await testCluster(2)
    const sups = await startSupervisors(cluster.nodes)
    const pid = await sups[0]!.startChild(worker('tmp', { restart: 'temporary' }))
    const owner = sups.find((s) => s.node.id === nodeOf(pid))!
    const restarted = recordEvents(owner, 'restarted')
    await waitUntil(() => sups.every((s) => childrenById(s).has('tmp')), SETTLE_MS, 'replication')

    owner.node.runtime.exit(pid, 'kill')
    await waitUntil(
      () => sups.every((s) => !childrenById(s).has('tmp')),
      SETTLE_MS,
      'every node to forget the temporary child',
    )
    await pause(200)
    expect(restarted).toEqual([])
    expect(copiesOf(cluster.nodes, 'tmp')).toEqual([])
    expect(sups.map((s) => s.countChildren().active)).toEqual([0, 0])
  })

  it('forgets a transient child that ends normally, and restarts one that crashes', async () => {
    await using cluster = await testCluster(2)
    const sups = await startSupervisors(cluster.nodes)
    const ends = await sups[0]!.startChild(worker('ends', { restart: 'transient' }))
    const crashes = await sups[0]!.startChild(worker('crashes', { restart: 'transient' }))
    const restarted = sups.map((s) => recordEvents(s, 'restarted'))

    expect(await sups[0]!.node.runtime.call(ends, 'stop')).toBe('stopping')
    await expect(sups[0]!.node.runtime.call(crashes, 'crash')).rejects.toThrow()
    await waitUntil(
      () =>
        sups.every((s) => !childrenById(s).has('ends')) &&
        sups.every((s) => {
          const c = childrenById(s).get('crashes')
          return c !== undefined && c.pid !== crashes
        }),
      SETTLE_MS,
      'the normal end forgotten and the crash restarted',
    )
    await pause(200)
    expect(copiesOf(cluster.nodes, 'ends')).toEqual([])
    expect(copiesOf(cluster.nodes, 'crashes')).toHaveLength(1)
    expect(restarted.flat().map(([id]) => id)).toEqual(['crashes'])
  })

  it('restarts a permanent child even when it ends normally', async () => {
    await using cluster = await testCluster(2)
    const sups = await startSupervisors(cluster.nodes)
    const pid = await sups[0]!.startChild(worker('perm'))
    const owner = sups.find((s) => s.node.id === nodeOf(pid))!
    const restarted = recordEvents(owner, 'restarted')

    await sups[1]!.node.runtime.call(pid, 'stop')
    await waitUntil(() => restarted.length === 1, SETTLE_MS, 'the restart')
    expect(restarted[0]![2]).toBe('normal')
    expect(copiesOf(cluster.nodes, 'perm')).toEqual([restarted[0]![1]])
  })

  it('adopts the permanent and transient children of a dead node, not the temporary ones', async () => {
    await using cluster = await testCluster(3, FAST)
    const sups = await startSupervisors(cluster.nodes)
    const victim = cluster.node(2)
    const [perm, trans, temp, ended] = idsPlacedOn(sups[0]!, victim.id, 4, 'policy')
    await sups[0]!.startChild(worker(perm!))
    await sups[0]!.startChild(worker(trans!, { restart: 'transient' }))
    await sups[0]!.startChild(worker(temp!, { restart: 'temporary' }))
    const endedPid = await sups[0]!.startChild(worker(ended!, { restart: 'transient' }))
    // The transient child that ended normally is gone before its node dies.
    await victim.runtime.call(endedPid, 'stop')
    await waitUntil(
      () =>
        sups.every((s) => {
          const c = childrenById(s)
          return c.has(perm!) && c.has(trans!) && c.has(temp!) && !c.has(ended!)
        }),
      SETTLE_MS,
      'every node to see the children of the victim',
    )
    const moved = [recordEvents(sups[0]!, 'moved'), recordEvents(sups[1]!, 'moved')]

    await victim.kill()
    const survivors = sups.slice(0, 2)
    await waitUntil(
      () =>
        survivors.every((s) => {
          const c = childrenById(s)
          return c.get(perm!)?.node !== victim.id && c.has(perm!) && c.has(trans!)
        }),
      SETTLE_MS,
      'the survivors to adopt the permanent and transient children',
    )
    await pause(200)
    for (const s of survivors) {
      expect(childrenById(s).has(temp!)).toBe(false)
      expect(childrenById(s).has(ended!)).toBe(false)
    }
    expect(copiesOf(cluster.nodes, perm!)).toHaveLength(1)
    expect(copiesOf(cluster.nodes, trans!)).toHaveLength(1)
    expect(copiesOf(cluster.nodes, temp!)).toEqual([])
    expect(copiesOf(cluster.nodes, ended!)).toEqual([])
    expect(
      moved
        .flat()
        .map(([id, , from]) => [id, from])
        .sort(),
    ).toEqual(
      [
        [perm, victim.id],
        [trans, victim.id],
      ].sort(),
    )
  })
})
