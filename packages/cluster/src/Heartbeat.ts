// Failure detection by heartbeat: every `heartbeatIntervalMs` each watched peer gets a beat, and
// each peer's silence is judged by a phi accrual detector over its own heartbeat history. A
// suspected peer is reported unreachable (nothing is done about it); one that stays unreachable
// for `downAfterUnreachableMs` is reported silent (the node takes it down). A node whose own
// event loop stalled reads its sockets before it judges anyone, and forgives the silence it caused
// (the stall), not the rest.
//
// Unreachable counts from the instant phi reached the threshold (`PhiAccrual.suspectedAt`), which
// the judgement once an interval notices up to an interval later, and the peer is taken down by a
// timer of its own at exactly that instant plus `downAfterUnreachableMs` (after one I/O turn, as
// every judgement). So the nodes that watch a silent peer take it down within milliseconds of each
// other, rather than up to an interval apart by the phase of their ticks: its names and children
// are not adopted by one while another still routes to it.
import * as encoding from 'lib0/encoding'
import type { Clock, TimerHandle } from '@swormjs/actor'
import { nodeDefaults } from './defaults.js'
import { Frame } from './frames.js'
import { PhiAccrual, type PhiAccrualOptions } from './PhiAccrual.js'

/** What the detector needs of a peer: a way to send it a frame at once, ahead of bulk. */
export interface Beating {
  writeControl(writeFrame: (enc: encoding.Encoder) => void): void
}

/** Why a peer is suspected: how long it has been silent, and how surprising that is. */
export interface Suspicion {
  silentMs: number
  phi: number
}

/** What the detector needs of its node. */
export interface HeartbeatHost<P> {
  readonly clock: Clock
  /** `peer` is suspected: say so, and do nothing about it. */
  unreachable(peer: P, why: Suspicion): void
  /** `peer`, unreachable for `afterMs`, was heard from again. */
  reachable(peer: P, afterMs: number): void
  /** `peer` stayed unreachable for the downing bound: take it down. */
  silent(peer: P): void
  /** This node's own event loop ran `lateMs` behind its heartbeat timer: that much is forgiven. */
  stalled(lateMs: number): void
  /**
   * This node was silent for `silentMs`, at least the downing bound: its peers may have taken it
   * down meanwhile. Told once per pause, before anything else is judged or served.
   */
  paused(silentMs: number): void
}

export interface HeartbeatOptions {
  heartbeatIntervalMs: number
  acceptableHeartbeatPauseMs: number
  phiThreshold: number
  minHeartbeatStdDeviationMs: number
  downAfterUnreachableMs: number
}

/** One watched peer: its detector, since when it is unreachable (if it is), when it was last heard. */
interface Watch {
  readonly detector: PhiAccrual
  unreachableSince: number | undefined
  /** When a frame last came from it: what a stall of this node forgives is not counted here. */
  heardAt: number
  /** Fires when an unreachable peer's downing bound is over (see `armDown`). */
  downTimer: TimerHandle | undefined
}

const writeBeat = (enc: encoding.Encoder): void => encoding.writeVarUint(enc, Frame.Heartbeat)

export class Heartbeat<P extends Beating> {
  private readonly host: HeartbeatHost<P>
  private readonly opts: HeartbeatOptions
  private readonly detectorOpts: PhiAccrualOptions
  private readonly watched = new Map<P, Watch>()
  private timer: TimerHandle | undefined
  /** When the next tick is due: a node far past it was paused (see `checkPause`). */
  private nextDue = 0
  /** The tick whose lateness was already told as a pause. */
  private pauseTold = -1
  /**
   * How late a tick must be for a peer to have taken this node down meanwhile. A peer suspects a
   * silence of its mean interval plus the acceptable pause (and some deviations), and takes the
   * node down `downAfterUnreachableMs` later; a tick this late means a silence of the lateness
   * plus at most one interval. Never under two intervals (the deprecated timeout's settings).
   */
  private readonly pauseBoundMs: number
  private stopped = false
  /**
   * From a stall until the sockets were read: the heartbeats that waited in them arrive in a
   * burst, so they say the peer lives but nothing of its rhythm.
   */
  private catchingUp = false

