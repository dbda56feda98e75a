// A name's meta: given at register, replaced by updateMeta on the holder's node only, and read
// on every node.
import { describe, expect, it } from 'vitest'
import { BadArgument } from '@swormjs/actor'
import { NotOwner } from '@swormjs/registry'
import { testCluster, waitUntil } from '../../src/index.js'
import { CONVERGE_MS, idle, startRegistries, thrownBy } from './helpers.js'

describe('meta', () => {
  it('replicates the meta given at register', async () => {
    await using cluster = await testCluster(3)
    const regs = await startRegistries(cluster.nodes)
    const pid = idle(cluster.node(0))
    await regs[0]!.register('room', pid, { topic: 'tea', seats: [1, 2] })
    const bare = idle(cluster.node(0))
    await regs[0]!.register('bare', bare, undefined, { awaitReplication: true })
    for (const reg of regs) {
      expect(reg.meta('room')).toEqual({ topic: 'tea', seats: [1, 2] })
      expect(reg.meta('bare')).toBeUndefined()
      expect(reg.meta('absent')).toBeUndefined()
    }
  })

  it('replicates updateMeta from the holder node', async () => {
    await using cluster = await testCluster(3)
    const regs = await startRegistries(cluster.nodes)
    const pid = idle(cluster.node(1))
    await regs[1]!.register('room', pid, { v: 1 }, { awaitReplication: true })
    regs[1]!.updateMeta('room', { v: 2 })
    expect(regs[1]!.meta('room')).toEqual({ v: 2 })
    await waitUntil(
      () => regs.every((r) => (r.meta('room') as { v?: number } | undefined)?.v === 2),
      CONVERGE_MS,
      'every node to see v 2',
    )
    regs[1]!.updateMeta('room', undefined)
    await waitUntil(
      () => regs.every((r) => r.meta('room') === undefined),
      CONVERGE_MS,
      'every node to see the meta removed',
    )
    // The name itself never moved.
    for (const reg of regs) expect(reg.whereis('room')).toBe(pid)
  })

  it('throws NotOwner for updateMeta on a node that does not hold the name', async () => {
    await using cluster = await testCluster(2)
    const [a, b] = await startRegistries(cluster.nodes)
    const pid = idle(cluster.node(0))
    await a!.register('room', pid, { v: 1 }, { awaitReplication: true })
    const thrown = thrownBy(() => b!.updateMeta('room', { v: 99 }))
    expect(NotOwner.is(thrown), String(thrown)).toBe(true)
    expect(a!.meta('room')).toEqual({ v: 1 })
    expect(b!.meta('room')).toEqual({ v: 1 })
    expect(BadArgument.is(thrownBy(() => a!.updateMeta('nobody', 1)))).toBe(true)
  })
})
