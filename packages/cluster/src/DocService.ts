// Replicated Y.Docs with one writer each. A node owns the docs it creates and is the only one
// that writes them; every peer holds a read-only replica. The owner writes each doc in one
// transaction per event-loop turn (see `turnTransaction`) and pushes the turn's update ahead of
// the turn's other frames (see `Outbox`) to every peer at once; on every new connection the
// two sides exchange state vectors so that a replica catches up on what it missed (a healed
// partition).
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import type { Logger, NodeId } from '@swormjs/actor'
import { Emitter } from '@swormjs/actor'
import { nodeDefaults } from './defaults.js'
import { ChunkAssembly, UpdateStream } from './DocChunks.js'
import { claimedOwner } from './docNames.js'
import { DiffParts, onePart, SharedParts } from './docParts.js'
import { NotDocOwner, UnknownDoc } from './errors.js'
import { DocKind, Frame, readDocChunk, writeDocFrame } from './frames.js'
import { clip } from './HandshakeGuard.js'
import { PeerTally } from './PeerTally.js'
import type { Peer } from './Peer.js'
import { applyRemote, hasChanges, REMOTE } from './replicaApply.js'
import { endTurn, inTransaction, openTurn } from './turnTransaction.js'

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
  /** Owned docs: `write` calls in the open turn transaction. */
  turnWrites: number
  /** Owned docs: how many writes a turn transaction takes before the next one (see `write`). */
  writesPerUpdate: number
}

/** A turn transaction's first bound, in writes, before its doc's updates tell their size. */
const FIRST_WRITES_PER_UPDATE = 128

/** Sizes of the doc service's traffic. */
export interface DocServiceOptions {
  /**
   * An update or sync answer bigger than this goes in parts of about this size, and a part
   * bigger than this in chunks of this size. Default `nodeDefaults.docChunkBytes`.
   */
  chunkBytes?: number
  /** The largest update (a part, or the chunks of one) taken from a peer. Default unbounded. */
  maxUpdateBytes?: number
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
  /** Owned docs with this turn's transaction open (see `write`), ended by `flushPending`. */
  private readonly open = new Set<Y.Doc>()
  private flushScheduled = false
  private readonly events: Emitter<DocEvents>
  private readonly chunkBytes: number
  /** A part's target size: room left for its headers, so that it fits one chunk. */
  private readonly partBytes: number
  /** `write` calls running now (a write inside another's `fn` ends no transaction). */
  private writing = 0
  private readonly chunks: ChunkAssembly<Peer>
  updatesOut = 0
  updatesIn = 0
  /** Docs a peer published under another node's name (ignored). */
  readonly forged = new PeerTally()
  /** Docs a peer announced past `maxDocsPerPeer` (ignored). */
  readonly overLimit = new PeerTally()
  /** Replicas held per owner (`maxDocsPerPeer` at most each). */
  private readonly replicasOf = new Map<NodeId, number>()

