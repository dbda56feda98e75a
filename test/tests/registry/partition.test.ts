// Partitions (links cut with FaultProxy 'close', healed with 'pass'): each side keeps working on
// its own, and after the heal every node agrees again. A name taken on both sides goes to the
// earlier registration (by hybrid logical clock, whatever the node ids); the loser exits.
import { describe, expect, it } from 'vitest'
import {
  nodeIdStartingWith,
  pastMillisecond,
  pause,
  proxiedCluster,
  waitUntil,
} from '../../src/index.js'
import {
  CONVERGE_MS,
  FAST,
  agreeOn,
  exitOf,
  idle,
  recordEvents,
  startRegistries,
  views,
} from './helpers.js'

describe('partitions', () => {
  it('gives a name taken on both sides of a partition to the earlier registration', async () => {
    // n0's id sorts last and n1's first: a tie on node ids would pick n1 for both names.
    const ids = [nodeIdStartingWith('f'), nodeIdStartingWith('0'), nodeIdStartingWith('8')]
    await using cluster = await proxiedCluster(3, FAST, (i) => ({ nodeId: ids[i]! }))
    const regs = await startRegistries(cluster.nodes)
    await cluster.split([0])

    // 'x': n0 (alone) first, then n1. 'y': n1 first, then n0.
    const x0 = idle(cluster.node(0))
    await regs[0]!.register('x', x0)
    await pastMillisecond()
    const x1 = idle(cluster.node(1))
    await regs[1]!.register('x', x1)
    const y1 = idle(cluster.node(1))
    await regs[1]!.register('y', y1)
    await pastMillisecond()
    const y0 = idle(cluster.node(0))
    await regs[0]!.register('y', y0)
    const exits = { x1: exitOf(cluster.node(1), x1), y0: exitOf(cluster.node(0), y0) }
    // Each side sees its own.
    await waitUntil(() => regs[2]!.whereis('x') === x1, CONVERGE_MS, 'n2 to see x on its side')
    expect(regs[0]!.whereis('x')).toBe(x0)
    expect(regs[0]!.whereis('y')).toBe(y0)
    expect(regs[2]!.whereis('y')).toBe(y1)

    const seen = regs.map(recordEvents)
    await cluster.heal()
    await waitUntil(
      () => regs.every((r) => r.whereis('x') === x0 && r.whereis('y') === y1),
      CONVERGE_MS,
      'every node to give x to x0 and y to y1',
    )
    expect(await exits.x1).toEqual({ name_conflict: x0 })
    expect(await exits.y0).toEqual({ name_conflict: y1 })
    expect(cluster.node(0).runtime.isAlive(x0)).toBe(true)
    expect(cluster.node(1).runtime.isAlive(y1)).toBe(true)
    expect(views(regs)).toEqual([views(regs)[0], views(regs)[0], views(regs)[0]])
    // Where a loser was the holder, listeners saw it go as name_conflict.
    expect(seen[1]).toContainEqual({
      event: 'unregister',
      name: 'x',
      pid: x1,
      reason: 'name_conflict',
    })
    expect(seen[2]).toContainEqual({
      event: 'unregister',
      name: 'x',
      pid: x1,
      reason: 'name_conflict',
    })
    expect(seen[0]).toContainEqual({
      event: 'unregister',
      name: 'y',
      pid: y0,
      reason: 'name_conflict',
    })
  })

  it("gives a cut-off node's names back after the heal", async () => {
    await using cluster = await proxiedCluster(3, FAST)
    const regs = await startRegistries(cluster.nodes)
    const pid = idle(cluster.node(2))
    await regs[2]!.register('on-c', pid, { v: 1 }, { awaitReplication: true })
    await cluster.split([2])
    expect(regs[0]!.whereis('on-c')).toBeUndefined()
    expect(regs[1]!.whereis('on-c')).toBeUndefined()
    // Its own node still resolves it, and it can change it meanwhile.
    expect(regs[2]!.whereis('on-c')).toBe(pid)
    regs[2]!.updateMeta('on-c', { v: 2 })
    const during = idle(cluster.node(2))
    await regs[2]!.register('during', during)

    await cluster.heal()
    await waitUntil(
      () => agreeOn(regs, 'on-c') && agreeOn(regs, 'during'),
      CONVERGE_MS,
      'the names back everywhere',
    )
    await waitUntil(
      () => regs.every((r) => (r.meta('on-c') as { v: number }).v === 2),
      CONVERGE_MS,
      'the meta written during the cut',
    )
    expect(regs[0]!.whereis('on-c')).toBe(pid)
    expect(regs[1]!.whereis('during')).toBe(during)
  })

  it('keeps a name taken on one side after its old holder exited on the other', async () => {
    await using cluster = await proxiedCluster(3, FAST)
    const regs = await startRegistries(cluster.nodes)
    const old = idle(cluster.node(0))
    await regs[0]!.register('x', old, undefined, { awaitReplication: true })
    await cluster.split([0])
    // The old holder exits where n1 and n2 cannot hear of it; n1 takes the name meanwhile.
    cluster.node(0).runtime.exit(old, 'kill')
    await waitUntil(() => regs[0]!.whereis('x') === undefined, CONVERGE_MS, 'the exit on n0')
    const taker = idle(cluster.node(1))
    const takerExit = exitOf(cluster.node(1), taker)
    await regs[1]!.register('x', taker)

    await cluster.heal()
    await waitUntil(() => agreeOn(regs, 'x'), CONVERGE_MS, 'every node to agree on x')
    expect(regs.map((r) => r.whereis('x'))).toEqual([taker, taker, taker])
    // n1's replica of n0 was stale for a moment; the taker is not made to lose to a dead holder.
    const outcome = await Promise.race([takerExit, pause(300).then(() => 'still running')])
    expect(outcome).toBe('still running')
    expect(regs.map((r) => r.whereis('x'))).toEqual([taker, taker, taker])
  })
})
