// A doc's diff against a state vector, cut into parts of about `partBytes`, each a Yjs update
// (v1) of its own: runs of structs in clock order, then the delete set in runs of ranges. Applied
// in order they leave a replica as one `Y.encodeStateAsUpdate(doc, sv)` would, and each part is
// encoded only when asked for, so neither side ever takes one long step over a big doc.
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'

/** One doc's structs or deletions as a sequence of parts, each a valid Yjs update. */
export interface Parts {
  /** The next part, or undefined once every part was given. */
  next(): Uint8Array | undefined
}

/**
 * The diff of an owned doc against `from` (a replica's state vector), in parts.
 *
 * Why each part is sound on its own: a part holds, per client, whole structs from the clock the
 * previous part stopped at. A struct's dependencies (its origins, its parent) come before it in
 * its client's clocks or belong to another client, so applied in order a part never waits for a
 * later one; applied out of order Yjs would park it and integrate it once the gap is filled (its
 * updates commute). The delete set goes last, once its items are there. A part never cuts a
 * struct, so the last one of a client may run past the clock the diff was made for: a later
 * update carrying the same clocks is skipped where they overlap.
 *
 * What a replica shows between parts is a prefix of the owner's history without its deletions
 * (a map entry deleted with `delete` shows until the delete set comes; one overwritten does not,
 * the overwrite deletes it itself). A peer catching up is not up before its `SyncDone`, so the
 * layers above never act on such a state; a live update big enough to be cut is the owner's
 * single turn of writes, and a generation's `ready` is written last in its transaction, so it
 * comes with the last part of the generation's fill (`ComponentDocs.compact`).
 *
 * Only for docs this node owns: an owner has no pending structs or deletions to send along.
 */
export class DiffParts implements Parts {
  private readonly doc: Y.Doc
  private readonly partBytes: number
  /** The doc's state when the diff was made: the clocks it covers, per client. */
  private readonly target: Map<number, number>
  /** Clients with clocks left to send, and the clock to send from. */
  private readonly cursors: Array<[client: number, clock: number]> = []
  /** The delete set, once the structs are out: per client, its ranges, and how far it went. */
  private deletes:
    Array<[client: number, ranges: Array<{ clock: number; len: number }>]> | undefined
  private deleteClient = 0
  private deleteRange = 0
  private done = false
  /** The largest struct written so far, in bytes: what the next one is taken to need. */
  private largest = 0

  constructor(doc: Y.Doc, from: Map<number, number>, partBytes: number) {
    this.doc = doc
    this.partBytes = partBytes
    this.target = stateOf(doc)
    for (const [client, clock] of this.target) {
      const have = from.get(client) ?? 0
      if (have < clock) this.cursors.push([client, have])
    }
    // The order Yjs writes its clients in (descending), so a part reads like one of its updates.
    this.cursors.sort((a, b) => b[0] - a[0])
  }

  next(): Uint8Array | undefined {
    if (this.done) return undefined
    if (this.cursors.length > 0) return this.structPart()
    const part = this.deletePart()
    if (part === undefined) this.done = true
    return part
  }

  /** Structs of one or more clients, up to about `partBytes`, with an empty delete set. */
  private structPart(): Uint8Array {
    const store = this.doc.store.clients
    const runs: Array<{ client: number; clock: number; count: number; bytes: Uint8Array }> = []
    let size = 0
    while (
      this.cursors.length > 0 &&
      (runs.length === 0 || size + this.largest <= this.partBytes)
    ) {
      const cursor = this.cursors[0]!
      const [client] = cursor
      const structs = store.get(client) ?? []
      const end = this.target.get(client) ?? 0
      const first = structs[0]
      let clock = first === undefined ? end : Math.max(cursor[1], first.id.clock)
      const start = clock
      const scratch = new Y.UpdateEncoderV1()
      let count = 0
      let written = 0
      let i = clock < end ? Y.findIndexSS(structs, clock) : structs.length
      // A part stops before the struct that would take it past `partBytes`, judged by the
      // largest struct so far (a part never cuts a struct, so one bigger than all before it may
      // still take the part past: a part too big for a frame goes in chunks).
      while (
        clock < end &&
        i < structs.length &&
        (count === 0 || size + written + this.largest <= this.partBytes)
      ) {
        const s = structs[i]!
        s.write(scratch, clock - s.id.clock)
        const now = encoding.length(scratch.restEncoder)
        this.largest = Math.max(this.largest, now - written)
        written = now
        count++
        clock = s.id.clock + s.length
        i++
      }
      if (count > 0) {
        const bytes = scratch.toUint8Array()
        runs.push({ client, clock: start, count, bytes })
        size += bytes.length
      }
      cursor[1] = clock
      if (clock >= end || i >= structs.length) this.cursors.shift()
    }
    const enc = encoding.createEncoder()
    encoding.writeVarUint(enc, runs.length)
    for (const run of runs) {
      encoding.writeVarUint(enc, run.count)
      encoding.writeVarUint(enc, run.client)
      encoding.writeVarUint(enc, run.clock)
      encoding.writeUint8Array(enc, run.bytes)
    }
    encoding.writeVarUint(enc, 0)
    return encoding.toUint8Array(enc)
  }

