// A doc's diff in parts: each part a Yjs update of its own and about the size asked for, and
// together what one `Y.encodeStateAsUpdate` would give, also while the doc changes between parts.
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { DiffParts, SharedParts, type Parts } from '../src/docParts.js'

const PART = 4 * 1024

/** mulberry32: the tests' seeded PRNG (each test names its seeds, so a failure reruns as is). */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A doc written like the registry's: one name per transaction, some overwritten or deleted. */
function registryLike(count: number, random: () => number): Y.Doc {
  const doc = new Y.Doc()
  const names = doc.getMap('names')
  for (let i = 0; i < count; i++) {
    doc.transact(() => names.set(`s${i}`, { p: `<n.${i}>`, c: 1_000_000 + i, m: { d: i } }))
    const r = random()
    if (r < 0.1) names.set(`s${Math.floor(random() * i)}`, { x: 'exit', p: `<n.${i}>` })
    else if (r < 0.15) names.delete(`s${Math.floor(random() * i)}`)
  }
  doc.transact(() => {
    doc.getMap('groups').set('g\0<n.1>', 1)
    doc.getText('notes').insert(0, 'hello world')
    doc.getMap('info').set('ready', true)
  })
  return doc
}

function all(parts: Parts): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let p = parts.next(); p !== undefined; p = parts.next()) out.push(p)
  return out
}

/** The doc's content, state vector and delete set: equal for docs in the same state. */
function stateOf(doc: Y.Doc): unknown {
  return {
    names: doc.getMap('names').toJSON(),
    groups: doc.getMap('groups').toJSON(),
    info: doc.getMap('info').toJSON(),
    notes: doc.getText('notes').toJSON(),
    snapshot: Y.encodeSnapshot(Y.snapshot(doc)),
  }
}

describe('DiffParts', () => {
  it('cuts a doc into updates of about the part size that together rebuild it', () => {
    const random = seededRandom(1)
    const doc = registryLike(3000, random)
    const parts = all(new DiffParts(doc, new Map(), PART))
    expect(parts.length).toBeGreaterThan(20)
    const replica = new Y.Doc()
    for (const part of parts) {
      // One struct (a name's entry) is far smaller than a part: a part stops right after it.
      expect(part.length).toBeLessThan(PART + 512)
      Y.applyUpdate(replica, part)
      expect(replica.store.pendingStructs).toBeNull()
    }
    expect(stateOf(replica)).toEqual(stateOf(doc))
  })

  it('sends only what a replica lacks', () => {
    const random = seededRandom(2)
    const doc = registryLike(1000, random)
    const replica = new Y.Doc()
    Y.applyUpdate(replica, Y.encodeStateAsUpdate(doc))
    const names = doc.getMap('names')
    for (let i = 0; i < 200; i++) names.set(`late${i}`, i)
    names.delete('s3')
    const parts = all(new DiffParts(doc, Y.decodeStateVector(Y.encodeStateVector(replica)), PART))
    const bytes = parts.reduce((n, p) => n + p.length, 0)
    expect(bytes).toBeLessThan(Y.encodeStateAsUpdate(doc).length / 3)
    for (const part of parts) Y.applyUpdate(replica, part)
    expect(stateOf(replica)).toEqual(stateOf(doc))
  })

  it('gives a struct bigger than a part a part of its own', () => {
    const doc = new Y.Doc()
    const m = doc.getMap('m')
    m.set('small', 1)
    m.set('big', 'x'.repeat(3 * PART))
    m.set('after', 2)
    const parts = all(new DiffParts(doc, new Map(), PART))
    expect(parts.some((p) => p.length > 3 * PART)).toBe(true)
    const replica = new Y.Doc()
    for (const part of parts) Y.applyUpdate(replica, part)
    expect(replica.getMap('m').toJSON()).toEqual(m.toJSON())
  })

  it('converges when the doc changes between parts and its later updates follow the parts', () => {
    for (const seed of [3, 4, 5]) {
      const random = seededRandom(seed)
      const doc = registryLike(2000, random)
      const diff = new DiffParts(doc, new Map(), PART)
      const later: Uint8Array[] = []
      doc.on('update', (u: Uint8Array) => later.push(u))
      const replica = new Y.Doc()
      let n = 0
      for (let p = diff.next(); p !== undefined; p = diff.next()) {
        Y.applyUpdate(replica, p)
        // The owner goes on writing, overwriting and deleting meanwhile.
        const names = doc.getMap('names')
        names.set(`s${Math.floor(random() * 2000)}`, { x: 'unregister', p: `<n.${n}>` })
        names.delete(`s${Math.floor(random() * 2000)}`)
        names.set(`new${n++}`, n)
      }
      for (const u of later) Y.applyUpdate(replica, u)
      expect(replica.store.pendingStructs, `seed ${seed}`).toBeNull()
      expect(replica.store.pendingDs, `seed ${seed}`).toBeNull()
      expect(stateOf(replica), `seed ${seed}`).toEqual(stateOf(doc))
    }
  })

  it('handles a doc of several clients', () => {
    const a = new Y.Doc()
    const b = new Y.Doc()
    a.getMap('m').set('a', 1)
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a))
    for (let i = 0; i < 500; i++) b.getMap('m').set(`b${i}`, i)
    Y.applyUpdate(a, Y.encodeStateAsUpdate(b))
    for (let i = 0; i < 500; i++) a.getMap('m').set(`a${i}`, i)
    a.getMap('m').delete('b7')
    const replica = new Y.Doc()
    for (const part of all(new DiffParts(a, new Map(), 1024))) Y.applyUpdate(replica, part)
    expect(stateOf(replica)).toEqual(stateOf(a))
  })

  it('gives nothing for a replica that lacks nothing and a doc with no deletions', () => {
    const doc = new Y.Doc()
    doc.getMap('m').set('k', 1)
    const sv = Y.decodeStateVector(Y.encodeStateVector(doc))
    expect(all(new DiffParts(doc, sv, PART))).toEqual([])
  })
})

describe('SharedParts', () => {
  it('encodes each part once for several readers, each reading at its own pace', () => {
    const doc = registryLike(1000, seededRandom(6))
    let encoded = 0
    const diff = new DiffParts(doc, new Map(), PART)
    const counting: Parts = {
      next: () => {
        const p = diff.next()
        if (p !== undefined) encoded++
        return p
      },
    }
    const shared = new SharedParts(counting, 2)
    const [fast, slow] = [shared.reader(), shared.reader()]
    const fastParts = all(fast)
    const slowParts = all(slow)
    expect(encoded).toBe(fastParts.length)
    expect(slowParts).toEqual(fastParts)
  })
})
