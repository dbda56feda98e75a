// One connected peer: its socket, the frames queued for it this event-loop turn (sent as one
// websocket message), and what it holds on our processes (monitors), for cleanup when it goes.
import * as encoding from 'lib0/encoding'
import type { WebSocket } from 'ws'
import type { NodeId, Pid, Ref } from '@sworm/actor'

/** Flush early when a batch grows past this, so one message never nears `maxFrameBytes`. */
const SOFT_BATCH_BYTES = 256 * 1024

export class Peer {
  /** Frames queued this turn. */
  private enc: encoding.Encoder | undefined
  private flushScheduled = false
  lastSeen: number
  leaving = false
  /** Monitors this peer placed on our processes: ref → our pid. */
  readonly monitorsFromPeer = new Map<Ref, Pid>()
  framesOut = 0
  framesIn = 0
  bytesOut = 0
  bytesIn = 0

  constructor(
    readonly nodeId: NodeId,
    readonly name: string,
    readonly url: string,
    public ws: WebSocket,
    /** Who dialed this connection (decides which of two duplicate connections stays). */
    public dialerId: string,
    now: number,
    private readonly beforeWrite: () => void,
  ) {
    this.lastSeen = now
  }

  /** Queues one frame; everything queued in this turn goes out as one message. */
  write(writeFrame: (enc: encoding.Encoder) => void): void {
    this.beforeWrite()
    this.writeNow(writeFrame)
  }

  /** Like `write`, without first flushing pending doc updates (used by that flush itself). */
  writeNow(writeFrame: (enc: encoding.Encoder) => void): void {
    if (this.enc === undefined) {
      this.enc = encoding.createEncoder()
      if (!this.flushScheduled) {
        this.flushScheduled = true
        setImmediate(this.flush)
      }
    }
    writeFrame(this.enc)
    this.framesOut++
    if (encoding.length(this.enc) > SOFT_BATCH_BYTES) this.flushBatch()
  }

  readonly flush = (): void => {
    this.flushScheduled = false
    this.flushBatch()
  }

  private flushBatch(): void {
    const enc = this.enc
    if (enc === undefined) return
    this.enc = undefined
    const bytes = encoding.toUint8Array(enc)
    this.bytesOut += bytes.length
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(bytes)
  }

  /** Resolves once the socket has handed every queued byte to the OS (or closed). */
  async drain(timeoutMs: number): Promise<void> {
    this.flushBatch()
    const deadline = Date.now() + timeoutMs
    while (
      this.ws.readyState === this.ws.OPEN &&
      this.ws.bufferedAmount > 0 &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 5))
    }
  }
}
