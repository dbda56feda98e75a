// Failure detection by heartbeat: every `heartbeatIntervalMs` each watched peer gets a beat,
// and a peer this node has heard nothing from for `heartbeatTimeoutMs` is reported silent.
// The host tells it of each peer that joins, each message it sends, and each that goes.
import * as encoding from 'lib0/encoding'
import type { Clock, TimerHandle } from '@sworm/actor'
import { Frame } from './frames.js'
import type { Peer } from './Peer.js'

/** What the detector needs of its node. */
export interface HeartbeatHost {
  readonly clock: Clock
  /** `peer` has been silent too long: take it down. */
  silent(peer: Peer): void
}

export interface HeartbeatOptions {
  heartbeatIntervalMs: number
  heartbeatTimeoutMs: number
}

export class Heartbeat {
  private readonly host: HeartbeatHost
  private readonly opts: HeartbeatOptions
  /** Each watched peer, and when this node last heard from it (`clock.now()`). */
  private readonly lastHeard = new Map<Peer, number>()
  private timer: TimerHandle | undefined
  private stopped = false

  constructor(host: HeartbeatHost, options: HeartbeatOptions) {
    this.host = host
    this.opts = options
  }

  /** Starts beating and watching. */
  start(): void {
    this.schedule()
  }

  /** `peer` joined: watch it, as just heard from. */
  watch(peer: Peer): void {
    this.lastHeard.set(peer, this.host.clock.now())
  }

  /** A message came from `peer`. */
  heard(peer: Peer): void {
    if (this.lastHeard.has(peer)) this.lastHeard.set(peer, this.host.clock.now())
  }

  /** `peer` is gone: stop watching it. */
  forget(peer: Peer): void {
    this.lastHeard.delete(peer)
  }

  /** Stops for good (the node stops). */
  stop(): void {
    this.stopped = true
    this.host.clock.clearTimeout(this.timer)
    this.lastHeard.clear()
  }

  private schedule(): void {
    this.timer = this.host.clock.setTimeout(() => {
      this.timer = undefined
      if (this.stopped) return
      const now = this.host.clock.now()
      for (const [peer, last] of [...this.lastHeard]) {
        if (now - last > this.opts.heartbeatTimeoutMs) {
          this.host.silent(peer)
          continue
        }
        peer.write((enc) => encoding.writeVarUint(enc, Frame.Heartbeat))
      }
      this.schedule()
    }, this.opts.heartbeatIntervalMs)
  }
}
