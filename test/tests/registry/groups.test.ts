// Process groups: join and leave (idempotent, a remote process through its own node), members
// seen on every node, publish and multiCall to them, and members that exit or whose node goes.
import { describe, expect, it, vi } from 'vitest'
import { CallTimeout, Exited, NoProc, type Pid } from '@swormjs/actor'
import { Silent, rejectionOf, testCluster, waitUntil } from '../../src/index.js'
import { CONVERGE_MS, Crasher, Echo, FAST, idle, startRegistries } from './helpers.js'

const sorted = (pids: Pid[]): Pid[] => [...pids].sort()

describe('groups', () => {
  it('lists the members of every node, joined and left idempotently', async () => {
    await using cluster = await testCluster(3)
    const regs = await startRegistries(cluster.nodes)
    const p0 = idle(cluster.node(0))
    const p1 = idle(cluster.node(1))
    await regs[0]!.join('g', p0)
    await regs[0]!.join('g', p0)
    await regs[1]!.join('g', p1)
    await regs[1]!.join({ team: 'blue' }, p1)
    const both = sorted([p0, p1])
    await waitUntil(
      () => regs.every((r) => r.members('g').length === 2),
      CONVERGE_MS,
      'both members everywhere',
    )
    for (const reg of regs) {
      expect(sorted(reg.members('g'))).toEqual(both)
      expect(reg.members({ team: 'blue' })).toEqual([p1])
      expect(reg.members('nobody')).toEqual([])
    }

    await regs[0]!.leave('g', p0)
    await regs[0]!.leave('g', p0)
    await regs[1]!.leave('never-joined', p1)
    await waitUntil(
      () => regs.every((r) => r.members('g').length === 1),
      CONVERGE_MS,
      'the leave everywhere',
    )
    for (const reg of regs) expect(reg.members('g')).toEqual([p1])
    // Leaving one group keeps the others.
    for (const reg of regs) expect(reg.members({ team: 'blue' })).toEqual([p1])
  })

  it('joins and leaves a process of another node through that node', async () => {
    await using cluster = await testCluster(3)
    const regs = await startRegistries(cluster.nodes)
    const p2 = idle(cluster.node(2))
    await regs[0]!.join('g', p2)
    // Its node wrote the membership before answering, so the caller sees it at once.
    expect(regs[2]!.members('g')).toEqual([p2])
    expect(regs[0]!.members('g')).toEqual([p2])
    await waitUntil(() => regs[1]!.members('g').length === 1, CONVERGE_MS, 'n1 to see it')
    await regs[1]!.leave('g', p2)
    expect(regs[2]!.members('g')).toEqual([])
    expect(regs[1]!.members('g')).toEqual([])
    await waitUntil(() => regs[0]!.members('g').length === 0, CONVERGE_MS, 'n0 to see the leave')
  })

  it('rejects a join of a process that is not alive, here or on another node', async () => {
    await using cluster = await testCluster(2)
    const [a, b] = await startRegistries(cluster.nodes)
    const deadHere = idle(cluster.node(0))
    const deadThere = idle(cluster.node(1))
    cluster.node(0).runtime.exit(deadHere, 'kill')
    cluster.node(1).runtime.exit(deadThere, 'kill')
    await waitUntil(
      () =>
        !cluster.node(0).runtime.isAlive(deadHere) && !cluster.node(1).runtime.isAlive(deadThere),
      CONVERGE_MS,
      'the exits',
    )
    const e1 = await rejectionOf(a!.join('g', deadHere))
    expect(NoProc.is(e1), String(e1)).toBe(true)
    const e2 = await rejectionOf(a!.join('g', deadThere))
    expect(NoProc.is(e2), String(e2)).toBe(true)
    expect(a!.members('g')).toEqual([])
    expect(b!.members('g')).toEqual([])
    // The other node's registry still serves requests from this one.
    const live = idle(cluster.node(1))
    await a!.join('g', live)
    expect(b!.members('g')).toEqual([live])
    await b!.register('x', live, undefined, { awaitReplication: true })
    expect(await a!.unregister('x')).toBe(true)
  })

  it('publishes a message to every member on every node', async () => {
    await using cluster = await testCluster(3)
    const regs = await startRegistries(cluster.nodes)
    const members = cluster.nodes.map((n) => n.runtime.spawn(Echo, undefined))
    for (const [i, pid] of members.entries()) await regs[i]!.join('room', pid)
    const outsider = cluster.node(0).runtime.spawn(Echo, undefined)
    await waitUntil(
      () => regs.every((r) => r.members('room').length === 3),
      CONVERGE_MS,
      'three members everywhere',
    )
    expect(regs[1]!.publish('room', { hello: 1 })).toBe(3)
    expect(regs[2]!.publish('room', { hello: 2 })).toBe(3)
    expect(regs[0]!.publish('empty', { hello: 3 })).toBe(0)
    for (const [i, pid] of members.entries()) {
      const rt = cluster.node(i).runtime
      await vi.waitFor(
        // Two senders: each message arrives once, in no set order between them.
        async () =>
          expect(await rt.call(pid, 'inbox')).toEqual(
            expect.arrayContaining([{ hello: 1 }, { hello: 2 }]),
          ),
        { timeout: CONVERGE_MS, interval: 20 },
      )
      expect(await rt.call(pid, 'inbox')).toHaveLength(2)
    }
    expect(await cluster.node(0).runtime.call(outsider, 'inbox')).toEqual([])
  })

  it("returns every member's reply or failure from multiCall, none dropped", async () => {
    await using cluster = await testCluster(3)
    const regs = await startRegistries(cluster.nodes)
    const e0 = cluster.node(0).runtime.spawn(Echo, undefined)
    const e1 = cluster.node(1).runtime.spawn(Echo, undefined)
    const crasher = cluster.node(2).runtime.spawn(Crasher, undefined)
    const silent = cluster.node(1).runtime.spawn(Silent, undefined)
    await regs[0]!.join('g', e0)
    await regs[1]!.join('g', e1)
    await regs[2]!.join('g', crasher)
    await regs[1]!.join('g', silent)
    await waitUntil(() => regs[0]!.members('g').length === 4, CONVERGE_MS, 'four members on n0')
    const results = await regs[0]!.multiCall('g', 'ping', { timeoutMs: 500 })
    const byPid = new Map(results.map((r) => [r.pid, r]))
    expect(results).toHaveLength(4)
    expect(byPid.get(e0)).toEqual({
      pid: e0,
      ok: true,
      value: { echo: 'ping', node: cluster.node(0).id },
    })
    expect(byPid.get(e1)).toEqual({
      pid: e1,
      ok: true,
      value: { echo: 'ping', node: cluster.node(1).id },
    })
    const crashed = byPid.get(crasher)!
    expect(crashed.ok).toBe(false)
    expect(Exited.is(crashed.ok ? undefined : crashed.error), JSON.stringify(crashed)).toBe(true)
    const timedOut = byPid.get(silent)!
    expect(timedOut.ok).toBe(false)
    expect(CallTimeout.is(timedOut.ok ? undefined : timedOut.error)).toBe(true)
    // The crashed member left the group as it exited.
    await waitUntil(() => regs[0]!.members('g').length === 3, CONVERGE_MS, 'the crasher gone')
    expect(await regs[0]!.multiCall('empty', 'ping')).toEqual([])
  })

  it('removes a member that exits from its groups on every node', async () => {
    await using cluster = await testCluster(3)
    const regs = await startRegistries(cluster.nodes)
    const pid = idle(cluster.node(1))
    const stays = idle(cluster.node(1))
    await regs[1]!.join('g1', pid)
    await regs[1]!.join('g2', pid)
    await regs[1]!.join('g1', stays)
    await waitUntil(
      () => regs.every((r) => r.members('g1').length === 2 && r.members('g2').length === 1),
      CONVERGE_MS,
      'the memberships everywhere',
    )
    cluster.node(1).runtime.exit(pid, 'kill')
    await waitUntil(
      () => regs.every((r) => r.members('g1').length === 1 && r.members('g2').length === 0),
      CONVERGE_MS,
      'the exited member gone everywhere',
    )
    for (const reg of regs) expect(reg.members('g1')).toEqual([stays])
  })

  it('keeps a retained member in its groups past its exit, until it is released', async () => {
    await using cluster = await testCluster(2)
    const regs = await startRegistries(cluster.nodes)
    const pid = idle(cluster.node(1))
    await regs[1]!.register('w', pid)
    await regs[1]!.join('g', pid)
    await waitUntil(() => regs[0]!.members('g').length === 1, CONVERGE_MS, 'the membership')
    regs[1]!.retainGroups(pid)
    cluster.node(1).runtime.exit(pid, 'kill')
    // Its name goes at its exit; its membership stays.
    await waitUntil(() => regs[0]!.whereis('w') === undefined, CONVERGE_MS, 'the name gone')
    await new Promise((r) => setTimeout(r, 100))
    for (const reg of regs) expect(reg.members('g')).toEqual([pid])
    regs[1]!.releaseGroups(pid)
    await waitUntil(
      () => regs.every((r) => r.members('g').length === 0),
      CONVERGE_MS,
      'the membership gone everywhere once released',
    )
  })

  it('removes the members of a node that goes down', async () => {
    await using cluster = await testCluster(3, FAST)
    const regs = await startRegistries(cluster.nodes)
    const p0 = idle(cluster.node(0))
    const p2 = idle(cluster.node(2))
    await regs[0]!.join('g', p0)
    await regs[2]!.join('g', p2)
    await waitUntil(
      () => regs.every((r) => r.members('g').length === 2),
      CONVERGE_MS,
      'both members everywhere',
    )
    await cluster.node(2).kill()
    await waitUntil(
      () => regs.slice(0, 2).every((r) => r.members('g').length === 1),
      1000,
      "n2's member to go",
    )
    expect(regs[0]!.members('g')).toEqual([p0])
    expect(regs[1]!.members('g')).toEqual([p0])
    expect(regs[1]!.publish('g', 'hi')).toBe(1)
  })
})
