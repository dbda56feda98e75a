// What a peer's socket is yet to send: the frames written this event-loop turn (one batch), the
// messages and streams queued behind them in order, and the one message the socket is writing.
// Bulk goes out one bounded message per turn, so a heartbeat, which jumps the queue, never waits
// behind more than one of them.
//
// A turn's batch has two parts: its lead (the doc frames: updates, announces, drops, and the
// streams of big updates) and its frames. Just before a batch is sealed, `beforeSeal` lets the
// docs write every update made so far into the lead. So a frame is read after every doc update
// written in its turn, before or after it: a reply sent after a registration arrives behind
// it, and a turn that starts a hundred children sends each doc's changes once, merged, rather
// than once per reply.
import * as encoding from 'lib0/encoding'
import type { WebSocket } from 'ws'
import { encodedBytes, pooledEncoder } from './bytes.js'

/** A producer of messages encoded only when their turn comes (a big doc diff, in parts). */
export interface OutStream {
  /** The next message (one or more frames), or undefined once the stream has ended. */
  next(): Uint8Array | undefined
}

/** What the outbox needs of its peer: the socket of the moment and the byte count. */
export interface OutboxHost {
  socket(): WebSocket
  /** Bytes handed to the socket. */
  sent(bytes: number): void
  /** Called before a batch is sealed: the docs write their pending updates (`writeLead`). */
  beforeSeal(): void
}

/** How long a frame written with `writeLater` waits at most for other frames to go with. */
export const LATER_MS = 10

export class Outbox {
  private readonly host: OutboxHost
  /** A batch is sealed once it passes this: no message carries much more, frame by frame. */
  private readonly batchBytes: number
  /** Frames written this turn. */
  private batch: encoding.Encoder | undefined
  /** Frames nobody waits on, for the next batch (see `writeLater`). */
  private later: encoding.Encoder | undefined
  private laterTimer: ReturnType<typeof setTimeout> | undefined
  /** Doc frames written this turn, sent before `batch`. */
  private lead: encoding.Encoder | undefined
  /** Sealed parts of this turn's lead (and the streams of big updates), in order. */
  private readonly leadQueue: Array<Uint8Array | OutStream> = []
  private sealScheduled = false
  /** Sealed messages and streams, in the order they were written. */
  private readonly queue: Array<Uint8Array | OutStream> = []
  /** The socket writing a message of the queue now (its callback has not come yet). */
  private writing: WebSocket | undefined
  private pumpScheduled = false

  constructor(host: OutboxHost, batchBytes: number) {
    this.host = host
    this.batchBytes = batchBytes
  }

  /** Frames queued or being written (for `drain`). */
  get idle(): boolean {
    return (
      this.batch === undefined &&
      this.later === undefined &&
      this.lead === undefined &&
      this.leadQueue.length === 0 &&
      this.queue.length === 0 &&
      this.writing === undefined
    )
  }

  /**
   * Adds a frame to this turn's batch. A batch that passes `batchBytes` is sealed at once, the
   * frame that took it past in a message of its own: every message is at most `batchBytes` or
   * one frame.
   */
  write(writeFrame: (enc: encoding.Encoder) => void): void {
    if (this.batch === undefined) {
      this.batch = pooledEncoder()
      this.takeLater(this.batch)
      this.scheduleSeal()
    }
    const start = encoding.length(this.batch)
    writeFrame(this.batch)
    if (encoding.length(this.batch) > this.batchBytes) this.seal(start)
  }

  /**
   * Keeps a frame nobody waits on for the next turn that writes frames here (at the head of its
   * batch, so frames keep the order they were written in), or `LATER_MS` at most.
   */
  writeLater(writeFrame: (enc: encoding.Encoder) => void): void {
    if (this.batch !== undefined) {
      this.write(writeFrame)
      return
    }
    if (this.later === undefined) {
      this.later = pooledEncoder()
      this.laterTimer = setTimeout(this.flushLater, LATER_MS)
      this.laterTimer.unref()
    }
    writeFrame(this.later)
    if (encoding.length(this.later) > this.batchBytes) this.flushLater()
  }

