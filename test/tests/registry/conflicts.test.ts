// Concurrent registrations of one name on several nodes: each node accepts its own at first;
// once they hear of each other, one survives (the same on every node) and the others' processes
// exit with { name_conflict: winner }.
import { describe, expect, it } from 'vitest'
import { AlreadyRegistered, nodeOf, type ExitReason, type Pid } from '@swormjs/actor'
import { pause, testCluster, waitUntil } from '../../src/index.js'
import { CONVERGE_MS, agreeOn, exitOf, idle, startRegistries } from './helpers.js'

describe('conflicts between concurrent registrations', () => {
  it('keeps exactly one of 10 concurrent registrations from 5 nodes, the same everywhere', async () => {
    await using cluster = await testCluster(5)
    const regs = await startRegistries(cluster.nodes)
    const attempts: Array<{ pid: Pid; node: number; exit: Promise<ExitReason> }> = []
    for (let round = 0; round < 2; round++) {
      for (const [i, node] of cluster.nodes.entries()) {
        const pid = idle(node)
        attempts.push({ pid, node: i, exit: exitOf(node, pid) })
      }
    }
    // All ten are issued in one turn: no node has heard of another's yet.
    const results = await Promise.allSettled(
      attempts.map((a) => regs[a.node]!.register('the-one', a.pid)),
    )
    await waitUntil(() => agreeOn(regs, 'the-one'), CONVERGE_MS, 'every node to agree')
    const winner = regs[0]!.whereis('the-one')!
    const accepted = attempts.filter((_, k) => results[k]!.status === 'fulfilled')
    const rejected = attempts.filter((_, k) => results[k]!.status === 'rejected')
    expect(accepted.map((a) => a.pid)).toContain(winner)
    // Each node accepted its first attempt and refused its second (the name was taken there).
    expect(accepted).toHaveLength(5)
    expect(rejected).toHaveLength(5)

    for (const a of accepted) {
      if (a.pid === winner) continue
      expect(await a.exit, `exit of ${a.pid}`).toEqual({ name_conflict: winner })
    }
    for (const [k, r] of results.entries()) {
      if (r.status !== 'rejected') continue
      const refused = attempts[k]!
      expect(AlreadyRegistered.is(r.reason), String(r.reason)).toBe(true)
      // It names the holder its node saw: the winner, or a local holder that lost to it.
      const named = (r.reason as AlreadyRegistered).pid as Pid
      expect(nodeOf(named)).toBe(cluster.node(refused.node).id)
      expect(accepted.map((a) => a.pid)).toContain(named)
      if (named !== winner) {
        expect(await accepted.find((a) => a.pid === named)!.exit).toEqual({ name_conflict: winner })
      }
      // A refused process is not made to exit.
      expect(cluster.node(refused.node).runtime.isAlive(refused.pid)).toBe(true)
    }
    expect(cluster.node(accepted.find((a) => a.pid === winner)!.node).runtime.isAlive(winner)).toBe(
      true,
    )
    await pause(100)
    for (const reg of regs) {
      expect(reg.whereis('the-one')).toBe(winner)
      expect(reg.count()).toBe(1)
    }
  })

  it('leaves one live holder per name when 5 nodes race for 40 names', async () => {
    await using cluster = await testCluster(5)
    const regs = await startRegistries(cluster.nodes)
    const names = Array.from({ length: 40 }, (_, k) => `name-${k}`)
    const holders = new Map<string, Array<{ pid: Pid; node: number; exit: Promise<ExitReason> }>>()
    const pending: Array<Promise<void>> = []
    for (const name of names) {
      const list: Array<{ pid: Pid; node: number; exit: Promise<ExitReason> }> = []
      holders.set(name, list)
      for (const [i, node] of cluster.nodes.entries()) {
        const pid = idle(node)
        list.push({ pid, node: i, exit: exitOf(node, pid) })
        pending.push(regs[i]!.register(name, pid))
      }
    }
    await Promise.all(pending)
    await waitUntil(
      () => names.every((n) => agreeOn(regs, n)) && regs.every((r) => r.count() === 40),
      CONVERGE_MS,
      'every node to agree on every name',
    )
    for (const name of names) {
      const winner = regs[0]!.whereis(name)!
      const list = holders.get(name)!
      expect(list.map((h) => h.pid)).toContain(winner)
      for (const h of list) {
        if (h.pid === winner) continue
        expect(await h.exit, `loser of ${name}`).toEqual({ name_conflict: winner })
      }
      const alive = list.filter((h) => cluster.node(h.node).runtime.isAlive(h.pid))
      expect(alive.map((h) => h.pid)).toEqual([winner])
    }
  })
})
