// One connected peer: its socket, the frames queued for it this event-loop turn (sent as one
// websocket message), and what it holds on our processes (monitors), for cleanup when it goes.
import * as encoding from 'lib0/encoding'
import type { WebSocket } from 'ws'
import type { Clock, NodeId, Pid, Ref } from '@sworm/actor'
import { nodeDefaults } from './defaults.js'

export class Peer {
  readonly nodeId: NodeId
  readonly name: string
  readonly url: string
  public ws: WebSocket
  /** Who dialed this connection (decides which of two duplicate connections stays). */
  public dialerId: string
  private readonly clock: Clock
  private readonly beforeWrite: () => void
  /** The peer closes the connection on a websocket message larger than this (`maxFrameBytes`). */
  private readonly maxMessageBytes: number
  /** Frames queued this turn. */
  private enc: encoding.Encoder | undefined
  private flushScheduled = false
  leaving = false
  /** This node's replicas of the peer's docs have caught up: the peer counts as up. */
  synced = false
  /**
   * The URL this node dialed to reach the peer, when it differs from the one the peer advertises
   * (a seed given by IP for a node that advertises its host name): both name this peer.
   */
  dialedUrl: string | undefined = undefined
  /** Monitors this peer placed on our processes: ref → our pid. */
  readonly monitorsFromPeer = new Map<Ref, Pid>()
  framesOut = 0
  framesIn = 0
  bytesOut = 0
  bytesIn = 0

  constructor(
    nodeId: NodeId,
    name: string,
    url: string,
    ws: WebSocket,
    dialerId: string,
    clock: Clock,
    beforeWrite: () => void,
    maxMessageBytes = Infinity,
  ) {
    this.nodeId = nodeId
    this.name = name
    this.url = url
    this.ws = ws
    this.dialerId = dialerId
    this.clock = clock
    this.beforeWrite = beforeWrite
    this.maxMessageBytes = maxMessageBytes
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
    const start = encoding.length(this.enc)
    writeFrame(this.enc)
    this.framesOut++
    const size = encoding.length(this.enc)
    // Flush early when a batch grows large, so one message never nears `maxFrameBytes`.
    if (size > Math.min(nodeDefaults.softBatchBytes, this.maxMessageBytes)) {
      // The frames queued before this one go out on their own if, together, they would be
      // larger than the peer accepts.
      this.flushBatch(size > this.maxMessageBytes ? start : 0)
    }
  }

  readonly flush = (): void => {
    this.flushScheduled = false
    this.flushBatch()
  }

  /** Sends the batch as one message, or as two split at byte `splitAt` (a frame boundary). */
  private flushBatch(splitAt = 0): void {
    const enc = this.enc
    if (enc === undefined) return
    this.enc = undefined
    const bytes = encoding.toUint8Array(enc)
    this.bytesOut += bytes.length
    if (this.ws.readyState !== this.ws.OPEN) return
    if (splitAt > 0) {
      this.ws.send(bytes.subarray(0, splitAt))
      this.ws.send(bytes.subarray(splitAt))
    } else {
      this.ws.send(bytes)
    }
  }

  /** Resolves once the socket has handed every queued byte to the OS (or closed). */
  async drain(timeoutMs: number): Promise<void> {
    this.flushBatch()
    const deadline = this.clock.now() + timeoutMs
    while (
      this.ws.readyState === this.ws.OPEN &&
      this.ws.bufferedAmount > 0 &&
      this.clock.now() < deadline
    ) {
      await new Promise<void>((r) => this.clock.setTimeout(r, nodeDefaults.drainPollMs))
    }
  }
}
