// One Yjs transaction per event-loop turn on a doc this node owns. A Yjs transaction costs
// far more to end than a write costs to make (its cleanup works out the state vector, runs
// the observers, merges structs and encodes the update: about 10-50 µs here, where one
// `Y.Map.set` inside an open transaction is 2 µs), and a turn that starts a hundred children
// writes the same doc a hundred times. So the first write of a turn opens a transaction and
// leaves it open; every later write of the turn joins it (Yjs runs a `transact` inside an open
// one as part of it), and the doc service ends it before it sends the turn's updates.
//
// Yjs has no public call that opens a transaction without a callback, so this does what its
// `transact` does on entry, and on exit hands the open transaction to a `transact` call as its
// own so that Yjs runs its usual cleanup on it. It relies on two fields of `Y.Doc` that yjs 13
// types and has kept since 13.0 (`_transaction`, `_transactionCleanups`); the cluster's tests check the
// behaviour (one update per turn, reads and observers as before) so that a change shows.
import * as Y from 'yjs'

/** True while `doc` has a transaction open (a turn's, or a `transact` running now). */
export function inTransaction(doc: Y.Doc): boolean {
  return doc._transaction !== null
}

/**
 * Opens a local transaction on `doc` and leaves it open: writes join it until `endTurn`.
 * Does nothing while one is open.
 */
export function openTurn(doc: Y.Doc): void {
  if (doc._transaction !== null) return
  const tr = new Y.Transaction(doc, null, true)
  doc._transaction = tr
  doc._transactionCleanups.push(tr)
  if (doc._transactionCleanups.length === 1) doc.emit('beforeAllTransactions', [doc])
  doc.emit('beforeTransaction', [tr, doc])
}

/**
 * Ends the transaction `openTurn` left open on `doc`: its observers run and its update is
 * emitted, as at the end of a `transact`. Must not be called from inside a `transact`.
 */
export function endTurn(doc: Y.Doc): void {
  const open = doc._transaction
  if (open === null) return
  doc._transaction = null
  // `transact` opens a fresh transaction and, at its end, cleans up the first of the doc's
  // pending ones if it is the one current then: put the open one back in the fresh one's place.
  Y.transact(doc, () => {
    doc._transactionCleanups.pop()
    doc._transaction = open
  })
}