  constructor(host: HeartbeatHost<P>, options: HeartbeatOptions) {
    this.host = host
    this.opts = options
    this.pauseBoundMs = Math.max(
      2 * options.heartbeatIntervalMs,
      options.acceptableHeartbeatPauseMs + options.downAfterUnreachableMs,
    )
    this.detectorOpts = {
      threshold: options.phiThreshold,
      maxSampleSize: nodeDefaults.heartbeatSamples,
      minStdDeviationMs: options.minHeartbeatStdDeviationMs,
      acceptablePauseMs: options.acceptableHeartbeatPauseMs,
      firstIntervalMs: options.heartbeatIntervalMs,
    }
  }

  /** Starts beating and watching. */
  start(): void {
    this.schedule()
  }

  /** `peer` joined: watch it, as just heard from. */
  watch(peer: P): void {
    const now = this.host.clock.now()
    this.watched.set(peer, {
      detector: new PhiAccrual(this.detectorOpts, now),
      unreachableSince: undefined,
      heardAt: now,
      downTimer: undefined,
    })
  }

  /** A heartbeat came from `peer`. */
  beat(peer: P): void {
    const w = this.watched.get(peer)
    if (w === undefined) return
    const now = this.host.clock.now()
    if (this.catchingUp) w.detector.heard(now)
    else w.detector.heartbeat(now)
    w.heardAt = now
    this.heardFrom(peer, w, now)
  }

  /** Some other frame came from `peer`. */
  heard(peer: P): void {
    const w = this.watched.get(peer)
    if (w === undefined) return
    const now = this.host.clock.now()
    w.detector.heard(now)
    w.heardAt = now
    this.heardFrom(peer, w, now)
  }

  /** When a frame last came from `peer` (clock ms), or undefined if it is not watched. */
  heardAt(peer: P): number | undefined {
    return this.watched.get(peer)?.heardAt
  }

  /**
   * Tells the host once if this node is now so far past its due tick that its peers may have
   * taken it down (`pauseBoundMs`): it was paused (a SIGSTOP, a VM freeze, a synchronous step
   * that long) and silent to its peers all that time. Cheap enough to run before every batch
   * of work.
   */
  checkPause(): void {
    if (this.timer === undefined || this.pauseTold === this.nextDue) return
    const late = this.host.clock.now() - this.nextDue
    if (late < this.pauseBoundMs) return
    this.pauseTold = this.nextDue
    this.host.paused(late + this.opts.heartbeatIntervalMs)
  }

  /** `peer` is gone: stop watching it. */
  forget(peer: P): void {
    const w = this.watched.get(peer)
    if (w !== undefined) this.host.clock.clearTimeout(w.downTimer)
    this.watched.delete(peer)
  }

  /** Stops for good (the node stops). */
  stop(): void {
    this.stopped = true
    this.host.clock.clearTimeout(this.timer)
    this.timer = undefined
    for (const w of this.watched.values()) this.host.clock.clearTimeout(w.downTimer)
    this.watched.clear()
  }

  private heardFrom(peer: P, w: Watch, now: number): void {
    if (w.unreachableSince === undefined) return
    const since = w.unreachableSince
    w.unreachableSince = undefined
    this.host.clock.clearTimeout(w.downTimer)
    w.downTimer = undefined
    this.host.reachable(peer, now - since)
  }

  /** Sets the timer that takes unreachable `peer` down once its downing bound is over. */
  private armDown(peer: P, w: Watch): void {
    this.host.clock.clearTimeout(w.downTimer)
    w.downTimer = undefined
    if (w.unreachableSince === undefined) return
    const due = w.unreachableSince + this.opts.downAfterUnreachableMs
    const wait = Math.max(0, due - this.host.clock.now())
    w.downTimer = this.host.clock.setTimeout(() => this.downDue(peer, w, due), wait)
  }

