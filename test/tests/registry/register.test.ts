// Registering names and finding them: on the node that registers at once, on the others once
// replicated (or before register resolves, with awaitReplication), and what may be registered.
import { describe, expect, it } from 'vitest'
import { AlreadyRegistered, BadArgument, NoProc } from '@swormjs/actor'
import { Registry } from '@swormjs/registry'
import { rejectionOf, testCluster, waitUntil } from '../../src/index.js'
import { CONVERGE_MS, agreeOn, idle, startRegistries } from './helpers.js'

describe('register and whereis', () => {
  it('resolves a name registered on one node on every other node', async () => {
    await using cluster = await testCluster(3)
    const regs = await startRegistries(cluster.nodes)
    const pid = idle(cluster.node(1))
    await regs[1]!.register('room:1', pid)
    await waitUntil(() => agreeOn(regs, 'room:1'), CONVERGE_MS, 'every node to resolve room:1')
    for (const reg of regs) expect(reg.whereis('room:1')).toBe(pid)
    expect(regs[0]!.whereis('room:2')).toBeUndefined()
  })

  it('resolves the name on the same node as soon as register resolves', async () => {
    await using cluster = await testCluster(2)
    const [a] = await startRegistries(cluster.nodes)
    for (let i = 0; i < 50; i++) {
      const pid = idle(cluster.node(0))
      await a!.register(`k${i}`, pid)
      expect(a!.whereis(`k${i}`)).toBe(pid)
    }
  })

  // A loop of awaited registrations is a chain of microtasks: without a pause it held the event
  // loop (timers, sockets, heartbeats) until its end, and its names left the node in one update
  // then. It pauses once the turn's shared slice is spent, so the others get names as it runs.
  it('lets the event loop turn during a loop of awaited registrations', async () => {
    await using cluster = await testCluster(2)
    const [a, b] = await startRegistries(cluster.nodes)
    let turned = false
    setImmediate(() => (turned = true))
    const N = 30_000
    let seenBeforeEnd = 0
    for (let i = 0; i < N; i++) {
      if (i === N - 1) seenBeforeEnd = b!.count()
      await a!.register(`loop${i}`, idle(cluster.node(0)))
    }
    expect(turned).toBe(true)
    expect(seenBeforeEnd).toBeGreaterThan(0)
    await waitUntil(() => b!.count() === N, CONVERGE_MS, 'b to resolve every name')
    // Joining groups in a loop, the same.
    let joinTurned = false
    setImmediate(() => (joinTurned = true))
    for (let i = 0; i < N; i++) await a!.join(`g${i % 100}`, a!.whereis(`loop${i}`)!)
    expect(joinTurned).toBe(true)
  })

  it('with awaitReplication, resolves only once every other node has the name', async () => {
    await using cluster = await testCluster(4)
    const regs = await startRegistries(cluster.nodes)
    const [a, ...others] = regs
    // Without it, register resolves before the update has left this node.
    const early = idle(cluster.node(0))
    await a!.register('early', early)
    expect(others.map((r) => r.whereis('early'))).toEqual([undefined, undefined, undefined])

    for (let i = 0; i < 20; i++) {
      const pid = idle(cluster.node(0))
      await a!.register(`k${i}`, pid, { i }, { awaitReplication: true })
      expect(others.map((r) => r.whereis(`k${i}`))).toEqual([pid, pid, pid])
      expect(others.map((r) => r.meta(`k${i}`))).toEqual([{ i }, { i }, { i }])
    }
  })

  it('rejects a name held anywhere with AlreadyRegistered carrying the holder', async () => {
    await using cluster = await testCluster(3)
    const regs = await startRegistries(cluster.nodes)
    const holder = idle(cluster.node(0))
    await regs[0]!.register('taken', holder, undefined, { awaitReplication: true })
    for (const [i, reg] of regs.entries()) {
      const other = idle(cluster.node(i))
      const e = await rejectionOf(reg.register('taken', other))
      expect(AlreadyRegistered.is(e), `on n${i}: ${String(e)}`).toBe(true)
      expect((e as AlreadyRegistered).pid).toBe(holder)
      expect(cluster.node(i).runtime.isAlive(other)).toBe(true)
    }
    // The holder itself cannot take the name twice either, and the name still resolves to it.
    expect(AlreadyRegistered.is(await rejectionOf(regs[0]!.register('taken', holder)))).toBe(true)
    for (const reg of regs) expect(reg.whereis('taken')).toBe(holder)
  })

  it('registers only a live process of its own node', async () => {
    await using cluster = await testCluster(2)
    const [a, b] = await startRegistries(cluster.nodes)
    const remote = idle(cluster.node(1))
    const e1 = await rejectionOf(a!.register('x', remote))
    expect(BadArgument.is(e1), String(e1)).toBe(true)

    const dead = idle(cluster.node(0))
    cluster.node(0).runtime.exit(dead, 'kill')
    await waitUntil(() => !cluster.node(0).runtime.isAlive(dead), CONVERGE_MS, 'the exit')
    const e2 = await rejectionOf(a!.register('x', dead))
    expect(NoProc.is(e2), String(e2)).toBe(true)

    expect(a!.whereis('x')).toBeUndefined()
    expect(b!.whereis('x')).toBeUndefined()
    expect(a!.count()).toBe(0)
  })

  it('shows the names already registered to a node that joins later, and its own to them', async () => {
    await using cluster = await testCluster(2)
    const regs = await startRegistries(cluster.nodes)
    const early = idle(cluster.node(0))
    await regs[0]!.register('early', early, { v: 1 })
    const late = await cluster.add()
    const lateReg = await Registry.start(late, 'r')
    await waitUntil(
      () => lateReg.whereis('early') === early && lateReg.stats().nodes === 3,
      CONVERGE_MS,
      'the late node to see the others',
    )
    expect(lateReg.meta('early')).toEqual({ v: 1 })
    const mine = idle(late)
    await lateReg.register('late', mine, undefined, { awaitReplication: true })
    for (const reg of regs) expect(reg.whereis('late')).toBe(mine)
    const e = await rejectionOf(lateReg.register('early', idle(late)))
    expect(AlreadyRegistered.is(e), String(e)).toBe(true)
  })

  it('refuses a registry name that is empty or holds a slash', async () => {
    await using cluster = await testCluster(1)
    for (const name of ['', 'a/b']) {
      const e = await rejectionOf(Registry.start(cluster.node(0), name))
      expect(BadArgument.is(e), String(e)).toBe(true)
    }
  })
})
