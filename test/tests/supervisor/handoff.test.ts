// The hand-off hooks the sworm layer builds on: before a child moves away (a graceful leave or
// an active redistribution), its node may take its state (bounded by handoffTimeoutMs), and the
// child started next gets that state once, in its start input (`init(args, { handoff })`).
import { beforeEach, describe, expect, it } from 'vitest'
import { nodeOf, type Pid } from '@sworm/actor'
import type { DistributedSupervisor } from '@sworm/supervisor'
import { testCluster, waitUntil } from '../../src/index.js'
import { FAST, SETTLE_MS, idsPlacedOn, resetCensus, startSupervisors, worker } from './helpers.js'

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
})
