// The hand-off hooks the sworm layer builds on: before a child moves away (a graceful leave or
// an active redistribution), its node may take its state (bounded by handoffTimeoutMs), and the
// child started next gets that state once, in its start input (`init(args, { handoff })`); a
// child moved onto a node that runs it already gives its state to that node, for the running one.
import { beforeEach, describe, expect, it } from 'vitest'
import { nodeOf, type Pid } from '@swormjs/actor'
import type { DistributedSupervisor } from '@swormjs/supervisor'
import { proxiedCluster, testCluster, waitUntil } from '../../src/index.js'
import {
  FAST,
  SETTLE_MS,
  copiesOf,
  idsPlacedOn,
  resetCensus,
  startSupervisors,
  worker,
} from './helpers.js'

beforeEach(resetCensus)

describe('hand-off hooks', () => {
  it('carries the state taken before a graceful leave to the child’s next node, once', async () => {
    await using cluster = await testCluster(3, FAST)
    const asked: Array<[string, Pid]> = []
    const sups = await startSupervisors(cluster.nodes, {
      hooks: {
        beforeMove: async (id, pid) => {
          asked.push([id, pid])
          return { counter: 4, from: id }
        },
      },
    })
    const leaving = cluster.node(2)
    const [id] = idsPlacedOn(sups[0]!, leaving.id, 1, 'handoff')
    const pid = await sups[0]!.startChild(worker(id!))
    expect(nodeOf(pid)).toBe(leaving.id)
    await waitUntil(
      () => sups.every((s) => s.whichChildren().some((c) => c.id === id)),
      SETTLE_MS,
      'replication',
    )

    await leaving.stop()
    let next: DistributedSupervisor | undefined
    await waitUntil(
      () => {
        const c = sups[0]!.whichChildren().find((x) => x.id === id)
        next = sups.slice(0, 2).find((s) => c !== undefined && s.node.id === c.node)
        return next !== undefined
      },
      SETTLE_MS,
      'the child to run on another node',
    )
    expect(asked).toEqual([[id, pid]])
    const moved = next!.whichChildren().find((c) => c.id === id)!.pid
    expect(await next!.node.runtime.call(moved, 'handoff')).toEqual({
      state: { counter: 4, from: id },
    })
    // Once: a restart of the moved child starts without it.
    await next!.node.runtime.call(moved, 'crash').catch(() => undefined)
    let restarted: Pid | undefined
    await waitUntil(
      () => {
        restarted = next!.whichChildren().find((c) => c.id === id && c.pid !== moved)?.pid
        return restarted !== undefined
      },
      SETTLE_MS,
      'the crashed child to restart',
    )
    expect(await next!.node.runtime.call(restarted!, 'handoff')).toEqual({ state: undefined })
  })

  it('moves a child without state when beforeMove takes longer than handoffTimeoutMs', async () => {
    await using cluster = await testCluster(3, FAST)
    const sups = await startSupervisors(cluster.nodes, {
      handoffTimeoutMs: 100,
      hooks: { beforeMove: () => new Promise(() => undefined) },
    })
    const leaving = cluster.node(2)
    const [id] = idsPlacedOn(sups[0]!, leaving.id, 1, 'slowhandoff')
    await sups[0]!.startChild(worker(id!))
    await waitUntil(
      () => sups.every((s) => s.whichChildren().some((c) => c.id === id)),
      SETTLE_MS,
      'replication',
    )
    await leaving.stop()
    await waitUntil(
      () => sups[0]!.whichChildren().some((c) => c.id === id && c.node !== leaving.id),
      SETTLE_MS,
      'the child to run on another node',
    )
    const node = sups[0]!.whichChildren().find((c) => c.id === id)!.node
    const moved = sups[0]!.whichChildren().find((c) => c.id === id)!.pid
    expect(await sups[0]!.node.runtime.call(moved, 'handoff')).toEqual({ state: undefined })
    expect(nodeOf(moved)).toBe(node)
  })

  it('hands the state of a child moved onto a node that runs it already to that node', async () => {
    await using cluster = await proxiedCluster(2, FAST)
    const first = cluster.node(0).id
    const received: Array<[string, Pid, unknown]> = []
    const sups = await startSupervisors(cluster.nodes, (i) => ({
      duplicates: 'keep',
      redistribution: 'active',
      // Every child belongs on node 0 while node 0 is up.
      distribution: (_id, members) => (members.includes(first) ? first : members[0]),
      hooks: {
        beforeMove: async (id) => ({ from: i, id }),
        movedOntoRunning: (id, pid, handoff) => received.push([id, pid, handoff]),
      },
    }))
    // Each side starts `x` during a split; the join moves node 1's copy onto node 0's.
    await cluster.split([1])
    const kept = await sups[0]!.startChild(worker('x'))
    const moved = await sups[1]!.startChild(worker('x'))
    expect(copiesOf(cluster.nodes, 'x').sort()).toEqual([kept, moved].sort())
    await cluster.heal()
    await waitUntil(() => received.length > 0, SETTLE_MS, 'the moved copy to reach node 0')
    expect(received).toEqual([['x', kept, { from: 1, id: 'x' }]])
    await waitUntil(
      () => copiesOf(cluster.nodes, 'x').length === 1,
      SETTLE_MS,
      'the moved copy to stop',
    )
    expect(copiesOf(cluster.nodes, 'x')).toEqual([kept])
  })
})