  constructor(
    nodeId: NodeId,
    peers: () => Iterable<Peer>,
    logger: Logger,
    options: DocServiceOptions = {},
  ) {
    this.nodeId = nodeId
    this.peers = peers
    this.logger = logger
    this.chunkBytes = options.chunkBytes ?? nodeDefaults.docChunkBytes
    this.partBytes = Math.max(1, this.chunkBytes - nodeDefaults.frameHeadroomBytes)
    this.chunks = new ChunkAssembly(options.maxUpdateBytes ?? Infinity)
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
    const entry: Entry = {
      doc,
      owner: this.nodeId,
      flushed: Y.encodeStateVector(doc),
      bytes: 0,
      turnWrites: 0,
      writesPerUpdate: FIRST_WRITES_PER_UPDATE,
    }
    this.entries.set(name, entry)
    doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin === REMOTE) return
      entry.bytes += update.length
      const writes = entry.turnWrites
      if (writes > 0) {
        entry.writesPerUpdate = Math.max(
          8,
          Math.floor((this.partBytes * 0.75 * writes) / Math.max(1, update.length)),
        )
      }
      entry.turnWrites = 0
      this.queueUpdate(name, update)
      this.events.emit('update', name, doc, this.nodeId, update)
    })
    // Announce it at once so peers know the doc even before its first write.
    for (const peer of this.peers()) this.announce(peer, name, doc)
    return doc
  }

  /**
   * Runs `fn` in this turn's transaction on a doc this node owns; throws `NotDocOwner`
   * otherwise. Reads see the write at once; the doc's observers and its `update` event run when
   * the turn's transaction ends (before the turn's frames are sent, or in `flushPending`), and in
   * a turn of many writes also every so many writes, before the next one (see below).
   */
  write<T>(name: string, fn: (doc: Y.Doc) => T): T {
    const e = this.entries.get(name)
    if (e === undefined) throw new UnknownDoc(name)
    if (e.owner !== this.nodeId) throw new NotDocOwner(name)
    if (!inTransaction(e.doc)) {
      openTurn(e.doc)
      this.open.add(e.doc)
      this.scheduleFlush()
      e.turnWrites = 0
    } else if (this.writing === 0 && this.open.has(e.doc) && e.turnWrites >= e.writesPerUpdate) {
      // A turn that writes a doc thousands of times (a burst of registrations, a leave) ends
      // its transaction every so many writes, so that each update fits a frame and goes to
      // the peers as Yjs encoded it. One update for the whole turn would be bigger than a
      // frame, and was sent as the diff since the last flush, in parts encoded again from the
      // doc: every write encoded twice (a third of the registering node's CPU in a burst).
      // Only between writes: one write's changes stay in one transaction.
      endTurn(e.doc)
      openTurn(e.doc)
    }
    e.turnWrites++
    this.writing++
    try {
      return fn(e.doc)
    } finally {
      this.writing--
    }
  }

  /** Ends the turn's transactions: their updates join `pending`. */
  private endTurns(): void {
    if (this.open.size === 0) return
    const docs = [...this.open]
    this.open.clear()
    for (const doc of docs) endTurn(doc)
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return
    this.flushScheduled = true
    setImmediate(this.flushPending)
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
        peer.writeLead((enc) => {
          encoding.writeVarUint(enc, Frame.DocDrop)
          encoding.writeVarString(enc, name)
        })
      }
    }
    this.entries.delete(name)
    this.replicaGone(e.owner)
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
   * are not counted. A write of this turn counts once the turn's transaction has ended.
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
    this.scheduleFlush()
  }

  /** True when local writes wait to go out (a peer's batch takes them in before it is sealed). */
  get dirty(): boolean {
    return this.pending.size > 0 || this.open.size > 0
  }

  /** Ends the turn's transactions and sends every queued update, merged per doc, to every peer. */
  readonly flushPending = (): void => {
    // Ended first: their updates join `pending` without scheduling another flush.
    this.endTurns()
    this.flushScheduled = false
    if (this.pending.size === 0) return
    const batches = [...this.pending]
    this.pending.clear()
    const peers = [...this.peers()]
    for (const [name, updates] of batches) {
      const e = this.entries.get(name)
      if (e === undefined) continue
      this.updatesOut++
      let bytes = 0
      let largest = 0
      for (const u of updates) {
        bytes += u.length
        largest = Math.max(largest, u.length)
      }
      if (bytes > this.chunkBytes && largest <= this.chunkBytes) {
        // Updates that each fit a frame (a long turn's transactions, see `write`) go as they
        // are, in order, those that fit a frame together merged.
        e.flushed = Y.encodeStateVector(e.doc)
        for (const group of framesOf(updates, this.chunkBytes)) {
          const merged = group.length === 1 ? group[0]! : Y.mergeUpdates(group)
          for (const peer of peers) this.writeUpdate(peer, name, merged)
        }
        continue
      }
      if (bytes > this.chunkBytes && e.flushed !== undefined) {
        // A big change (a burst of writes, a compaction's new generation) goes as the diff
        // since the last flush, in parts encoded as each peer's turn comes, once for them all.
        const shared = new SharedParts(
          new DiffParts(e.doc, Y.decodeStateVector(e.flushed), this.partBytes),
          peers.length,
        )
        e.flushed = Y.encodeStateVector(e.doc)
        for (const peer of peers)
          peer.streamLead(new UpdateStream(name, shared.reader(), this.chunkBytes))
        continue
      }
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
      for (const peer of peers) this.writeUpdate(peer, name, merged)
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
        this.sendDiff(peer, name, e, bytes)
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
    this.applyUpdate(peer, name, bytes)
  }

  /**
   * Reads one `DocChunk` frame: a piece of an update too big for one frame. The update is
   * applied once its last piece comes; a piece out of place throws `BadDocChunk`.
   */
  handleChunk(peer: Peer, dec: decoding.Decoder): void {
    const f = readDocChunk(dec)
    const whole = this.chunks.take(peer, f, (name) => this.entries.get(name)?.owner === peer.nodeId)
    if (whole !== undefined) this.applyUpdate(peer, f.doc, whole)
  }

  /** The doc whose chunked update `peer` is in the middle of sending, if any. */
  chunking(peer: Peer): string | undefined {
    return this.chunks.inProgress(peer)
  }

  /** `peer`'s connection is gone: what it sent of an unfinished chunked update goes too. */
  peerGone(peer: Peer): void {
    this.chunks.forget(peer)
  }

  /** Bytes received of chunked updates not yet whole, over every peer (bounded per peer). */
  partialUpdateBytes(): number {
    return this.chunks.bytes
  }

  /**
   * What a replica at state vector `sv` lacks of an owned doc. A doc small enough goes in one
   * update frame; a bigger one as a stream of parts, so that no step encodes or applies it all.
   */
  private sendDiff(peer: Peer, name: string, e: Entry, sv: Uint8Array): void {
    // The running count is an upper bound of the encoded size: a doc under it fits one frame.
    if (e.bytes <= this.chunkBytes) {
      this.writeUpdate(peer, name, Y.encodeStateAsUpdate(e.doc, sv))
      return
    }
    const parts = new DiffParts(e.doc, Y.decodeStateVector(sv), this.partBytes)
    peer.streamLead(new UpdateStream(name, parts, this.chunkBytes))
  }

  /** One update in one frame, or, past `chunkBytes` (a big delete set), in chunks. */
  private writeUpdate(peer: Peer, name: string, update: Uint8Array): void {
    if (update.length <= this.chunkBytes) writeDoc(peer, name, DocKind.Update, update)
    else peer.streamLead(new UpdateStream(name, onePart(update), this.chunkBytes))
  }

  /** Applies an update of `name` from `peer`, its owner (anyone else's is ignored). */
  private applyUpdate(peer: Peer, name: string, bytes: Uint8Array): void {
    // An update alone cannot start a replica (it would lack everything before it): a doc not
    // held here (dropped locally) comes back only when its owner announces it again.
    const e = this.entries.get(name)
    if (e === undefined) return
    const replica = this.replicaFor(name, peer, e)
    if (replica === undefined) return
    this.updatesIn++
    if (!applyRemote(replica, bytes)) return
    e.bytes += bytes.length
    this.events.emit('update', name, replica, e.owner, bytes)
  }

  /** Reads one `DocDrop` frame: the owner dropped the doc. */
  handleDrop(peer: Peer, dec: decoding.Decoder): void {
    const name = decoding.readVarString(dec)
    const e = this.entries.get(name)
    if (e === undefined || e.owner !== peer.nodeId) return
    this.drop(name)
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
    const claimed = claimedOwner(name)
    if (claimed !== undefined && claimed !== peer.nodeId) {
      if (this.forged.note(peer.nodeId)) {
        this.logger.warn(
          { doc: clip(name), from: peer.nodeId },
          "a peer published a doc under another node's name; ignored",
        )
      }
      return undefined
    }
    const owner = peer.nodeId
    const held = this.replicasOf.get(owner) ?? 0
    if (held >= nodeDefaults.maxDocsPerPeer) {
      if (this.overLimit.note(owner)) {
        this.logger.warn(
          { from: owner, max: nodeDefaults.maxDocsPerPeer },
          'a peer announced more docs than maxDocsPerPeer; the rest ignored',
        )
      }
      return undefined
    }
    this.replicasOf.set(owner, held + 1)
    const doc = new Y.Doc({ guid: name })
    this.entries.set(name, {
      doc,
      owner,
      bytes: 0,
      turnWrites: 0,
      writesPerUpdate: FIRST_WRITES_PER_UPDATE,
    })
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

  /**
   * Drops this node's replicas of `owner`'s application docs (those whose names claim no owner:
   * a registry's and a supervisor's are forgotten by their own layer).
   */
  dropReplicasOf(owner: NodeId): void {
    if (owner === this.nodeId) return
    for (const [name, e] of [...this.entries]) {
      if (e.owner === owner && claimedOwner(name) === undefined) this.drop(name)
    }
  }

  /** A replica of `owner`'s went (the owner's own docs are not counted). */
  private replicaGone(owner: NodeId): void {
    const n = this.replicasOf.get(owner)
    if (n === undefined) return
    if (n <= 1) this.replicasOf.delete(owner)
    else this.replicasOf.set(owner, n - 1)
  }

  /** Destroys every doc (node stop). */
  close(): void {
    this.endTurns()
    for (const e of this.entries.values()) e.doc.destroy()
    this.entries.clear()
    this.pending.clear()
  }
}

/** Queues one `Doc` frame for `peer`: the doc's name, the kind, and the bytes. */
function writeDoc(peer: Peer, name: string, kind: number, bytes: Uint8Array): void {
  peer.writeLead((enc) => writeDocFrame(enc, name, kind, bytes))
}

/**
 * `updates` in order, in groups of at most `nodeDefaults.maxMergedUpdates` whose bytes together
 * fit `frameBytes` (each update fits alone).
 */
function framesOf(updates: readonly Uint8Array[], frameBytes: number): Uint8Array[][] {
  const out: Uint8Array[][] = []
  let group: Uint8Array[] = []
  let bytes = 0
  for (const u of updates) {
    if (
      group.length > 0 &&
      (bytes + u.length > frameBytes || group.length >= nodeDefaults.maxMergedUpdates)
    ) {
      out.push(group)
      group = []
      bytes = 0
    }
    group.push(u)
    bytes += u.length
  }
  if (group.length > 0) out.push(group)
  return out
}
