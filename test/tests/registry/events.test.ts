// Listeners hear of every change of who holds a name, local or remote, with the reason a name
// went: exit, unregister, nodedown or name_conflict.
import { describe, expect, it } from 'vitest'
import { testCluster, waitUntil } from '../../src/index.js'
import {
  CONVERGE_MS,
  FAST,
  agreeOn,
  exitOf,
  idle,
  recordEvents,
  startRegistries,
  type RegistryEvent,
} from './helpers.js'

describe('listeners', () => {
  it('hear local and remote registrations and unregistrations with their reasons', async () => {
    await using cluster = await testCluster(2)
    const [a, b] = await startRegistries(cluster.nodes)
    const onA = recordEvents(a!)
    const onB = recordEvents(b!)
    const pid = idle(cluster.node(0))
    await a!.register('x', pid, { m: 1 })
    // Local listeners hear it before register resolves.
    expect(onA).toEqual([{ event: 'register', name: 'x', pid, meta: { m: 1 } }])
    await waitUntil(() => onB.length === 1, CONVERGE_MS, 'the remote register event')
    expect(onB).toEqual([{ event: 'register', name: 'x', pid, meta: { m: 1 } }])

    await b!.unregister('x')
    const other = idle(cluster.node(1))
    await b!.register('y', other, undefined, { awaitReplication: true })
    cluster.node(1).runtime.exit(other, 'shutdown')
    const expected: RegistryEvent[] = [
      { event: 'register', name: 'x', pid, meta: { m: 1 } },
      { event: 'unregister', name: 'x', pid, reason: 'unregister' },
      { event: 'register', name: 'y', pid: other, meta: undefined },
      { event: 'unregister', name: 'y', pid: other, reason: 'exit' },
    ]
    await waitUntil(() => onA.length === 4 && onB.length === 4, CONVERGE_MS, 'four events each')
    expect(onA).toEqual(expected)
    expect(onB).toEqual(expected)
  })

  it('hear nodedown for the names of a node that goes down', async () => {
    await using cluster = await testCluster(3, FAST)
    const regs = await startRegistries(cluster.nodes)
    const pid = idle(cluster.node(2))
    await regs[2]!.register('on-c', pid, undefined, { awaitReplication: true })
    const seen = regs.slice(0, 2).map(recordEvents)
    await cluster.node(2).kill()
    await waitUntil(() => seen.every((e) => e.length === 1), CONVERGE_MS, 'the nodedown events')
    for (const events of seen) {
      expect(events).toEqual([{ event: 'unregister', name: 'on-c', pid, reason: 'nodedown' }])
    }
  })

  it('hear the loser of a conflict unregistered with name_conflict, then the winner', async () => {
    await using cluster = await testCluster(3)
    const regs = await startRegistries(cluster.nodes)
    const seen = regs.map(recordEvents)
    const pa = idle(cluster.node(0))
    const pb = idle(cluster.node(1))
    const exits = new Map([
      [pa, exitOf(cluster.node(0), pa)],
      [pb, exitOf(cluster.node(1), pb)],
    ])
    // Both register before either hears of the other.
    await Promise.all([regs[0]!.register('dup', pa), regs[1]!.register('dup', pb)])
    await waitUntil(() => agreeOn(regs, 'dup'), CONVERGE_MS, 'every node to agree on dup')
    const winner = regs[0]!.whereis('dup')!
    const loser = winner === pa ? pb : pa
    expect(await exits.get(loser)).toEqual({ name_conflict: winner })
    for (const [i, events] of seen.entries()) {
      // Every node ends on the winner; the loser, wherever it was seen, goes as name_conflict.
      expect(events.at(-1), `last event on n${i}`).toEqual({
        event: 'register',
        name: 'dup',
        pid: winner,
        meta: undefined,
      })
      for (const e of events.filter((x) => x.event === 'unregister')) {
        expect(e, `on n${i}`).toEqual({
          event: 'unregister',
          name: 'dup',
          pid: loser,
          reason: 'name_conflict',
        })
      }
      expect(events.filter((x) => x.event === 'register' && x.pid === winner)).toHaveLength(1)
    }
    // The loser's own node had it first, so its listeners saw it lose.
    const onLoserNode = seen[winner === pa ? 1 : 0]!
    expect(onLoserNode).toEqual([
      { event: 'register', name: 'dup', pid: loser, meta: undefined },
      { event: 'unregister', name: 'dup', pid: loser, reason: 'name_conflict' },
      { event: 'register', name: 'dup', pid: winner, meta: undefined },
    ])
  })

  it('stop hearing once the listener is removed', async () => {
    await using cluster = await testCluster(1)
    const [a] = await startRegistries(cluster.nodes)
    const names: string[] = []
    const off = a!.on('register', (name) => names.push(JSON.stringify(name)))
    await a!.register('one', idle(cluster.node(0)))
    off()
    await a!.register('two', idle(cluster.node(0)))
    expect(names).toEqual(['"one"'])
  })
})
