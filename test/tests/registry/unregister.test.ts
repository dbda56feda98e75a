// Names go away: unregistered on any node (a remote holder's node does it), or because the
// registered process exited; either way every node stops resolving them.
import { describe, expect, it } from 'vitest'
import { encodeName } from '@swormjs/registry'
import { testCluster, waitUntil } from '../../src/index.js'
import { CONVERGE_MS, agreeOn, idle, recordEvents, startRegistries } from './helpers.js'

describe('unregister and exits', () => {
  it('unregisters a local name on every node', async () => {
    await using cluster = await testCluster(3)
    const regs = await startRegistries(cluster.nodes)
    const pid = idle(cluster.node(0))
    await regs[0]!.register('x', pid, undefined, { awaitReplication: true })
    expect(await regs[0]!.unregister('x')).toBe(true)
    expect(regs[0]!.whereis('x')).toBeUndefined()
    await waitUntil(
      () => regs.every((r) => r.whereis('x') === undefined),
      CONVERGE_MS,
      'every node to drop x',
    )
    // The process itself is not stopped by unregistering its name.
    expect(cluster.node(0).runtime.isAlive(pid)).toBe(true)
    expect(regs.map((r) => r.count())).toEqual([0, 0, 0])
  })

  it('unregisters a name held on another node through that node', async () => {
    await using cluster = await testCluster(3)
    const regs = await startRegistries(cluster.nodes)
    const pid = idle(cluster.node(2))
    await regs[2]!.register('remote', pid, undefined, { awaitReplication: true })
    const onOwner = recordEvents(regs[2]!)
    expect(await regs[0]!.unregister('remote')).toBe(true)
    // The owner wrote the removal before it answered: the caller sees it at once.
    expect(regs[0]!.whereis('remote')).toBeUndefined()
    expect(regs[2]!.whereis('remote')).toBeUndefined()
    expect(onOwner).toEqual([{ event: 'unregister', name: 'remote', pid, reason: 'unregister' }])
    await waitUntil(() => regs[1]!.whereis('remote') === undefined, CONVERGE_MS, 'n1 to drop it')
    expect(cluster.node(2).runtime.isAlive(pid)).toBe(true)

    // The name is free again, on any node.
    const next = idle(cluster.node(1))
    await regs[1]!.register('remote', next)
    await waitUntil(() => agreeOn(regs, 'remote'), CONVERGE_MS, 'the new holder everywhere')
    expect(regs[0]!.whereis('remote')).toBe(next)
  })

  it('resolves false for a name that is not registered', async () => {
    await using cluster = await testCluster(2)
    const [a, b] = await startRegistries(cluster.nodes)
    expect(await a!.unregister('nobody')).toBe(false)
    expect(await a!.unregister({ nobody: true })).toBe(false)
    const pid = idle(cluster.node(1))
    await b!.register('once', pid, undefined, { awaitReplication: true })
    expect(await a!.unregister('once')).toBe(true)
    expect(await a!.unregister('once')).toBe(false)
    expect(await b!.unregister('once')).toBe(false)
  })

  it('removes the names of a process that exits from every node, with reason exit', async () => {
    await using cluster = await testCluster(3)
    const regs = await startRegistries(cluster.nodes)
    const pid = idle(cluster.node(1))
    const keep = idle(cluster.node(1))
    await regs[1]!.register('a', pid, undefined, { awaitReplication: true })
    await regs[1]!.register('b', pid, undefined, { awaitReplication: true })
    await regs[1]!.register('keep', keep, undefined, { awaitReplication: true })
    const seen = regs.map(recordEvents)
    cluster.node(1).runtime.exit(pid, 'kill')
    await waitUntil(
      () => regs.every((r) => r.whereis('a') === undefined && r.whereis('b') === undefined),
      CONVERGE_MS,
      "every node to drop the exited process's names",
    )
    for (const [i, events] of seen.entries()) {
      expect(
        events.sort((x, y) => encodeName(x.name).localeCompare(encodeName(y.name))),
        `events on n${i}`,
      ).toEqual([
        { event: 'unregister', name: 'a', pid, reason: 'exit' },
        { event: 'unregister', name: 'b', pid, reason: 'exit' },
      ])
    }
    for (const reg of regs) expect(reg.whereis('keep')).toBe(keep)
    // A freed name can be taken again at once.
    const next = idle(cluster.node(0))
    await regs[0]!.register('a', next)
    expect(regs[0]!.whereis('a')).toBe(next)
  })
})