  /**
   * `peer`'s downing bound is over, by the timer due at `due`. A timer far late means this node
   * stalled: its overdue tick reads the sockets, forgives the stall and sets the timer again. Else,
   * after one I/O turn (what waits in the sockets is read first), the peer is down if it is still
   * unreachable and its bound, moved on by any stall forgiven since, is over.
   */
  private downDue(peer: P, w: Watch, due: number): void {
    w.downTimer = undefined
    if (this.stopped || this.watched.get(peer) !== w || w.unreachableSince === undefined) return
    if (this.stalledSince(due)) return
    setImmediate(() => {
      if (this.stopped || this.catchingUp) return
      if (this.watched.get(peer) !== w || w.unreachableSince === undefined) return
      if (this.host.clock.now() - w.unreachableSince >= this.opts.downAfterUnreachableMs) {
        this.host.silent(peer)
      } else this.armDown(peer, w)
    })
  }

  private schedule(): void {
    const due = this.host.clock.now() + this.opts.heartbeatIntervalMs
    this.nextDue = due
    this.timer = this.host.clock.setTimeout(() => this.tick(due), this.opts.heartbeatIntervalMs)
  }

  private tick(due: number): void {
    this.checkPause()
    this.timer = undefined
    if (this.stopped) return
    for (const peer of this.watched.keys()) peer.writeControl(writeBeat)
    this.schedule()
    // The frames that came meanwhile wait in the sockets until the poll phase of this turn reads
    // them; an immediate runs after it. So every judgement waits for one.
    if (this.stalledSince(due)) {
      this.catchUp(due)
      return
    }
    setImmediate(() => {
      if (this.stopped) return
      // The turn itself may have run long (a big batch read): what came meanwhile is unread.
      if (this.stalledSince(due)) this.catchUp(due)
      else this.judge(this.host.clock.now())
    })
  }

  /**
   * True when this node runs more than half an interval behind the tick due at `due`: its own
   * event loop was stalled, so the silence of its peers is, so far, its own.
   */
  private stalledSince(due: number): boolean {
    return this.host.clock.now() - due > this.opts.heartbeatIntervalMs / 2
  }

  /**
   * Lets the sockets be read (one I/O turn), then forgives every peer the stall, and only then
   * judges: the stall is counted against nobody. An unreachable peer stays so, and its downing
   * bound moves on by the stall too: this node could not watch it meanwhile. Only the stall is
   * forgiven, not the silence around it, so a node whose every tick is late still finds a
   * silent peer (later by what it forgave).
   */
  private catchUp(due: number): void {
    const stallMs = this.host.clock.now() - due
    this.host.stalled(stallMs)
    this.catchingUp = true
    setImmediate(() => {
      this.catchingUp = false
      if (this.stopped) return
      const now = this.host.clock.now()
      for (const [peer, w] of this.watched) {
        w.detector.forgive(stallMs, now)
        if (w.unreachableSince !== undefined) {
          w.unreachableSince = Math.min(now, w.unreachableSince + stallMs)
          this.armDown(peer, w)
        }
      }
      this.judge(now)
    })
  }

  private judge(now: number): void {
    const { downAfterUnreachableMs } = this.opts
    for (const [peer, w] of [...this.watched]) {
      if (this.watched.get(peer) !== w) continue
      if (w.unreachableSince === undefined) {
        if (w.detector.isAvailable(now)) continue
        // Since phi reached the threshold, up to an interval before this judgement.
        w.unreachableSince = Math.min(now, w.detector.suspectedAt())
        this.host.unreachable(peer, {
          silentMs: w.detector.silentFor(now),
          phi: w.detector.phi(now),
        })
        this.armDown(peer, w)
      }
      // The timer takes it down on time; a judgement finds one whose timer a stall held up.
      if (now - w.unreachableSince >= downAfterUnreachableMs) this.host.silent(peer)
    }
  }
}
