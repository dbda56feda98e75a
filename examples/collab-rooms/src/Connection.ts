// One process per client websocket, on the node the client connected to. It joins its room's
// group, turns the client's y-websocket messages into calls and casts to the room by name
// (wherever the room runs, and held by sworm while the room moves), and forwards what the room
// publishes back to the client. It monitors the room's worker: when the worker ends (a move, a
// crash), it re-syncs the client with the room's next worker.
import type { WebSocket } from 'ws'
import { isDownMessage, type Ref } from '@swormjs/actor'
import { Actor, NotFound, type Name, type Pid, type SwormInstance } from '@swormjs/sworm'
import {
  Room,
  roomGroup,
  type RoomArgs,
  type RoomEvent,
  type SyncReply,
  type SyncRequest,
  type UpdateRequest,
} from './Room.js'
import {
  awarenessEntries,
  awarenessMessage,
  awarenessRemoval,
  isEmptyUpdate,
  queryAwarenessMessage,
  readClientMessage,
  step1,
  step2,
  updateMessage,
  type ClientMessage,
} from './wire.js'

export interface ConnectionArgs {
  /** The client's socket; the server passes its events in as `SocketEvent`s. */
  ws: WebSocket
  room: string
  /** The `Rooms` sworm on this node. */
  rooms: SwormInstance
}

/** What the server passes in from the client's socket. */
export type SocketEvent = { type: 'ws:message'; data: Uint8Array } | { type: 'ws:close' }

/** A sync may wait for a room that moves; sworm holds it meanwhile and the next worker answers. */
const SYNC_TIMEOUT_MS = 10_000
/** Between attempts to reach a room that has no worker for a moment (after a crash). */
const RETRY_MS = 100
const MAX_ATTEMPTS = 50
const REQUERY = { type: 'awareness:requery' } as const
const REQUERY_AFTER_MS = 500

export class Connection extends Actor<ConnectionArgs> {
  private ws!: WebSocket
  private room = ''
  private rooms!: SwormInstance
  private group: Name = []
  /** The room's worker, monitored. */
  private worker: { pid: Pid; ref: Ref } | undefined
  /** Set by a re-sync after the worker changed: the client's next step 2 is a repair. */
  private repairing = false
  /** The awareness clients of this connection's client, by id, with their last clock. */
  private readonly clients = new Map<number, number>()

  override async init(args: ConnectionArgs): Promise<void> {
    this.ws = args.ws
    this.room = args.room
    this.rooms = args.rooms
    this.group = roomGroup(args.room)
    // Joined before the first sync: the join reaches the room's node before the sync request
    // does (a node's doc writes go out before its later messages), so every update applied
    // after the sync's answer is published to this connection too.
    await this.rooms.join(this.group, this.self)
    await this.attach()
    // The others' clients answer with their awareness (who is here, their cursors). Asked again
    // a moment later: a connection that joined on another node at the same instant may not have
    // been a member yet, on either side.
    this.publish({ type: 'query-awareness', from: this.self })
    this.sendAfter(REQUERY, REQUERY_AFTER_MS)
  }

  override async handleInfo(msg: unknown): Promise<void> {
    if (isDownMessage(msg)) {
      if (msg.ref === this.worker?.ref) await this.reattach()
      return
    }
    const m = msg as SocketEvent | RoomEvent | typeof REQUERY
    switch (m.type) {
      case 'awareness:requery':
        this.publish({ type: 'query-awareness', from: this.self })
        return
      case 'ws:message':
        await this.fromClient(m.data)
        return
      case 'ws:close':
        if (this.clients.size > 0) {
          this.publish({
            type: 'awareness',
            update: awarenessRemoval(this.clients),
            from: this.self,
          })
        }
        this.stop('normal')
        return
      case 'update':
        if (m.from !== this.self) this.toClient(updateMessage(m.update))
        return
      case 'awareness':
        if (m.from !== this.self) this.toClient(awarenessMessage(m.update))
        return
      case 'query-awareness':
        if (m.from !== this.self) this.toClient(queryAwarenessMessage())
        return
    }
  }

  private async fromClient(data: Uint8Array): Promise<void> {
    let m: ClientMessage
    try {
      m = readClientMessage(data)
    } catch (e) {
      this.runtime.logger.warn({ room: this.room, err: e }, 'malformed y-websocket message')
      this.ws.close(1002, 'malformed message')
      return
    }
    switch (m.type) {
      case 'step1': {
        const reply = await this.sync(m.sv)
        this.toClient(step2(reply.update))
        return
      }
      case 'step2': {
        const repair = this.repairing
        this.repairing = false
        if (!isEmptyUpdate(m.update)) this.toRoom(m.update, repair)
        return
      }
      case 'update':
        if (!isEmptyUpdate(m.update)) this.toRoom(m.update, false)
        return
      case 'awareness':
        for (const { clientId, clock, removed } of awarenessEntries(m.update)) {
          if (removed) this.clients.delete(clientId)
          else this.clients.set(clientId, clock)
        }
        this.publish({ type: 'awareness', update: m.update, from: this.self })
        return
      case 'query-awareness':
        this.publish({ type: 'query-awareness', from: this.self })
        return
      case 'other':
        return
    }
  }

  /**
   * Finds the room's worker (starting it if nobody runs the room), monitors it, and sends the
   * client the room's state vector: the client answers with whatever the room lacks, which is
   * how a room that restarted empty after a crash gets its document back from its clients.
   */
  private async attach(): Promise<void> {
    const reply = await this.sync(undefined)
    this.worker = { pid: reply.worker, ref: this.monitor(reply.worker) }
    this.toClient(step1(reply.sv))
  }

  /** The room's worker ended: sync the client with the next one. */
  private async reattach(): Promise<void> {
    this.worker = undefined
    await this.attach()
    this.repairing = true
  }

  /**
   * Asks the room what the client lacks. During a move, sworm holds the call and the next worker
   * answers it; a room with no worker at all (between a crash and its restart, or never started)
   * is started here, and the call tried again.
   */
  private async sync(sv: Uint8Array | undefined): Promise<SyncReply> {
    const request: SyncRequest = sv === undefined ? { type: 'sync' } : { type: 'sync', sv }
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.rooms.call<SyncReply>(this.room, request, { timeoutMs: SYNC_TIMEOUT_MS })
      } catch (e) {
        if (attempt >= MAX_ATTEMPTS) throw e
        if (NotFound.is(e)) {
          const args: RoomArgs = { name: this.room }
          try {
            await this.rooms.whereisOrRegisterName(this.room, Room, args)
            continue
          } catch (err) {
            this.runtime.logger.warn({ room: this.room, err }, 'could not start the room')
          }
        }
        await new Promise<void>((resolve) => this.runtime.clock.setTimeout(resolve, RETRY_MS))
      }
    }
  }

  private toRoom(update: Uint8Array, repair: boolean): void {
    const request: UpdateRequest = repair
      ? { type: 'update', update, from: this.self, repair }
      : { type: 'update', update, from: this.self }
    try {
      this.rooms.cast(this.room, request)
    } catch (e) {
      // Nobody runs the room this instant (it crashed): the re-sync that follows the worker's
      // DOWN asks the client for everything the restarted room lacks, this update included.
      if (!NotFound.is(e)) throw e
    }
  }

  private publish(event: RoomEvent): void {
    this.rooms.publish(this.group, event)
  }

  private toClient(bytes: Uint8Array): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(bytes)
  }
}
