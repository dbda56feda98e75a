// How an owner's update goes into a replica: in one transaction marked as from the wire (so it
// is never taken for a local write), with what it changed read off that transaction.
import * as Y from 'yjs'

/** Marks updates applied from the wire, so they are not taken for local writes. */
export const REMOTE = Symbol('sworm.remote-update')

/** True when a transaction changed the doc (the test Yjs makes before it emits `update`). */
export function hasChanges(tr: Y.Transaction): boolean {
  if (tr.deleteSet.clients.size > 0) return true
  for (const [client, clock] of tr.afterState) if (tr.beforeState.get(client) !== clock) return true
  return false
}

/**
 * Yjs decodes each value it receives into an array grown by `push`: 17 slots, ~160 bytes of
 * heap kept for as long as the entry lives, to hold one value (a local write makes a one-slot
 * array, 32 bytes). On a replica of 100,000 registry names that was 16 MB, a quarter of its
 * heap; a copy of the array with the same value in it puts it right.
 */
function compactValues(tr: Y.Transaction): void {
  for (const [type, keys] of tr.changed) {
    for (const key of keys) {
      if (key === null) continue
      const content = type._map.get(key)?.content
      if (content instanceof Y.ContentAny && content.arr.length === 1)
        content.arr = [content.arr[0]]
    }
  }
}

/**
 * Applies `update` to `replica`; false when it changed nothing (all of it was there already).
 * One transaction around the apply, so that its changes are known without asking Yjs to encode
 * them again (an `update` listener does: ~100 ms per 100,000 registry entries).
 */
export function applyRemote(replica: Y.Doc, update: Uint8Array): boolean {
  const tr = replica.transact((t) => {
    Y.applyUpdate(replica, update, REMOTE)
    return t
  }, REMOTE)
  if (!hasChanges(tr)) return false
  compactValues(tr)
  return true
}
