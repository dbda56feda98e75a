// Replicated docs across in-process nodes: one writer per doc, replicas everywhere else, pushes
// batched per event-loop turn, drops, generations, partitions and large docs.
import { describe, expect, it } from 'vitest'
import type * as Y from 'yjs'
import { proxiedCluster, recordingLogger, testCluster, waitUntil } from '../../src/index.js'
import { Actor } from '@swormjs/actor'
import { NotDocOwner } from '@swormjs/cluster'

/** Quick redials, so that a healed link comes back soon. */
const REDIAL = { reconnectMinMs: 20, reconnectMaxMs: 200 }

function valueOf(doc: Y.Doc | undefined, key: string): unknown {
  return doc?.getMap('m').get(key)
}

describe('replicated docs', () => {
  it('makes a doc created and written on one node readable on every other node', async () => {
    await using cluster = await testCluster(3)
    const [a, b, c] = [cluster.node(0), cluster.node(1), cluster.node(2)]
    const name = `test/${a.id}/0`
    a.docs.create(name)
    a.docs.write(name, (d) => d.getMap('m').set('greeting', 'hello'))
    for (const n of [b, c]) {
      await waitUntil(() => valueOf(n.docs.get(name), 'greeting') === 'hello', 5000, n.name)
      expect(n.docs.owner(name)).toBe(a.id)
      expect(n.docs.isOwner(name)).toBe(false)
      expect(n.docs.names(a.id)).toContain(name)
    }
  })

  it('refuses a write to a replica through docs.write with NotDocOwner', async () => {
    await using cluster = await testCluster(2)
    const [a, b] = [cluster.node(0), cluster.node(1)]
    const name = `test/${a.id}/0`
    a.docs.create(name)
    a.docs.write(name, (d) => d.getMap('m').set('k', 1))
    await waitUntil(() => valueOf(b.docs.get(name), 'k') === 1)

    let thrown: unknown
    try {
      b.docs.write(name, (d) => d.getMap('m').set('k', 2))
    } catch (e) {
      thrown = e
    }
    expect(NotDocOwner.is(thrown)).toBe(true)
    expect(() => b.docs.create(name)).toThrow(NotDocOwner)
    expect(valueOf(b.docs.get(name), 'k')).toBe(1)
    expect(valueOf(a.docs.get(name), 'k')).toBe(1)
  })

  it('does not replicate a direct write to a replica, and logs it', async () => {
    const rec = recordingLogger()
    await using cluster = await testCluster(3, { logger: rec.logger })
    const [a, b, c] = [cluster.node(0), cluster.node(1), cluster.node(2)]
    const name = `test/${a.id}/0`
    a.docs.create(name)
    a.docs.write(name, (d) => d.getMap('m').set('k', 'owner'))
    await waitUntil(() => valueOf(b.docs.get(name), 'k') === 'owner')
    await waitUntil(() => valueOf(c.docs.get(name), 'k') === 'owner')

    b.docs.get(name)!.getMap('m').set('k', 'intruder')
    expect(rec.find(b.name, 'local write to a replicated doc ignored')).toHaveLength(1)

    // A later write by the owner goes everywhere; the intruder's never does.
    a.docs.write(name, (d) => d.getMap('m').set('later', true))
    await waitUntil(() => valueOf(c.docs.get(name), 'later') === true)
    await new Promise((r) => setTimeout(r, 100))
    expect(valueOf(a.docs.get(name), 'k')).toBe('owner')
    expect(valueOf(c.docs.get(name), 'k')).toBe('owner')
  })

  it('sends the updates of one event-loop turn as one Doc frame per doc', async () => {
    await using cluster = await testCluster(3)
    const [a, b, c] = [cluster.node(0), cluster.node(1), cluster.node(2)]
    const names = [`one/${a.id}/0`, `two/${a.id}/0`]
    for (const name of names) {
      a.docs.create(name)
      a.docs.write(name, (d) => d.getMap('m').set('ready', true))
    }
    for (const n of [b, c]) {
      for (const name of names) await waitUntil(() => valueOf(n.docs.get(name), 'ready') === true)
    }
    const seen = new Map<string, number>()
    for (const n of [b, c]) {
      n.docs.on('update', (name) =>
        seen.set(`${n.name} ${name}`, (seen.get(`${n.name} ${name}`) ?? 0) + 1),
      )
    }
    const outBefore = a.docs.updatesOut

    // 300 transactions on one doc and 50 on the other, all in this turn.
    for (let i = 0; i < 300; i++) a.docs.write(names[0]!, (d) => d.getMap('m').set(`k${i}`, i))
    for (let i = 0; i < 50; i++) a.docs.write(names[1]!, (d) => d.getMap('m').set(`k${i}`, i))

    for (const n of [b, c]) {
      await waitUntil(() => valueOf(n.docs.get(names[0]!), 'k299') === 299, 5000, n.name)
      await waitUntil(() => valueOf(n.docs.get(names[1]!), 'k49') === 49, 5000, n.name)
    }
    expect(a.docs.updatesOut - outBefore).toBe(2)
    expect(Object.fromEntries(seen)).toEqual({
      [`${b.name} ${names[0]}`]: 1,
      [`${b.name} ${names[1]}`]: 1,
      [`${c.name} ${names[0]}`]: 1,
      [`${c.name} ${names[1]}`]: 1,
    })
  })

  it('sends a turn of writes and messages as one update per doc, read before every message of the turn', async () => {
    await using cluster = await testCluster(2)
    const [a, b] = [cluster.node(0), cluster.node(1)]
    const name = `one/${a.id}/0`
    a.docs.create(name)
    a.docs.write(name, (d) => d.getMap('m').set('ready', true))
    await waitUntil(() => valueOf(b.docs.get(name), 'ready') === true)
    // What b's doc holds when each message is read: a reply sent after a registration must
    // find it there.
    const seenAtMessage: unknown[] = []
    class Reader extends Actor {
      override handleInfo(i: unknown): void {
        seenAtMessage.push([i, valueOf(b.docs.get(name), `k${String(i)}`)])
      }
    }
    const reader = b.runtime.spawn(Reader, undefined)
    let updates = 0
    b.docs.on('update', (n) => {
      if (n === name) updates++
    })
    const outBefore = a.docs.updatesOut

    // A hundred starts in one turn, each written and answered before the next.
    for (let i = 0; i < 100; i++) {
      a.docs.write(name, (d) => d.getMap('m').set(`k${i}`, i))
      a.runtime.send(reader, i)
    }

    await waitUntil(() => seenAtMessage.length === 100)
    expect(seenAtMessage).toEqual(Array.from({ length: 100 }, (_, i) => [i, i]))
    expect(a.docs.updatesOut - outBefore).toBe(1)
    expect(updates).toBe(1)
  })

  it("tags 'update' events with the id of the node whose write it was", async () => {
    await using cluster = await testCluster(3)
    const [a, b, c] = [cluster.node(0), cluster.node(1), cluster.node(2)]
    const origins: Array<[string, string]> = []
    c.docs.on('update', (name, _doc, origin) => origins.push([name, origin]))
    const local: Array<[string, string]> = []
    a.docs.on('update', (name, _doc, origin) => local.push([name, origin]))

    a.docs.create('from-a')
    b.docs.create('from-b')
    a.docs.write('from-a', (d) => d.getMap('m').set('x', 1))
    b.docs.write('from-b', (d) => d.getMap('m').set('x', 2))
    await waitUntil(() => valueOf(c.docs.get('from-a'), 'x') === 1)
    await waitUntil(() => valueOf(c.docs.get('from-b'), 'x') === 2)

    expect(origins).toContainEqual(['from-a', a.id])
    expect(origins).toContainEqual(['from-b', b.id])
    expect(origins.every(([name, origin]) => origin === (name === 'from-a' ? a.id : b.id))).toBe(
      true,
    )
    expect(local).toContainEqual(['from-a', a.id])
    expect(local).toContainEqual(['from-b', b.id])
  })

  it('keeps the replicas of a killed node readable', async () => {
    await using cluster = await testCluster(3)
    const [a, b, c] = [cluster.node(0), cluster.node(1), cluster.node(2)]
    const name = `test/${a.id}/0`
    a.docs.create(name)
    a.docs.write(name, (d) => {
      for (let i = 0; i < 100; i++) d.getMap('m').set(`k${i}`, i)
    })
    for (const n of [b, c]) await waitUntil(() => valueOf(n.docs.get(name), 'k99') === 99)

    await a.kill()
    await waitUntil(() => !b.isUp(a.id) && !c.isUp(a.id), 5000, 'the kill to be seen')

    for (const n of [b, c]) {
      const doc = n.docs.get(name)
      expect(doc?.getMap('m').size).toBe(100)
      expect(valueOf(doc, 'k42')).toBe(42)
      expect(n.docs.owner(name)).toBe(a.id)
    }
  })

  it('removes a dropped doc from every replica and emits drop there', async () => {
    await using cluster = await testCluster(3)
    const [a, b, c] = [cluster.node(0), cluster.node(1), cluster.node(2)]
    const name = `test/${a.id}/0`
    a.docs.create(name)
    a.docs.write(name, (d) => d.getMap('m').set('k', 1))
    for (const n of [b, c]) await waitUntil(() => valueOf(n.docs.get(name), 'k') === 1)
    const drops: Array<[string, string, string]> = []
    for (const n of [a, b, c]) n.docs.on('drop', (doc, owner) => drops.push([n.name, doc, owner]))

    a.docs.drop(name)

    await waitUntil(() => b.docs.get(name) === undefined && c.docs.get(name) === undefined)
    expect(a.docs.get(name)).toBeUndefined()
    expect(drops).toHaveLength(3)
    for (const n of [a, b, c]) expect(drops).toContainEqual([n.name, name, a.id])
  })

  it('brings back a replica dropped locally when its owner reconnects', async () => {
    await using pair = await proxiedCluster(2, REDIAL)
    const [a, b] = [pair.node(0), pair.node(1)]
    const name = `test/${a.id}/0`
    a.docs.create(name)
    a.docs.write(name, (d) => d.getMap('m').set('before', 1))
    await waitUntil(() => valueOf(b.docs.get(name), 'before') === 1)

    await pair.split([1], 5000)
    b.docs.drop(name)
    expect(b.docs.get(name)).toBeUndefined()
    expect(a.docs.get(name)).toBeDefined()
    a.docs.write(name, (d) => d.getMap('m').set('during', 2))

    await pair.heal()
    await waitUntil(() => valueOf(b.docs.get(name), 'during') === 2, 5000, 'the replica back')
    expect(valueOf(b.docs.get(name), 'before')).toBe(1)
    expect(b.docs.owner(name)).toBe(a.id)
  })

  it('never holds a partial replica after dropping one locally while its owner writes on', async () => {
    await using cluster = await testCluster(2)
    const [a, b] = [cluster.node(0), cluster.node(1)]
    const name = `test/${a.id}/0`
    a.docs.create(name)
    a.docs.write(name, (d) => {
      d.getMap('m').set('k', 1)
      d.getMap('m').set('j', 1)
    })
    await waitUntil(() => valueOf(b.docs.get(name), 'j') === 1)

    b.docs.drop(name)
    a.docs.write(name, (d) => d.getMap('m').set('k', 2))
    a.docs.write(name, (d) => d.getMap('m').set('new', 3))
    // A later doc of the owner reaching B bounds the wait for the writes above.
    a.docs.create('barrier')
    a.docs.write('barrier', (d) => d.getMap('m').set('done', true))
    await waitUntil(() => valueOf(b.docs.get('barrier'), 'done') === true)

    const replica = b.docs.get(name)
    if (replica !== undefined) {
      expect(replica.getMap('m').toJSON()).toEqual(a.docs.get(name)!.getMap('m').toJSON())
    }
  })

  it('shows replicas a new generation before the old one goes', async () => {
    await using cluster = await testCluster(3)
    const [a, b, c] = [cluster.node(0), cluster.node(1), cluster.node(2)]
    const gen = (g: number): string => `x/${a.id}/${g}`
    a.docs.create(gen(0))
    a.docs.write(gen(0), (d) => {
      for (let i = 0; i < 50; i++) d.getMap('m').set(`k${i}`, i)
    })
    for (const n of [b, c]) await waitUntil(() => valueOf(n.docs.get(gen(0)), 'k49') === 49)

    const seen: Record<string, string[]> = {}
    for (const n of [b, c]) {
      const log: string[] = (seen[n.name] = [])
      n.docs.on('replica', (name) => log.push(`replica ${name}`))
      n.docs.on('drop', (name) => {
        // At the moment the old generation goes, the new one must be there and complete.
        const next = n.docs.get(gen(1))?.getMap('m')
        log.push(`drop ${name} (new holds ${next?.size ?? 'nothing'})`)
      })
    }

    a.docs.create(gen(1))
    a.docs.write(gen(1), (d) => {
      for (let i = 0; i < 50; i += 2) d.getMap('m').set(`k${i}`, i)
    })
    a.docs.drop(gen(0))

    for (const n of [b, c]) {
      await waitUntil(() => n.docs.get(gen(0)) === undefined, 5000, `${n.name} drops gen 0`)
      expect(seen[n.name]).toEqual([`replica ${gen(1)}`, `drop ${gen(0)} (new holds 25)`])
    }
  })

  it('converges docs written by each side during a partition once it heals', async () => {
    await using pair = await proxiedCluster(2, REDIAL)
    const [a, b] = [pair.node(0), pair.node(1)]
    const docA = `test/${a.id}/0`
    const docB = `test/${b.id}/0`
    a.docs.create(docA)
    b.docs.create(docB)
    a.docs.write(docA, (d) => d.getMap('m').set('k', 'a0'))
    b.docs.write(docB, (d) => d.getMap('m').set('k', 'b0'))
    await waitUntil(() => valueOf(b.docs.get(docA), 'k') === 'a0')
    await waitUntil(() => valueOf(a.docs.get(docB), 'k') === 'b0')

    await pair.split([1], 5000)
    a.docs.write(docA, (d) => {
      d.getMap('m').set('k', 'a1')
      for (let i = 0; i < 20; i++) d.getMap('m').set(`a${i}`, i)
    })
    b.docs.write(docB, (d) => {
      d.getMap('m').delete('k')
      for (let i = 0; i < 20; i++) d.getMap('m').set(`b${i}`, i)
    })
    const lateA = `late/${a.id}/0`
    a.docs.create(lateA)
    a.docs.write(lateA, (d) => d.getMap('m').set('k', 'new'))
    expect(valueOf(b.docs.get(docA), 'k')).toBe('a0')

    await pair.heal()
    await waitUntil(() => valueOf(b.docs.get(docA), 'a19') === 19, 5000, 'A to reach B')
    await waitUntil(() => valueOf(a.docs.get(docB), 'b19') === 19, 5000, 'B to reach A')
    await waitUntil(() => valueOf(b.docs.get(lateA), 'k') === 'new', 5000, 'the new doc')
    expect(valueOf(b.docs.get(docA), 'k')).toBe('a1')
    expect(a.docs.get(docB)!.getMap('m').has('k')).toBe(false)
    expect(b.docs.get(docA)!.getMap('m').toJSON()).toEqual(a.docs.get(docA)!.getMap('m').toJSON())
    expect(a.docs.get(docB)!.getMap('m').toJSON()).toEqual(b.docs.get(docB)!.getMap('m').toJSON())
  })

  it('makes a 10,000-entry doc visible on a peer', async () => {
    await using cluster = await testCluster(2)
    const [a, b] = [cluster.node(0), cluster.node(1)]
    const name = `big/${a.id}/0`
    a.docs.create(name)
    a.docs.write(name, (d) => {
      const m = d.getMap('m')
      for (let i = 0; i < 10_000; i++) m.set(`key-${i}`, { i, owner: a.name })
    })
    await waitUntil(() => valueOf(b.docs.get(name), 'key-9999') !== undefined, 15_000, 'the doc')
    const m = b.docs.get(name)!.getMap('m')
    expect(m.size).toBe(10_000)
    expect(m.get('key-1234')).toEqual({ i: 1234, owner: a.name })
  })

  it('makes a 10,000-entry doc visible on a node that joins later', async () => {
    await using cluster = await testCluster(1)
    const a = cluster.node(0)
    const name = `big/${a.id}/0`
    a.docs.create(name)
    a.docs.write(name, (d) => {
      const m = d.getMap('m')
      for (let i = 0; i < 10_000; i++) m.set(`key-${i}`, i)
    })
    const b = await cluster.add()
    await waitUntil(() => valueOf(b.docs.get(name), 'key-9999') === 9999, 15_000, 'the doc')
    expect(b.docs.get(name)!.getMap('m').size).toBe(10_000)
  })

  it('counts the update bytes of a doc on its owner and on a replica that joined late', async () => {
    await using cluster = await testCluster(1)
    const a = cluster.node(0)
    const name = `big/${a.id}/0`
    a.docs.create(name)
    for (let i = 0; i < 1000; i++) a.docs.write(name, (d) => d.getMap('m').set(`key-${i}`, i))
    const b = await cluster.add()
    await waitUntil(() => valueOf(b.docs.get(name), 'key-999') === 999, 15_000, 'the catch-up')
    // The replica caught up with one diff; later writes come as the owner's updates.
    for (let i = 1000; i < 1100; i++) a.docs.write(name, (d) => d.getMap('m').set(`key-${i}`, i))
    await waitUntil(() => valueOf(b.docs.get(name), 'key-1099') === 1099, 15_000, 'the updates')
    for (const n of [a, b]) {
      const encoded = n.docs.encodedSize(name)
      expect(n.docs.updateBytes(name)).toBeGreaterThanOrEqual(encoded)
      expect(n.docs.updateBytes(name)).toBeLessThanOrEqual(3 * encoded)
    }
    a.docs.drop(name)
    await waitUntil(() => b.docs.get(name) === undefined, 15_000, 'the drop')
    expect(a.docs.updateBytes(name)).toBe(0)
    expect(b.docs.updateBytes(name)).toBe(0)
  })
})
