// Running counts of a map's entries per doc: what `countChildren` and a `/metrics` scrape read
// instead of listing every entry. Each count must equal the map's real size after any mix of
// transactions, including a doc taken up while a transaction on it is still open.
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { MapCounts } from '../src/MapCounts.js'
import { endTurn, openTurn } from '../src/turnTransaction.js'

const size = (doc: Y.Doc): number => [...doc.getMap('children').keys()].length

describe('MapCounts', () => {
  it('follows adds, updates and deletes, one transaction or many', () => {
    const doc = new Y.Doc()
    const m = doc.getMap<number>('children')
    m.set('before', 0)
    const counts = new MapCounts('children')
    counts.follow(doc)
    expect(counts.count(doc)).toBe(1)
    doc.transact(() => {
      for (let i = 0; i < 50; i++) m.set(`c${i}`, i)
    })
    m.set('c1', 100) // an update: no new entry
    doc.transact(() => {
      m.delete('c2')
      m.set('gone', 1) // added and deleted in one transaction: no change
      m.delete('gone')
    })
    m.delete('not-there')
    expect(counts.count(doc)).toBe(size(doc))
    expect(counts.count(doc)).toBe(50)
  })

  it('counts a doc taken up inside a transaction that is still open once, not twice', () => {
    const doc = new Y.Doc()
    const m = doc.getMap<number>('children')
    for (let i = 0; i < 20; i++) m.set(`old${i}`, i)
    const counts = new MapCounts('children')
    // A turn's transaction: writes made before the doc is followed come in its event too.
    openTurn(doc)
    for (let i = 0; i < 7; i++) m.delete(`old${i}`)
    for (let i = 0; i < 4; i++) m.set(`new${i}`, i)
    counts.follow(doc)
    expect(counts.count(doc)).toBe(17) // read while open: one pass
    m.set('new4', 4)
    endTurn(doc)
    expect(counts.count(doc)).toBe(size(doc))
    m.delete('old10')
    expect(counts.count(doc)).toBe(size(doc))
    expect(size(doc)).toBe(17)
  })

  it('counts a doc taken up from an observer of the update that filled it', () => {
    // As a replica's new generation: announced, then filled and marked ready by one update,
    // and followed from the `ready` observer, before the map's own observers have run.
    const owner = new Y.Doc()
    const replica = new Y.Doc()
    const counts = new MapCounts('children')
    replica.getMap('children') // read before it is filled, so its observers run for the fill
    replica.getMap('info').observe(() => counts.follow(replica))
    // `info` first: its observer runs before the children's, which then include the new one.
    owner.transact(() => {
      owner.getMap('info').set('ready', true)
      for (let i = 0; i < 30; i++) owner.getMap('children').set(`c${i}`, i)
    })
    Y.applyUpdate(replica, Y.encodeStateAsUpdate(owner))
    expect(counts.count(replica)).toBe(30)
    owner.getMap('children').delete('c0')
    Y.applyUpdate(replica, Y.encodeStateAsUpdate(owner, Y.encodeStateVector(replica)))
    expect(counts.count(replica)).toBe(size(replica))
    expect(size(replica)).toBe(29)
  })

  it('counts afresh a doc followed again, and keeps one observer', () => {
    const doc = new Y.Doc()
    const m = doc.getMap<number>('children')
    const counts = new MapCounts('children')
    counts.follow(doc)
    m.set('a', 1)
    counts.follow(doc)
    m.set('b', 2)
    expect(counts.count(doc)).toBe(2)
  })
})
