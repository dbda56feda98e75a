// The doc service writes an owned doc in one transaction per event-loop turn: every write of a
// turn is read back at once, and the doc's observers and update come once, when the turn ends.
import { setImmediate as turn } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { silentLogger, type NodeId } from '@swormjs/actor'
import { DocService } from '../src/DocService.js'
import { endTurn, inTransaction, openTurn } from '../src/turnTransaction.js'
import { nodeDefaults } from '../src/defaults.js'

const NODE = 'n0' as NodeId
const NAME = `registry/r/${NODE}/0`

/** A service with no peers, one owned doc, and the updates and map events it produced. */
function service(): {
  docs: DocService
  doc: Y.Doc
  updates: Uint8Array[]
  events: Array<Set<string>>
} {
  const docs = new DocService(NODE, () => [], silentLogger)
  const doc = docs.create(NAME)
  const updates: Uint8Array[] = []
  const events: Array<Set<string>> = []
  docs.on('update', (_name, _doc, _origin, update) => updates.push(update.slice()))
  doc.getMap('names').observe((e) => events.push(new Set<string>(e.keysChanged as Set<string>)))
  return { docs, doc, updates, events }
}

describe('one transaction per turn on an owned doc', () => {
  it('reads every write at once and sends the turn as one update, observers once', async () => {
    const { docs, doc, updates, events } = service()
    for (let i = 0; i < 100; i++) {
      docs.write(NAME, (d) => d.getMap('names').set(`k${i}`, i))
      expect(doc.getMap('names').get(`k${i}`)).toBe(i)
    }
    expect(docs.dirty).toBe(true)
    expect(updates).toHaveLength(0)
    await turn()
    expect(docs.dirty).toBe(false)
    expect(updates).toHaveLength(1)
    expect(events).toHaveLength(1)
    expect(events[0]!.size).toBe(100)
    // The update carries the whole turn: a fresh doc gets every write from it alone.
    const copy = new Y.Doc()
    Y.applyUpdate(copy, updates[0]!)
    expect(copy.getMap('names').toJSON()).toEqual(doc.getMap('names').toJSON())
    docs.close()
  })

  it('ends a long turn every so many writes, each update fitting a frame, each write whole', async () => {
    const { docs, doc, updates, events } = service()
    const value = 'v'.repeat(100)
    for (let i = 0; i < 3000; i++) {
      // Two keys per write: a write's changes never straddle two updates.
      docs.write(NAME, (d) => {
        d.getMap('names').set(`k${i}`, value)
        d.getMap('names').set(`m${i}`, i)
      })
    }
    await turn()
    // About 900 KB in all: one update per turn would be some 30 frames' worth.
    expect(updates.length).toBeGreaterThan(10)
    for (const u of updates) expect(u.length).toBeLessThanOrEqual(nodeDefaults.docChunkBytes)
    for (const e of events) {
      for (const key of e) {
        const n = key.slice(1)
        expect(e.has(`k${n}`) && e.has(`m${n}`)).toBe(true)
      }
    }
    const copy = new Y.Doc()
    for (const u of updates) Y.applyUpdate(copy, u)
    expect(copy.getMap('names').toJSON()).toEqual(doc.getMap('names').toJSON())
    docs.close()
  })

  it('starts a new transaction in the next turn, and flushPending ends the current one', async () => {
    const { docs, updates } = service()
    docs.write(NAME, (d) => d.getMap('names').set('a', 1))
    await turn()
    docs.write(NAME, (d) => d.getMap('names').set('b', 2))
    docs.flushPending()
    expect(updates).toHaveLength(2)
    docs.write(NAME, (d) => d.getMap('names').set('c', 3))
    docs.close()
    expect(updates).toHaveLength(3)
  })

  it('lets a write use transact inside, and keeps a write that throws halfway', async () => {
    const { docs, doc, updates } = service()
    docs.write(NAME, (d) => d.transact(() => d.getMap('names').set('a', 1)))
    expect(() =>
      docs.write(NAME, (d) => {
        d.getMap('names').set('b', 2)
        throw new Error('halfway')
      }),
    ).toThrow('halfway')
    await turn()
    expect(updates).toHaveLength(1)
    expect(doc.getMap('names').toJSON()).toEqual({ a: 1, b: 2 })
    docs.close()
  })

  it('ends a turn with the cleanup of a plain transact (deletes garbage-collected)', () => {
    const doc = new Y.Doc()
    const names = doc.getMap('names')
    let afterAll = 0
    doc.on('afterAllTransactions', () => afterAll++)
    openTurn(doc)
    expect(inTransaction(doc)).toBe(true)
    for (let i = 0; i < 10; i++) names.set('k', i)
    endTurn(doc)
    expect(inTransaction(doc)).toBe(false)
    expect(afterAll).toBe(1)
    // The nine overwritten values were deleted and collected, as a transact would: the same
    // writes by the same client in one plain transact encode to the same bytes.
    const plain = new Y.Doc()
    plain.clientID = doc.clientID
    plain.transact(() => {
      for (let i = 0; i < 10; i++) plain.getMap('names').set('k', i)
    })
    expect(Y.encodeStateAsUpdate(doc)).toEqual(Y.encodeStateAsUpdate(plain))
    // And the doc takes plain transactions afterwards.
    doc.transact(() => names.set('k', 99))
    expect(names.get('k')).toBe(99)
    expect(afterAll).toBe(2)
  })
})
