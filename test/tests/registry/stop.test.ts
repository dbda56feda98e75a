// Stopping: a registry stopped on one node takes its names and memberships away from the others
// and refuses further calls; a node that leaves takes its names along too.
import { describe, expect, it } from 'vitest'
import { Registry, RegistryStopped } from '@swormjs/registry'
import { rejectionOf, testCluster, waitUntil } from '../../src/index.js'
import { CONVERGE_MS, FAST, idle, recordEvents, startRegistries, thrownBy } from './helpers.js'

describe('stopping', () => {
  it("removes a stopped registry's names and members on the other nodes", async () => {
    await using cluster = await testCluster(3)
    const regs = await startRegistries(cluster.nodes)
    const p1 = idle(cluster.node(1))
    const p0 = idle(cluster.node(0))
    await regs[1]!.register('on-1', p1)
    await regs[1]!.join('g', p1)
    await regs[0]!.register('on-0', p0)
    await regs[0]!.join('g', p0)
    await waitUntil(
      () => regs.every((r) => r.count() === 2 && r.members('g').length === 2),
      CONVERGE_MS,
      'replication',
    )
    const seen = recordEvents(regs[2]!)
    await regs[1]!.stop()
    await waitUntil(
      () => [regs[0]!, regs[2]!].every((r) => r.whereis('on-1') === undefined),
      CONVERGE_MS,
      "the stopped registry's names to go",
    )
    for (const reg of [regs[0]!, regs[2]!]) {
      expect(reg.registered()).toEqual([['on-0', p0]])
      expect(reg.members('g')).toEqual([p0])
      expect(reg.stats().nodes).toBe(2)
    }
    expect(seen).toEqual([{ event: 'unregister', name: 'on-1', pid: p1, reason: 'unregister' }])
    // The process itself keeps running; only its registration went.
    expect(cluster.node(1).runtime.isAlive(p1)).toBe(true)
    // The name is free for the others.
    const next = idle(cluster.node(2))
    await regs[2]!.register('on-1', next)
    await waitUntil(() => regs[0]!.whereis('on-1') === next, CONVERGE_MS, 'the new holder')
  })

  it('rejects calls after stop with RegistryStopped', async () => {
    await using cluster = await testCluster(2)
    const [a, b] = await startRegistries(cluster.nodes)
    const pid = idle(cluster.node(0))
    await a!.register('x', pid, undefined, { awaitReplication: true })
    await a!.stop()
    await a!.stop()
    const calls: Array<[string, Promise<unknown>]> = [
      ['register', a!.register('y', idle(cluster.node(0)))],
      ['unregister', a!.unregister('x')],
      ['join', a!.join('g', pid)],
      ['leave', a!.leave('g', pid)],
    ]
    for (const [what, call] of calls) {
      const e = await rejectionOf(call)
      expect(RegistryStopped.is(e), `${what}: ${String(e)}`).toBe(true)
    }
    expect(RegistryStopped.is(thrownBy(() => a!.updateMeta('x', 1)))).toBe(true)
    expect(a!.whereis('x')).toBeUndefined()
    await waitUntil(() => b!.whereis('x') === undefined, CONVERGE_MS, 'x to go on n1')
    // A stopped registry is not asked for anything by the others.
    const q = idle(cluster.node(1))
    await b!.register('z', q, undefined, { awaitReplication: true })
    expect(b!.whereis('z')).toBe(q)
  })

  it('stops a registry at the end of its `await using` block', async () => {
    await using cluster = await testCluster(2)
    await using b = await Registry.start(cluster.node(1), 'r')
    const pid = idle(cluster.node(0))
    let disposed: Registry | undefined
    {
      await using a = await Registry.start(cluster.node(0), 'r')
      disposed = a
      await waitUntil(
        () => a.stats().nodes === 2 && b.stats().nodes === 2,
        CONVERGE_MS,
        'the registries to see each other',
      )
      await a.register('scoped', pid, undefined, { awaitReplication: true })
      expect(b.whereis('scoped')).toBe(pid)
    }
    await waitUntil(
      () => b.whereis('scoped') === undefined,
      CONVERGE_MS,
      "the disposed registry's name to go",
    )
    expect(b.stats().nodes).toBe(1)
    expect(RegistryStopped.is(thrownBy(() => disposed.updateMeta('scoped', 1)))).toBe(true)
    // The process keeps running; only its registration went.
    expect(cluster.node(0).runtime.isAlive(pid)).toBe(true)
  })

  it('drops the names of a node that leaves gracefully', async () => {
    await using cluster = await testCluster(3, FAST)
    const regs = await startRegistries(cluster.nodes)
    const pid = idle(cluster.node(2))
    await regs[2]!.register('leaver', pid, undefined, { awaitReplication: true })
    await regs[2]!.join('g', pid)
    await waitUntil(() => regs[0]!.members('g').length === 1, CONVERGE_MS, 'the member')
    await cluster.node(2).stop()
    await waitUntil(
      () =>
        regs
          .slice(0, 2)
          .every((r) => r.whereis('leaver') === undefined && r.members('g').length === 0),
      CONVERGE_MS,
      "the leaving node's names to go",
    )
    expect(regs[0]!.count()).toBe(0)
  })
})
