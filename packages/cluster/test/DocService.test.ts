// The size a doc service reports for a doc: a running count of the update bytes it took, close
// to the doc's encoded size, and read without encoding the doc.
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { silentLogger, type NodeId } from '@swormjs/actor'
import { DocService } from '../src/DocService.js'

const NODE = 'n0' as NodeId

/** A service with no peers, and one owned doc written one name per transaction (per turn). */
function withNames(count: number): { docs: DocService; name: string; doc: Y.Doc } {
  const docs = new DocService(NODE, () => [], silentLogger)
  const name = `registry/r/${NODE}/0`
  const doc = docs.create(name)
  for (let i = 0; i < count; i++) {
    docs.write(name, (d) => d.getMap('names').set(`s${i}`, { p: `<${NODE}.${i}>`, c: i }))
    docs.flushPending()
  }
  return { docs, name, doc }
}

/** Counts the reads of `doc.store`: encoding a doc reads it, a size kept as a count does not. */
function countStoreReads(doc: Y.Doc): { readonly reads: number } {
  const store = doc.store
  const counter = { reads: 0 }
  Object.defineProperty(doc, 'store', {
    configurable: true,
    get() {
      counter.reads++
      return store
    },
  })
  return counter
}

describe('DocService.updateBytes', () => {
  it('grows as names are written and stays between the encoded size and 3 times it', () => {
    const { docs, name, doc } = withNames(0)
    let last = docs.updateBytes(name)
    for (const step of [10, 100, 1000]) {
      for (let i = 0; i < step; i++) {
        docs.write(name, (d) => d.getMap('names').set(`s${step}-${i}`, { p: `<n0.${i}>`, c: i }))
        docs.flushPending()
      }
      const size = docs.updateBytes(name)
      const encoded = Y.encodeStateAsUpdate(doc).length
      expect(size).toBeGreaterThan(last)
      expect(size).toBeGreaterThanOrEqual(encoded)
      expect(size).toBeLessThanOrEqual(3 * encoded)
      last = size
    }
  })

  it('reads the size without encoding the doc', () => {
    const { docs, name, doc } = withNames(2000)
    const counter = countStoreReads(doc)
    expect(docs.updateBytes(name)).toBeGreaterThan(0)
    expect(counter.reads).toBe(0)
    // The exact figure does encode, which is what the count spares a scrape.
    expect(docs.encodedSize(name)).toBeGreaterThan(0)
    expect(counter.reads).toBeGreaterThan(0)
  })

  it('counts a dropped doc as 0 and a new generation from its own writes only', () => {
    const { docs, name } = withNames(500)
    const before = docs.updateBytes(name)
    const next = `registry/r/${NODE}/1`
    docs.create(next)
    docs.write(next, (d) => d.getMap('names').set('s0', { p: `<${NODE}.0>`, c: 0 }))
    docs.flushPending()
    docs.drop(name)
    expect(docs.updateBytes(name)).toBe(0)
    expect(docs.updateBytes(next)).toBeGreaterThan(0)
    expect(docs.updateBytes(next)).toBeLessThan(before / 100)
    expect(docs.updateBytes(next)).toBeLessThanOrEqual(3 * docs.encodedSize(next))
    docs.close()
  })
})
