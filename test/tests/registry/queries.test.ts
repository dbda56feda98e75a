// Reading the whole registry on any node: registered, count, select and match on meta, and the
// names a process holds.
import { describe, expect, it } from 'vitest'
import type { Pid } from '@swormjs/actor'
import { encodeName, type Entry } from '@swormjs/registry'
import { testCluster, waitUntil } from '../../src/index.js'
import { CONVERGE_MS, idle, startRegistries, views } from './helpers.js'

const byName = (x: Entry, y: Entry): number => encodeName(x.name).localeCompare(encodeName(y.name))

describe('queries', () => {
  it('lists, counts, selects and matches the same entries on every node', async () => {
    await using cluster = await testCluster(3)
    const regs = await startRegistries(cluster.nodes)
    const p0 = idle(cluster.node(0))
    const p1 = idle(cluster.node(1))
    const p2 = idle(cluster.node(2))
    await regs[0]!.register('tea', p0, { kind: 'room', size: 4 })
    await regs[1]!.register('coffee', p1, { kind: 'room', size: 12 })
    await regs[2]!.register('lobby', p2, { kind: 'hall' })
    await regs[2]!.register('plain', p2)
    await waitUntil(() => regs.every((r) => r.count() === 4), CONVERGE_MS, 'replication')

    const expected: Array<[string, Pid]> = [
      ['coffee', p1],
      ['lobby', p2],
      ['plain', p2],
      ['tea', p0],
    ]
    expect(views(regs)).toEqual([expected, expected, expected])
    for (const reg of regs) {
      expect(reg.count()).toBe(4)
      expect(reg.select().sort(byName)).toEqual([
        { name: 'coffee', pid: p1, meta: { kind: 'room', size: 12 } },
        { name: 'lobby', pid: p2, meta: { kind: 'hall' } },
        { name: 'plain', pid: p2, meta: undefined },
        { name: 'tea', pid: p0, meta: { kind: 'room', size: 4 } },
      ])
      const rooms = reg.select((_n, _p, meta) => (meta as { kind?: string })?.kind === 'room')
      expect(rooms.map((e) => e.name).sort()).toEqual(['coffee', 'tea'])
      expect(reg.select((name, pid) => pid === p2 && name !== 'plain')).toEqual([
        { name: 'lobby', pid: p2, meta: { kind: 'hall' } },
      ])
      expect(reg.match('coffee')).toEqual([[p1, { kind: 'room', size: 12 }]])
      expect(reg.match('coffee', (m) => (m as { size: number }).size > 10)).toEqual([
        [p1, { kind: 'room', size: 12 }],
      ])
      expect(reg.match('tea', (m) => (m as { size: number }).size > 10)).toEqual([])
      expect(reg.match('nowhere')).toEqual([])
      // The predicate form: over names, pids and meta, across the cluster.
      expect(
        reg.match(
          (name, _pid, meta) =>
            typeof name === 'string' && (meta as { size?: number } | undefined)?.size === 12,
        ),
      ).toEqual([['coffee', p1]])
    }
  })

  it("gives the names a process holds, its own node's and others'", async () => {
    await using cluster = await testCluster(2)
    const [a, b] = await startRegistries(cluster.nodes)
    const pid = idle(cluster.node(0))
    const other = idle(cluster.node(0))
    await a!.register('one', pid)
    await a!.register({ two: 2 }, pid)
    await a!.register('three', other, undefined, { awaitReplication: true })
    for (const reg of [a!, b!]) {
      expect(
        reg
          .keysOf(pid)
          .map((n) => JSON.stringify(n))
          .sort(),
      ).toEqual(['"one"', '{"two":2}'])
      expect(reg.keysOf(other)).toEqual(['three'])
      expect(reg.keysOf(idle(cluster.node(1)))).toEqual([])
    }
    expect(await a!.unregister('one')).toBe(true)
    expect(a!.keysOf(pid)).toEqual([{ two: 2 }])
    await waitUntil(() => b!.keysOf(pid).length === 1, CONVERGE_MS, 'the unregister on b')
    expect(b!.keysOf(pid)).toEqual([{ two: 2 }])
  })

  it('keeps count in step with registrations and removals', async () => {
    await using cluster = await testCluster(2)
    const [a, b] = await startRegistries(cluster.nodes)
    const pids = Array.from({ length: 30 }, () => idle(cluster.node(0)))
    for (const [i, pid] of pids.entries()) await a!.register(`n${i}`, pid)
    expect(a!.count()).toBe(30)
    await waitUntil(() => b!.count() === 30, CONVERGE_MS, 'count 30 on b')
    for (const pid of pids.slice(0, 10)) cluster.node(0).runtime.exit(pid, 'kill')
    for (let i = 10; i < 15; i++) expect(await b!.unregister(`n${i}`)).toBe(true)
    await waitUntil(() => a!.count() === 15 && b!.count() === 15, CONVERGE_MS, 'count 15')
    expect(a!.registered().length).toBe(15)
    expect(b!.select().length).toBe(15)
  })
})