  /** The frames kept by `writeLater` go in a batch of their own. */
  private readonly flushLater = (): void => {
    if (this.later !== undefined) this.write(() => undefined)
  }

  /** Moves the frames kept by `writeLater` to the head of `batch`. */
  private takeLater(batch: encoding.Encoder): void {
    const later = this.later
    if (later === undefined) return
    this.later = undefined
    clearTimeout(this.laterTimer)
    this.laterTimer = undefined
    encoding.writeUint8Array(batch, encodedBytes(later))
  }

  /** Adds a doc frame to this turn's lead: it goes before every frame of the turn. */
  writeLead(writeFrame: (enc: encoding.Encoder) => void): void {
    if (this.lead === undefined) {
      this.lead = pooledEncoder()
      this.scheduleSeal()
    }
    writeFrame(this.lead)
    if (encoding.length(this.lead) > this.batchBytes) this.sealLead()
  }

  /** Queues a stream (a big doc update) at the end of this turn's lead. */
  streamLead(s: OutStream): void {
    this.sealLead()
    this.leadQueue.push(s)
    this.scheduleSeal()
  }

  /**
   * Sends one frame at once, as a message of its own, ahead of the queue: for a frame that
   * depends on no other (a heartbeat). It waits only for the message the socket is writing.
   */
  sendNow(writeFrame: (enc: encoding.Encoder) => void): void {
    const enc = encoding.createEncoder()
    writeFrame(enc)
    const bytes = encoding.toUint8Array(enc)
    const ws = this.host.socket()
    if (ws.readyState !== ws.OPEN) return
    this.host.sent(bytes.length)
    ws.send(bytes)
  }

  /** Seals this turn's batch and sends what the socket can take now. */
  flush(): void {
    this.flushLater()
    this.seal()
    this.pump()
  }

  /** The socket changed (one of two duplicate connections kept): what is queued goes on it. */
  socketChanged(): void {
    this.writing = undefined
    this.flush()
  }

  private scheduleSeal(): void {
    if (this.sealScheduled) return
    this.sealScheduled = true
    setImmediate(this.sealTurn)
  }

  private readonly sealTurn = (): void => {
    this.sealScheduled = false
    this.flush()
  }

  private sealLead(): void {
    const lead = this.lead
    if (lead === undefined) return
    this.lead = undefined
    this.leadQueue.push(encodedBytes(lead))
  }

  /**
   * Moves the turn's lead, then its batch, to the queue: the batch as one message, or as two
   * cut at byte `cutAt` (a frame boundary) so that a big frame does not take the frames before
   * it along. The docs first write what they have pending into the lead.
   */
  private seal(cutAt = 0): void {
    this.host.beforeSeal()
    this.sealLead()
    if (this.leadQueue.length > 0) {
      for (const item of this.leadQueue) this.queue.push(item)
      this.leadQueue.length = 0
    }
    const batch = this.batch
    if (batch !== undefined) {
      this.batch = undefined
      const bytes = encodedBytes(batch)
      if (cutAt > 0) this.queue.push(bytes.subarray(0, cutAt), bytes.subarray(cutAt))
      else this.queue.push(bytes)
    }
    this.pump()
  }

  /** Hands the socket the next message, unless it is still writing one. */
  private readonly pump = (): void => {
    this.pumpScheduled = false
    const ws = this.host.socket()
    if (this.writing !== undefined || ws.readyState !== ws.OPEN) return
    const bytes = this.next()
    if (bytes === undefined) return
    this.writing = ws
    this.host.sent(bytes.length)
    ws.send(bytes, () => {
      if (this.writing !== ws) return
      this.writing = undefined
      // The next one in a later turn: timers (heartbeats) and other sockets go in between.
      if (this.queue.length > 0 && !this.pumpScheduled) {
        this.pumpScheduled = true
        setImmediate(this.pump)
      }
    })
  }

  /** The next message of the queue, asking its head stream for one if it is a stream. */
  private next(): Uint8Array | undefined {
    for (;;) {
      const head = this.queue[0]
      if (head === undefined) return undefined
      if (head instanceof Uint8Array) {
        this.queue.shift()
        return head
      }
      const bytes = head.next()
      if (bytes !== undefined) return bytes
      this.queue.shift()
    }
  }
}
