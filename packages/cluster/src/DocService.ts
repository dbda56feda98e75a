// Replicated Y.Docs with one writer each. A node owns the docs it creates and is the only one
// that writes them; every peer holds a read-only replica. The owner pushes its updates (merged
// per event-loop turn) to every peer at once, and on every new connection the two sides
// exchange state vectors so that a replica catches up on what it missed (a healed partition).
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import type { Logger, NodeId } from '@sworm/actor'
import { Emitter } from '@sworm/actor'
import { nodeDefaults } from './defaults.js'
import { NotDocOwner, UnknownDoc } from './errors.js'
import { DocKind, Frame } from './frames.js'
import type { Peer } from './Peer.js'

/** Events of the doc service. `origin` is the node whose write it was. */
export interface DocEvents extends Record<string, unknown[]> {
  /** A replica appeared (a peer announced a doc this node did not hold). */
  replica: [name: string, owner: NodeId]
  /**
   * A doc changed: by a local write (`origin` is this node) or by an update from its owner. On a
   * replica, `update` is the owner's update as it arrived (a view into the frame: copy it to keep it).
   */
  update: [name: string, doc: Y.Doc, origin: NodeId, update: Uint8Array]
  /** A doc was dropped: by its owner (announced) or locally. */
  drop: [name: string, owner: NodeId]
}

interface Entry {
  doc: Y.Doc
  owner: NodeId
  /** Owned docs: the state vector as of the last flush to peers. */
  flushed?: Uint8Array
  /** Bytes of every update this doc has taken since it was created (see `updateBytes`). */
  bytes: number
}

/** Marks updates applied from the wire, so they are not taken for local writes. */
const REMOTE = Symbol('sworm.remote-update')

