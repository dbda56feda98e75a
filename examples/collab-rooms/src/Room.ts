// A document room: the sworm worker that holds one room's Y.Doc, wherever in the cluster the
// room's name hashes to. Connections reach it by name (`Rooms.on(node).call/cast`); it answers
// sync requests, applies updates and publishes each to the room's group, the connection
// processes of every node. When its node leaves, the document moves with handoff.
import * as Y from 'yjs'
import { Actor, Sworm, type Name, type Pid } from '@swormjs/sworm'

export interface RoomArgs {
  /** The room's name (its group is `roomGroup(name)`). */
  name: string
}

/** A call to a room: what the client lacks given its state vector, and the room's own. */
export interface SyncRequest {
  type: 'sync'
  /** The client's state vector; without it, the reply's `update` is the whole document. */
  sv?: Uint8Array
}

export interface SyncReply {
  update: Uint8Array
  sv: Uint8Array
  /** The worker that answered: the connection monitors it to re-sync if it ends. */
  worker: Pid
}

/** A call to a room: its counters. */
export interface StatsRequest {
  type: 'stats'
}

export interface RoomStats {
  /** Updates that changed the document. */
  updates: number
  /**
   * Re-syncs that brought the room edits it lacked after its worker changed. A room restarted
   * empty after a crash gets its document back this way; after a graceful move it stays 0,
   * since sworm delivers everything sent during the move to the next worker.
   */
  repairs: number
}

/** A cast to a room: an update made by the client of connection `from`. */
export interface UpdateRequest {
  type: 'update'
  update: Uint8Array
  from: Pid
  /** The client's answer to a re-sync after the room's worker changed. */
  repair?: boolean
}

/** What a room (or a connection, for awareness) publishes to the room's group. */
export type RoomEvent =
  | { type: 'update'; update: Uint8Array; from?: Pid }
  | { type: 'awareness'; update: Uint8Array; from: Pid }
  | { type: 'query-awareness'; from: Pid }

/** The group of a room's connection processes, on every node. */
export function roomGroup(room: string): Name {
  return ['room', room]
}

export class Room extends Actor<RoomArgs> {
  private readonly doc = new Y.Doc()
  private name = ''
  private group: Name = []
  /** Set by the doc when a transaction changed it (Yjs emits no update for a duplicate). */
  private changed = false
  private readonly stats: RoomStats = { updates: 0, repairs: 0 }

  override init(args: RoomArgs): void {
    this.name = args.name
    this.group = roomGroup(args.name)
    this.doc.on('update', () => {
      this.changed = true
    })
  }

  override handleCall(msg: SyncRequest | StatsRequest): SyncReply | RoomStats {
    switch (msg.type) {
      case 'sync':
        return {
          update: Y.encodeStateAsUpdate(this.doc, msg.sv),
          sv: Y.encodeStateVector(this.doc),
          worker: this.self,
        }
      case 'stats':
        return { ...this.stats }
    }
  }

  override handleCast(msg: UpdateRequest): void {
    this.changed = false
    Y.applyUpdate(this.doc, msg.update)
    // An update the room had already (a client's re-sync, a retried send) goes to nobody.
    if (!this.changed) return
    this.stats.updates++
    if (msg.repair === true) {
      this.stats.repairs++
      this.runtime.logger.info(
        { room: this.name, bytes: msg.update.length },
        'a client re-sync brought edits the room lacked',
      )
    }
    const event: RoomEvent = { type: 'update', update: msg.update, from: msg.from }
    Rooms.publish(this.group, event)
  }

  /** The document goes to the room's next node as one update (a Uint8Array crosses the wire). */
  override beginHandoff(): Uint8Array {
    return Y.encodeStateAsUpdate(this.doc)
  }

  /** The first message after a move: the document as it was, before any edit sent since. */
  override endHandoff(state: Uint8Array): void {
    Y.applyUpdate(this.doc, state)
  }

  /** Two copies of the room met after a split: documents merge, and every client gets the rest. */
  override resolveConflict(state: Uint8Array): void {
    Y.applyUpdate(this.doc, state)
    const event: RoomEvent = { type: 'update', update: state }
    Rooms.publish(this.group, event)
  }

  override terminate(): void {
    this.doc.destroy()
  }
}

/** The sworm of rooms: one `Room` per name across the cluster, moved with handoff. */
export class Rooms extends Sworm {
  static override options = { handoff: true }
  static override actors = { Room }
}
