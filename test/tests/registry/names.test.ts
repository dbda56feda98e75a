// Names are strings or JSON values with one canonical encoding: the same content is one name,
// whatever the order of object keys, on every node; values that are not JSON are refused.
import { describe, expect, it } from 'vitest'
import { AlreadyRegistered, BadArgument } from '@swormjs/actor'
import { decodeName, encodeName, type Name } from '@swormjs/registry'
import { rejectionOf, testCluster, waitUntil } from '../../src/index.js'
import { CONVERGE_MS, idle, startRegistries } from './helpers.js'

describe('names', () => {
  it('treats objects with the same keys and values as one name, whatever their order', async () => {
    await using cluster = await testCluster(2)
    const [a, b] = await startRegistries(cluster.nodes)
    const pid = idle(cluster.node(0))
    await a!.register({ a: 1, b: 2 }, pid)
    expect(a!.whereis({ b: 2, a: 1 })).toBe(pid)
    await waitUntil(() => b!.whereis({ b: 2, a: 1 }) === pid, CONVERGE_MS, 'replication')
    expect(b!.whereis({ a: 1, b: 2 })).toBe(pid)

    const other = idle(cluster.node(1))
    const e = await rejectionOf(b!.register({ b: 2, a: 1 }, other))
    expect(AlreadyRegistered.is(e), String(e)).toBe(true)
    expect((e as AlreadyRegistered).pid).toBe(pid)
    expect(b!.registered()).toEqual([[{ a: 1, b: 2 }, pid]])
  })

  it('keeps names of different JSON types apart, and gives them back as registered', async () => {
    await using cluster = await testCluster(2)
    const [a, b] = await startRegistries(cluster.nodes)
    const names: Name[] = [
      '1',
      1,
      true,
      'true',
      null,
      'null',
      ['room', 1],
      { room: 1 },
      { nested: { z: [1, { y: 2, x: 1 }], a: null } },
      '',
    ]
    const pids = names.map(() => idle(cluster.node(0)))
    for (const [i, name] of names.entries()) await a!.register(name, pids[i]!)
    await waitUntil(() => b!.count() === names.length, CONVERGE_MS, 'replication')
    for (const [i, name] of names.entries()) {
      expect(a!.whereis(name), JSON.stringify(name)).toBe(pids[i])
      expect(b!.whereis(name), JSON.stringify(name)).toBe(pids[i])
    }
    expect(b!.whereis({ nested: { a: null, z: [1, { x: 1, y: 2 }] } })).toBe(pids[8])
    // Array order matters: it is another name.
    expect(b!.whereis([1, 'room'])).toBeUndefined()
    const back = new Map(b!.registered().map(([n, p]) => [encodeName(n), p]))
    for (const [i, name] of names.entries()) expect(back.get(encodeName(name))).toBe(pids[i])
  })

  it('encodes equal names alike and decodes them back', () => {
    expect(encodeName({ a: 1, b: [true, null] })).toBe(encodeName({ b: [true, null], a: 1 }))
    expect(encodeName('x')).not.toBe(encodeName(['x']))
    for (const name of ['x', 0, -1.5, false, null, [], {}, { k: ['v', { w: 1 }] }] as Name[]) {
      expect(decodeName(encodeName(name))).toEqual(name)
    }
  })

  it('refuses names that are not JSON data', async () => {
    await using cluster = await testCluster(1)
    const [a] = await startRegistries(cluster.nodes)
    const pid = idle(cluster.node(0))
    const bad = [NaN, Infinity, { d: new Date(0) }, [() => 1], { u: undefined }, new Map()]
    for (const name of bad) {
      const e = await rejectionOf(a!.register(name as unknown as Name, pid))
      expect(BadArgument.is(e), `name #${bad.indexOf(name)}: ${String(e)}`).toBe(true)
    }
    expect(a!.count()).toBe(0)
  })
})
