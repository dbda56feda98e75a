// One connected peer: its socket, what is queued for it (its `Outbox`: this turn's doc updates
// and frames as one websocket message, bulk in bounded messages behind, heartbeats ahead), and what it holds on
// our processes (monitors), for cleanup when it goes.
import { PROTOCOL_VERSION } from './frames.js'
import type * as encoding from 'lib0/encoding'
import type { WebSocket } from 'ws'
import type { Clock, NodeId, Pid, Ref } from '@swormjs/actor'
import { nodeDefaults } from './defaults.js'
import { Outbox, type OutStream } from './Outbox.js'

export class Peer {
  readonly nodeId: NodeId
  /** The protocol version this connection speaks (the newest both sides know). */
  protocol: number = PROTOCOL_VERSION
  readonly name: string
  readonly url: string
  private socket: WebSocket
  /** Who dialed this connection (decides which of two duplicate connections stays). */
  public dialerId: string
  private readonly clock: Clock
  private readonly outbox: Outbox
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
  /**
   * Links this peer made to our processes, as `ourPid \0 itsPid` (for `maxLinksPerPeer`). One
   * whose process of ours ended since is still counted until the next prune.
   */
  readonly linksFromPeer = new Set<string>()
  /** When `linksFromPeer` was last pruned (ms on the node's clock). */
  linksPrunedAt = -Infinity
  framesOut = 0
  framesIn = 0
  bytesOut = 0
  bytesIn = 0

  /**
   * `maxMessageBytes`: the peer closes the connection on a websocket message larger than this
   * (its `maxFrameBytes`), so a batch is sealed well before.
   */
  constructor(
    nodeId: NodeId,
    name: string,
    url: string,
    ws: WebSocket,
    dialerId: string,
    clock: Clock,
    beforeSeal: () => void,
    maxMessageBytes = Infinity,
  ) {
    this.nodeId = nodeId
    this.name = name
    this.url = url
    this.socket = ws
    this.dialerId = dialerId
    this.clock = clock
    this.outbox = new Outbox(
      {
        socket: () => this.socket,
        sent: (bytes) => (this.bytesOut += bytes),
        beforeSeal,
      },
      Math.min(nodeDefaults.softBatchBytes, maxMessageBytes),
    )
  }

  /** The socket of the connection kept (of two duplicate ones, the one the rule keeps). */
  get ws(): WebSocket {
    return this.socket
  }

  /**
   * Queues one frame; everything queued in this turn goes out as one message, behind every doc
   * update written in the turn (see `Outbox`). `later`: a frame nobody waits on (an
   * acknowledgement, a call's watch dropped) goes at the head of the next turn's frames to this
   * peer, or on its own `LATER_MS` after it was written if none come (`Outbox.writeLater`), so
   * that it rarely takes a socket write of its own.
   */
  write(writeFrame: (enc: encoding.Encoder) => void, later = false): void {
    this.framesOut++
    if (later) this.outbox.writeLater(writeFrame)
    else this.outbox.write(writeFrame)
  }

  /** Queues a doc frame (the doc service's): it goes before the turn's other frames. */
  writeLead(writeFrame: (enc: encoding.Encoder) => void): void {
    this.framesOut++
    this.outbox.writeLead(writeFrame)
  }

  /**
   * Queues a stream of messages (a big doc update) at the end of this turn's doc frames; the
   * turn's other frames go after its end. Its messages go one per turn, encoded when their turn
   * comes.
   */
  streamLead(s: OutStream): void {
    this.outbox.streamLead(s)
  }

  /**
   * Sends a frame that depends on no other (a heartbeat) at once, ahead of whatever is queued:
   * it waits for one bounded message at most.
   */
  writeControl(writeFrame: (enc: encoding.Encoder) => void): void {
    this.framesOut++
    this.outbox.sendNow(writeFrame)
  }

  /** Sends this turn's frames now (a leave, a switch of sockets). */
  readonly flush = (): void => {
    this.outbox.flush()
  }

  /** Keeps `ws` of two duplicate connections: what is still queued goes on it. */
  replaceSocket(ws: WebSocket): void {
    this.socket = ws
    this.outbox.socketChanged()
  }

  /** Resolves once the socket has handed every queued byte to the OS (or closed). */
  async drain(timeoutMs: number): Promise<void> {
    this.outbox.flush()
    const deadline = this.clock.now() + timeoutMs
    const busy = (): boolean => !this.outbox.idle || this.socket.bufferedAmount > 0
    while (this.socket.readyState === this.socket.OPEN && busy() && this.clock.now() < deadline) {
      await new Promise<void>((r) => this.clock.setTimeout(r, nodeDefaults.drainPollMs))
    }
  }
}
