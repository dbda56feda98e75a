// The messages read from peers and not handled yet. A turn of the event loop handles at most
// about `turnBytes` of them, over every peer, and stops taking more once it has run `sliceMs`; the rest wait, each peer's in order, for the next
// turn, so a burst of bulk (a big doc sync, in parts) never makes one long step, and timers
// (heartbeats) and other sockets get their turn in between. A lone heartbeat jumps the queue.
import type { WebSocket } from 'ws'
import { turnSpent } from '@swormjs/actor/internal'
import { Frame } from './frames.js'

/** What the inbox needs of its owner: the handling of one message. */
export interface InboxHost<P> {
  /** Handles one message of `peer`, read from `ws`. */
  handle(peer: P, ws: WebSocket, bytes: Uint8Array): void
}

interface Waiting {
  readonly ws: WebSocket
  readonly bytes: Uint8Array
}

interface Queue {
  readonly messages: Waiting[]
  bytes: number
  /** The socket paused because too much waits (resumed once the queue has gone). */
  paused: WebSocket | undefined
}

export interface InboxOptions {
  /** Bytes handled in one turn before the rest waits for the next. */
  turnBytes: number
  /** Time (ms) handling messages in one turn before the rest waits for the next. */
  sliceMs: number
  /** The clock the turn is timed with (ms). Default: `performance.now()`. */
  now?: () => number
  /** A peer's socket is paused (not read) while more than this of its messages wait. */
  pauseBytes: number
}

export class Inbox<P> {
  private readonly host: InboxHost<P>
  private readonly opts: InboxOptions
  private readonly queues = new Map<P, Queue>()
  /** Bytes handled in this turn. */
  private spent = 0
  /** When this turn's first message was handled; undefined before it. */
  private turnStart: number | undefined
  private turnScheduled = false
  private readonly now: () => number

  constructor(host: InboxHost<P>, options: InboxOptions) {
    this.host = host
    this.opts = options
    this.now = options.now ?? (() => performance.now())
  }

  /** Whether this turn may handle one more message. */
  private hasRoom(): boolean {
    if (this.spent >= this.opts.turnBytes) return false
    if (this.turnStart === undefined) return true
    if (this.now() - this.turnStart >= this.opts.sliceMs) return false
    // On the real clock the turn's shared slice bounds it too (`turnElapsed`).
    return this.opts.now !== undefined || !turnSpent()
  }

  /** A message of `peer` came on `ws`: handled now, or queued behind its peer's earlier ones. */
  received(peer: P, ws: WebSocket, bytes: Uint8Array): void {
    const queue = this.queues.get(peer)
    // A heartbeat says nothing about order: it is the one thing that must not wait.
    if (bytes.length === 1 && bytes[0] === Frame.Heartbeat) {
      this.host.handle(peer, ws, bytes)
      return
    }
    if (queue === undefined && this.hasRoom()) {
      this.handle(peer, ws, bytes)
      return
    }
    let q = queue
    if (q === undefined) {
      q = { messages: [], bytes: 0, paused: undefined }
      this.queues.set(peer, q)
    }
    q.messages.push({ ws, bytes })
    q.bytes += bytes.length
    if (q.bytes > this.opts.pauseBytes && q.paused === undefined) {
      q.paused = ws
      ws.pause()
    }
    this.scheduleTurn()
  }

  /** `peer` is gone: what it sent and was not handled goes with it. */
  forget(peer: P): void {
    const q = this.queues.get(peer)
    if (q === undefined) return
    this.queues.delete(peer)
    q.paused?.resume()
  }

  private handle(peer: P, ws: WebSocket, bytes: Uint8Array): void {
    this.spent += bytes.length
    this.turnStart ??= this.now()
    this.scheduleTurn()
    this.host.handle(peer, ws, bytes)
  }

  private scheduleTurn(): void {
    if (this.turnScheduled) return
    this.turnScheduled = true
    setImmediate(this.nextTurn)
  }

  /** A new turn: its budget goes to the waiting messages, a message per peer in turn. */
  private readonly nextTurn = (): void => {
    this.turnScheduled = false
    this.spent = 0
    this.turnStart = undefined
    while (this.hasRoom() && this.queues.size > 0) {
      for (const [peer, q] of [...this.queues]) {
        if (this.queues.get(peer) !== q) continue
        const m = q.messages.shift()
        if (m !== undefined) {
          q.bytes -= m.bytes.length
          this.handle(peer, m.ws, m.bytes)
        }
        if (q.messages.length === 0 && this.queues.get(peer) === q) {
          this.queues.delete(peer)
          q.paused?.resume()
        }
        if (!this.hasRoom()) break
      }
    }
  }
}