/** True when a transaction changed the doc (the test Yjs makes before it emits `update`). */
function hasChanges(tr: Y.Transaction): boolean {
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
 * The docs of one node, owned and replicated.
 * @example
 * const doc = node.docs.create(`registry/${node.id}/0`)
 * node.docs.write(doc.guid, (d) => d.getMap('names').set('a', 1))
 */
export class DocService {
  private readonly nodeId: NodeId
  private readonly peers: () => Iterable<Peer>
  private readonly logger: Logger
  private readonly entries = new Map<string, Entry>()
  private readonly pending = new Map<string, Uint8Array[]>()
  private flushScheduled = false
  private readonly events: Emitter<DocEvents>
  updatesOut = 0
  updatesIn = 0

  constructor(nodeId: NodeId, peers: () => Iterable<Peer>, logger: Logger) {
    this.nodeId = nodeId
    this.peers = peers
    this.logger = logger
    this.events = new Emitter<DocEvents>((e, ev) =>
      logger.error({ err: e, event: ev }, 'doc listener threw'),
    )
  }

  on<K extends keyof DocEvents>(event: K, listener: (...args: DocEvents[K]) => void): () => void {
    return this.events.on(event, listener)
  }

  /** Creates a doc this node owns (or returns it if it exists). Names are cluster-wide. */
  create(name: string): Y.Doc {
    const existing = this.entries.get(name)
    if (existing !== undefined) {
      if (existing.owner !== this.nodeId) throw new NotDocOwner(name)
      return existing.doc
    }
    const doc = new Y.Doc({ guid: name })
    const entry: Entry = { doc, owner: this.nodeId, flushed: Y.encodeStateVector(doc), bytes: 0 }
    this.entries.set(name, entry)
    doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin === REMOTE) return
      entry.bytes += update.length
      this.queueUpdate(name, update)
      this.events.emit('update', name, doc, this.nodeId, update)
    })
    // Announce it at once so peers know the doc even before its first write.
    for (const peer of this.peers()) this.announce(peer, name, doc)
    return doc
  }

  /** Runs `fn` in one transaction on a doc this node owns; throws `NotDocOwner` otherwise. */
  write<T>(name: string, fn: (doc: Y.Doc) => T): T {
    const e = this.entries.get(name)
    if (e === undefined) throw new UnknownDoc(name)
    if (e.owner !== this.nodeId) throw new NotDocOwner(name)
    let out!: T
    e.doc.transact(() => {
      out = fn(e.doc)
    })
    return out
  }

  /** The doc (owned or replica), for reading. Treat replicas as read-only. */
  get(name: string): Y.Doc | undefined {
    return this.entries.get(name)?.doc
  }

  owner(name: string): NodeId | undefined {
    return this.entries.get(name)?.owner
  }

  isOwner(name: string): boolean {
    return this.entries.get(name)?.owner === this.nodeId
  }

  /** Every doc name held here, or those owned by `owner`. */
  names(owner?: NodeId): string[] {
    const out: string[] = []
    for (const [name, e] of this.entries)
      if (owner === undefined || e.owner === owner) out.push(name)
    return out
  }

  /**
   * Drops a doc. An owned doc is dropped everywhere (peers are told, after every update queued
   * before, so a new generation published first is already there); a replica only here (it
   * comes back if its owner announces it again, e.g. after a partition heals).
   */
  drop(name: string): void {
    const e = this.entries.get(name)
    if (e === undefined) return
    if (e.owner === this.nodeId) {
      this.flushPending()
      for (const peer of this.peers()) {
        peer.writeNow((enc) => {
          encoding.writeVarUint(enc, Frame.DocDrop)
          encoding.writeVarString(enc, name)
        })
      }
    }
    this.entries.delete(name)
    this.pending.delete(name)
    e.doc.destroy()
    this.events.emit('drop', name, e.owner)
  }

  /**
   * Bytes of the doc's full state as it would be synced, exactly. It encodes the whole doc each
   * time (~100 ms per 100,000 registry entries, the event loop blocked): for tests and one-off
   * checks; a figure read often, such as a metric, takes `updateBytes`.
   */
  encodedSize(name: string): number {
    const e = this.entries.get(name)
    return e === undefined ? 0 : Y.encodeStateAsUpdate(e.doc).length
  }

  /**
   * The sum of the bytes of the updates the doc has taken since it was created: every local
   * write on its owner, every update applied from the owner on a replica (the catch-up diff
   * included). A running count, so reading it costs nothing and encodes nothing. It is an upper
   * bound of `encodedSize` (apart from the 2 bytes of an empty doc): each update repeats a header
   * and keeps what later ones overwrite or delete, so it grows with the doc's history, and a
   * compaction (a new generation: a new doc, counted from zero) brings it back down to its live
   * content. A dropped doc counts 0. Direct writes to a replica, which are never replicated,
   * are not counted.
   */
  updateBytes(name: string): number {
    return this.entries.get(name)?.bytes ?? 0
  }

  // ------------------------------------------------------------ replication

  private queueUpdate(name: string, update: Uint8Array): void {
    let list = this.pending.get(name)
    if (list === undefined) {
      list = []
      this.pending.set(name, list)
    }
    list.push(update)
    if (!this.flushScheduled) {
      this.flushScheduled = true
      setImmediate(this.flushPending)
    }
  }

  /** True when local writes wait to go out (peers flush them before any later frame). */
  get dirty(): boolean {
    return this.pending.size > 0
  }

  /** Sends every queued update, merged per doc, to every peer. */
  readonly flushPending = (): void => {
    this.flushScheduled = false
    if (this.pending.size === 0) return
    const batches = [...this.pending]
    this.pending.clear()
    const peers = [...this.peers()]
    for (const [name, updates] of batches) {
      const e = this.entries.get(name)
      if (e === undefined) continue
      // Merging is quadratic (yjs 13.6: 20,000 one-entry updates take ~3.7 s); past a few the
      // diff since the last flush is sent instead: ~14 ms and the same size (it also repeats
      // the doc's delete set, which compaction keeps small).
      const merged =
        updates.length === 1
          ? updates[0]!
          : updates.length <= nodeDefaults.maxMergedUpdates || e.flushed === undefined
            ? Y.mergeUpdates(updates)
            : Y.encodeStateAsUpdate(e.doc, e.flushed)
      e.flushed = Y.encodeStateVector(e.doc)
      this.updatesOut++
      for (const peer of peers) {
        writeDoc(peer, name, DocKind.Update, merged)
      }
    }
  }

  private announce(peer: Peer, name: string, doc: Y.Doc): void {
    writeDoc(peer, name, DocKind.StateVector, Y.encodeStateVector(doc))
  }

  /** A new connection: announce every owned doc (the peer answers with what it lacks). */
  peerUp(peer: Peer): void {
    this.flushPending()
    for (const [name, e] of this.entries)
      if (e.owner === this.nodeId) this.announce(peer, name, e.doc)
  }

  /** Reads one `Doc` frame (after its type) from `peer`. */
  handleDoc(peer: Peer, dec: decoding.Decoder): void {
    const name = decoding.readVarString(dec)
    const kind = decoding.readVarUint(dec)
    const bytes = decoding.readVarUint8Array(dec)
    const e = this.entries.get(name)
    if (kind === DocKind.Request || kind === DocKind.StateVector) {
      if (e !== undefined && e.owner === this.nodeId) {
        // A replica tells what it has: send it the rest.
        this.flushPending()
        const diff = Y.encodeStateAsUpdate(e.doc, bytes)
        writeDoc(peer, name, DocKind.Update, diff)
        return
      }
      // A request for a doc this node owned and has dropped since (a compacted generation)
      // must not be taken for an announce: the two nodes would each take the other for its
      // owner and trade state vectors for ever.
      if (kind === DocKind.Request) return
      // The owner announces its doc: reply with our state vector so it sends what we lack.
      const replica = this.replicaFor(name, peer, e)
      if (replica === undefined) return
      writeDoc(peer, name, DocKind.Request, Y.encodeStateVector(replica))
      return
    }
    if (kind !== DocKind.Update) throw new RangeError(`unknown doc frame kind ${kind}`)
    // An update alone cannot start a replica (it would lack everything before it): a doc not
    // held here (dropped locally) comes back only when its owner announces it again.
    if (e === undefined) return
    const replica = this.replicaFor(name, peer, e)
    if (replica === undefined) return
    this.updatesIn++
    // One transaction around the apply, so that its changes are known without asking Yjs to
    // encode them again (an `update` listener does: ~100 ms per 100,000 registry entries).
    const tr = replica.transact((t) => {
      Y.applyUpdate(replica, bytes, REMOTE)
      return t
    }, REMOTE)
    if (!hasChanges(tr)) return
    e.bytes += bytes.length
    compactValues(tr)
    this.events.emit('update', name, replica, e.owner, bytes)
  }

  /** Reads one `DocDrop` frame: the owner dropped the doc. */
  handleDrop(peer: Peer, dec: decoding.Decoder): void {
    const name = decoding.readVarString(dec)
    const e = this.entries.get(name)
    if (e === undefined || e.owner !== peer.nodeId) return
    this.entries.delete(name)
    e.doc.destroy()
    this.events.emit('drop', name, e.owner)
  }

  private replicaFor(name: string, peer: Peer, e: Entry | undefined): Y.Doc | undefined {
    if (e !== undefined) {
      if (e.owner !== peer.nodeId) {
        this.logger.warn(
          { doc: name, owner: e.owner, from: peer.nodeId },
          'doc update from a node that does not own it ignored',
        )
        return undefined
      }
      return e.doc
    }
    const doc = new Y.Doc({ guid: name })
    const owner = peer.nodeId
    this.entries.set(name, { doc, owner, bytes: 0 })
    // Updates from the owner are announced by handleDoc; this only catches writes made here.
    doc.on('afterTransaction', (tr: Y.Transaction) => {
      if (tr.origin === REMOTE || !hasChanges(tr)) return
      // Someone wrote to a replica directly: it stays local and is not replicated.
      this.logger.error(
        { doc: name, owner },
        'local write to a replicated doc ignored (not its owner)',
      )
    })
    this.events.emit('replica', name, owner)
    return doc
  }

  /** Destroys every doc (node stop). */
  close(): void {
    for (const e of this.entries.values()) e.doc.destroy()
    this.entries.clear()
    this.pending.clear()
  }
}

/** Queues one `Doc` frame for `peer`: the doc's name, the kind, and the bytes. */
function writeDoc(peer: Peer, name: string, kind: number, bytes: Uint8Array): void {
  peer.writeNow((enc) => {
    encoding.writeVarUint(enc, Frame.Doc)
    encoding.writeVarString(enc, name)
    encoding.writeVarUint(enc, kind)
    encoding.writeVarUint8Array(enc, bytes)
  })
}
