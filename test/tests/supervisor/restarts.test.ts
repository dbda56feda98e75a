// Restarts: a child that is killed or crashes comes back on its node with a new pid (and a
// `restarted` event); past `maxRestarts` in `maxSeconds` it is given up (`lost`) while the
// supervisor keeps running its other children and taking new ones.
import { beforeEach, describe, expect, it } from 'vitest'
import { nodeOf, type Pid } from '@swormjs/actor'
import type { DistributedSupervisor } from '@swormjs/supervisor'
import { testCluster, waitUntil } from '../../src/index.js'
import {
  SETTLE_MS,
  childrenById,
  copiesOf,
  recordEvents,
  resetCensus,
  startSupervisors,
  viewsAgree,
  worker,
} from './helpers.js'

beforeEach(resetCensus)

/** The supervisor of the node that runs `pid`. */
function ownerOf(sups: readonly DistributedSupervisor[], pid: Pid): DistributedSupervisor {
  return sups.find((s) => s.node.id === nodeOf(pid))!
}

/** Waits until every node reports `id` with a pid other than `old`, and returns it. */
async function newPidOf(
  sups: readonly DistributedSupervisor[],
  id: string,
  old: Pid,
): Promise<Pid> {
  await waitUntil(
    () =>
      viewsAgree(sups) &&
      childrenById(sups[0]!).get(id) !== undefined &&
      childrenById(sups[0]!).get(id)!.pid !== old,
    SETTLE_MS,
    `every node to see ${id} restarted`,
  )
  return childrenById(sups[0]!).get(id)!.pid
}

describe('restarts', () => {
  it('restarts a killed child on its node with a new pid', async () => {
    await using cluster = await testCluster(3)
    const sups = await startSupervisors(cluster.nodes)
    const pid = await sups[0]!.startChild(worker('k'))
    const owner = ownerOf(sups, pid)
    const restarted = recordEvents(owner, 'restarted')

    owner.node.runtime.exit(pid, 'kill')
    const next = await newPidOf(sups, 'k', pid)
    expect(nodeOf(next)).toBe(owner.node.id)
    expect(owner.node.runtime.isAlive(next)).toBe(true)
    expect(copiesOf(cluster.nodes, 'k')).toEqual([next])
    expect(restarted).toEqual([['k', next, 'killed']])
    // The new process answers.
    expect(await sups[1]!.node.runtime.call(next, 'whoami')).toEqual({
      id: 'k',
      node: owner.node.id,
    })
  })

  it('restarts a child that crashes on a call', async () => {
    await using cluster = await testCluster(3)
    const sups = await startSupervisors(cluster.nodes)
    const pid = await sups[0]!.startChild(worker('c'))
    const owner = ownerOf(sups, pid)
    const restarted = recordEvents(owner, 'restarted')

    // The caller's call fails; the child crashes with the error and comes back.
    await expect(sups[1]!.node.runtime.call(pid, 'crash')).rejects.toThrow()
    const next = await newPidOf(sups, 'c', pid)
    expect(copiesOf(cluster.nodes, 'c')).toEqual([next])
    expect(restarted).toHaveLength(1)
    expect(restarted[0]![1]).toBe(next)
    expect(restarted[0]![2]).toBeInstanceOf(Error)
    expect((restarted[0]![2] as Error).message).toBe('crash on request')
  })

  it('gives a child up after maxRestarts in maxSeconds and keeps running the others', async () => {
    await using cluster = await testCluster(3)
    const sups = await startSupervisors(cluster.nodes, { maxRestarts: 2, maxSeconds: 5 })
    const others = await Promise.all(
      Array.from({ length: 30 }, (_, i) => sups[i % 3]!.startChild(worker(`other-${i}`))),
    )
    let pid = await sups[0]!.startChild(worker('flaky'))
    const owner = ownerOf(sups, pid)
    const restarted = recordEvents(owner, 'restarted')
    const lost = recordEvents(owner, 'lost')

    // Two restarts are allowed…
    for (let i = 0; i < 2; i++) {
      owner.node.runtime.exit(pid, 'kill')
      pid = await newPidOf(sups, 'flaky', pid)
    }
    expect(restarted).toHaveLength(2)
    expect(lost).toEqual([])
    // …the third exit within the window is one too many.
    owner.node.runtime.exit(pid, 'kill')
    await waitUntil(() => lost.length > 0, SETTLE_MS, 'the child to be given up')
    expect(lost).toEqual([['flaky', 'max_restarts']])
    await waitUntil(
      () => sups.every((s) => !childrenById(s).has('flaky')),
      SETTLE_MS,
      'every node to forget the child',
    )
    expect(copiesOf(cluster.nodes, 'flaky')).toEqual([])
    expect(restarted).toHaveLength(2)

    // The other children still run with their pids, and the supervisor takes new ones.
    for (const [i, p] of others.entries()) {
      expect(childrenById(sups[1]!).get(`other-${i}`)?.pid).toBe(p)
      expect(copiesOf(cluster.nodes, `other-${i}`)).toEqual([p])
    }
    const again = await sups[1]!.startChild(worker('flaky'))
    expect(copiesOf(cluster.nodes, 'flaky')).toEqual([again])
  })

  it('counts restarts per child: one flaky child does not use up the others’ budget', async () => {
    await using cluster = await testCluster(2)
    const sups = await startSupervisors(cluster.nodes, { maxRestarts: 1, maxSeconds: 5 })
    let a = await sups[0]!.startChild(worker('a'))
    let b = await sups[0]!.startChild(worker('b'))
    const ownerA = ownerOf(sups, a)
    const ownerB = ownerOf(sups, b)
    ownerA.node.runtime.exit(a, 'kill')
    a = await newPidOf(sups, 'a', a)
    ownerB.node.runtime.exit(b, 'kill')
    b = await newPidOf(sups, 'b', b)
    expect(copiesOf(cluster.nodes, 'a')).toEqual([a])
    expect(copiesOf(cluster.nodes, 'b')).toEqual([b])
  })
})