  /** Ranges of the delete set, up to about `partBytes`, with no structs; none once all went. */
  private deletePart(): Uint8Array | undefined {
    this.deletes ??= deleteSetOf(this.doc, this.target)
    if (this.deleteClient >= this.deletes.length) return undefined
    const runs: Array<{ client: number; count: number; bytes: Uint8Array }> = []
    let size = 0
    // A range takes two varuints: 16 bytes at most.
    while (
      this.deleteClient < this.deletes.length &&
      (runs.length === 0 || size + 32 <= this.partBytes)
    ) {
      const [client, ranges] = this.deletes[this.deleteClient]!
      const scratch = new Y.UpdateEncoderV1()
      let count = 0
      while (
        this.deleteRange < ranges.length &&
        (count === 0 || size + encoding.length(scratch.restEncoder) + 16 <= this.partBytes)
      ) {
        const r = ranges[this.deleteRange++]!
        scratch.writeDsClock(r.clock)
        scratch.writeDsLen(r.len)
        count++
      }
      const bytes = scratch.toUint8Array()
      runs.push({ client, count, bytes })
      size += bytes.length
      if (this.deleteRange >= ranges.length) {
        this.deleteClient++
        this.deleteRange = 0
      }
    }
    const enc = encoding.createEncoder()
    encoding.writeVarUint(enc, 0)
    encoding.writeVarUint(enc, runs.length)
    for (const run of runs) {
      encoding.writeVarUint(enc, run.client)
      encoding.writeVarUint(enc, run.count)
      encoding.writeUint8Array(enc, run.bytes)
    }
    return encoding.toUint8Array(enc)
  }
}

/** One update as a sequence of one part. */
export function onePart(update: Uint8Array): Parts {
  let given = false
  return {
    next: () => {
      if (given) return undefined
      given = true
      return update
    },
  }
}

/** The doc's state vector as a map (what `Y.encodeStateVector` encodes). */
function stateOf(doc: Y.Doc): Map<number, number> {
  return Y.decodeStateVector(Y.encodeStateVector(doc))
}

/**
 * The doc's delete set now, cut to the clocks below `target`: deletions of later structs travel
 * with the updates that carry those structs.
 */
function deleteSetOf(
  doc: Y.Doc,
  target: Map<number, number>,
): Array<[number, Array<{ clock: number; len: number }>]> {
  const out: Array<[number, Array<{ clock: number; len: number }>]> = []
  for (const [client, items] of Y.createDeleteSetFromStructStore(doc.store).clients) {
    const end = target.get(client) ?? 0
    const ranges: Array<{ clock: number; len: number }> = []
    for (const item of items) {
      if (item.clock >= end) break
      ranges.push({ clock: item.clock, len: Math.min(item.len, end - item.clock) })
    }
    if (ranges.length > 0) out.push([client, ranges])
  }
  return out.sort((a, b) => b[0] - a[0])
}

/**
 * Hands the parts of one diff to several readers (the peers a live update goes to), encoding
 * each part once, when the first reader asks for it, and letting it go once every reader took it.
 */
export class SharedParts {
  private readonly parts: Parts
  private readonly readers: number
  private readonly taken = new Map<number, { bytes: Uint8Array; left: number }>()
  private produced = 0
  private finished = false

  constructor(parts: Parts, readers: number) {
    this.parts = parts
    this.readers = readers
  }

  /** One reader's view: its own position in the shared sequence. */
  reader(): Parts {
    let index = 0
    return { next: () => this.take(index++) }
  }

  private take(index: number): Uint8Array | undefined {
    while (this.produced <= index && !this.finished) {
      const bytes = this.parts.next()
      if (bytes === undefined) this.finished = true
      else this.taken.set(this.produced++, { bytes, left: this.readers })
    }
    const entry = this.taken.get(index)
    if (entry === undefined) return undefined
    if (--entry.left === 0) this.taken.delete(index)
    return entry.bytes
  }
}
