// How many entries one map holds in each of many docs (the children in each member's supervisor
// doc), kept as entries come and go. A `Y.Map`'s `size` lists every entry to count them: at
// 100,000 entries a read is a long synchronous step, and a `/metrics` scrape or a dashboard
// reads it every few seconds.
//
// The count starts from one pass over the map and then follows each transaction's event. A pass
// made while a transaction is open on the doc, or while its observers run, would see changes
// that the transaction's event then reports again (a turn's transaction stays open until the end
// of the turn: see `turnTransaction.ts`; a doc may be taken up from inside an observer). So
// such a doc is counted once all its transactions have ended.
import type * as Y from 'yjs'

export class MapCounts {
  private readonly map: string
  /** Entries per doc; `undefined` while a count waits for the doc's transactions to end. */
  private readonly counts = new WeakMap<Y.Doc, number | undefined>()

  constructor(map: string) {
    this.map = map
  }

  /** Counts `doc`'s entries from now on (afresh, if it was followed already). */
  follow(doc: Y.Doc): void {
    const followed = this.counts.has(doc)
    this.recount(doc)
    if (followed) return
    doc.getMap<unknown>(this.map).observe((event) => {
      const n = this.counts.get(doc)
      if (n === undefined) return
      let delta = 0
      for (const change of event.keys.values()) {
        if (change.action === 'add') delta++
        else if (change.action === 'delete') delta--
      }
      if (delta !== 0) this.counts.set(doc, n + delta)
    })
  }

  /** The entries of `doc`'s map: its running count, or one pass over it if it has none yet. */
  count(doc: Y.Doc): number {
    return this.counts.get(doc) ?? countKeys(doc.getMap<unknown>(this.map))
  }

  private recount(doc: Y.Doc): void {
    if (doc._transactionCleanups.length === 0) {
      this.counts.set(doc, countKeys(doc.getMap<unknown>(this.map)))
      return
    }
    this.counts.set(doc, undefined)
    doc.once('afterAllTransactions', () => {
      if (this.counts.get(doc) === undefined) {
        this.counts.set(doc, countKeys(doc.getMap<unknown>(this.map)))
      }
    })
  }
}

/** One pass over a map's keys: no list of its entries. */
function countKeys(map: Y.Map<unknown>): number {
  let n = 0
  for (const _ of map.keys()) n++
  return n
}
