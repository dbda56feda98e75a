// The phi accrual failure detector (Hayashibara et al., as Akka and Cassandra use it): instead of
// a fixed timeout, each peer's heartbeat history says how surprising its silence is. Phi is
// -log10 of the chance that a heartbeat still comes this late, under a normal distribution of the
// intervals seen so far; a peer whose heartbeats are irregular (a busy node) earns a wider margin.

/** How the detector judges one peer. Every duration is in milliseconds. */
export interface PhiAccrualOptions {
  /** Phi at or above which the peer is suspected. 8 means a 1 in 10^8 chance of a late beat. */
  threshold: number
  /** Heartbeat intervals remembered. */
  maxSampleSize: number
  /** The standard deviation never goes below this: regular beats must not make a hair trigger. */
  minStdDeviationMs: number
  /** A pause of this much beyond the mean interval is expected (GC, a busy event loop). */
  acceptablePauseMs: number
  /** What the history starts from, before any interval is measured: the heartbeat interval. */
  firstIntervalMs: number
}

/** The intervals between one peer's heartbeats, with running sums for the mean and variance. */
class History {
  private readonly samples: number[] = []
  private head = 0
  private sum = 0
  private squares = 0
  private readonly max: number

  constructor(max: number) {
    this.max = max
  }

  add(interval: number): void {
    if (this.samples.length < this.max) {
      this.samples.push(interval)
    } else {
      const old = this.samples[this.head]!
      this.sum -= old
      this.squares -= old * old
      this.samples[this.head] = interval
      this.head = (this.head + 1) % this.max
    }
    this.sum += interval
    this.squares += interval * interval
  }

  get mean(): number {
    return this.sum / this.samples.length
  }

  get variance(): number {
    const mean = this.mean
    return Math.max(0, this.squares / this.samples.length - mean * mean)
  }
}

/**
 * The detector of one peer. `heartbeat(now)` on each of its heartbeats, `heard(now)` on any other
 * frame; `phi(now)` says how suspicious its silence is; `forgive(ms, now)` forgets the part of a
 * silence the local node caused itself (its own event loop stalled, so it could not read).
 */
export class PhiAccrual {
  private readonly opts: PhiAccrualOptions
  private readonly history: History
  /** When the last heartbeat came: the intervals between heartbeats make the history. */
  private lastBeat: number
  /** When anything last came: any frame is a sign of life. */
  private lastHeard: number
  /** The next interval spans a stall of ours: it says nothing of the peer's rhythm. */
  private skipNext = false

  constructor(opts: PhiAccrualOptions, now: number) {
    this.opts = opts
    this.history = new History(opts.maxSampleSize)
    // Akka's bootstrap: two samples around the expected interval, a deviation of a quarter of it.
    const first = opts.firstIntervalMs
    const deviation = first / 4
    this.history.add(first - deviation)
    this.history.add(first + deviation)
    this.lastBeat = now
    this.lastHeard = now
  }

  /** A heartbeat arrived at `now`. */
  heartbeat(now: number): void {
    if (this.skipNext) this.skipNext = false
    else this.history.add(now - this.lastBeat)
    this.lastBeat = now
    this.lastHeard = now
  }

  /** Some other frame arrived at `now`: the peer lives, though its heartbeat rhythm is unchanged. */
  heard(now: number): void {
    if (now > this.lastHeard) this.lastHeard = now
  }

  /**
   * The local node could not listen for `stallMs` before `now` (its own event loop stalled):
   * that much of the silence is not the peer's, so neither the phi nor the next interval counts
   * it. The rest of a silence still counts: a node stalled every tick still judges, later.
   */
  forgive(stallMs: number, now: number): void {
    this.lastHeard = Math.min(now, this.lastHeard + stallMs)
    this.skipNext = true
  }

  /** Milliseconds since the peer was last heard. */
  silentFor(now: number): number {
    return now - this.lastHeard
  }

  /** How suspicious the silence is at `now`: 0 right after a heartbeat, growing while silent. */
  phi(now: number): number {
    const elapsed = now - this.lastHeard
    const mean = this.history.mean + this.opts.acceptablePauseMs
    const deviation = Math.max(Math.sqrt(this.history.variance), this.opts.minStdDeviationMs)
    return phiOf(elapsed, mean, deviation)
  }

  /** True while the peer is not suspected. */
  isAvailable(now: number): boolean {
    return this.phi(now) < this.opts.threshold
  }

  /**
   * When the present silence reaches the threshold (or reached it): the last time heard, plus the
   * mean interval and the acceptable pause, plus the deviations phi needs (`deviationsAt`). A
   * node that judges once an interval notices it up to an interval later; two nodes watching one
   * peer notice it at different moments, but find the same instant here.
   */
  suspectedAt(): number {
    const mean = this.history.mean + this.opts.acceptablePauseMs
    const deviation = Math.max(Math.sqrt(this.history.variance), this.opts.minStdDeviationMs)
    return this.lastHeard + mean + deviationsFor(this.opts.threshold) * deviation
  }
}

const deviationsByThreshold = new Map<number, number>()

/** `deviationsAt(threshold)`, found once per threshold. */
function deviationsFor(threshold: number): number {
  let d = deviationsByThreshold.get(threshold)
  if (d === undefined) {
    d = deviationsAt(threshold)
    deviationsByThreshold.set(threshold, d)
  }
  return d
}

/**
 * -log10 of the chance that a normal variable of `mean` and `deviation` exceeds `elapsed`, with
 * the logistic approximation of the normal CDF that Akka uses (error below 0.0002).
 */
export function phiOf(elapsed: number, mean: number, deviation: number): number {
  const y = (elapsed - mean) / deviation
  const e = Math.exp(-y * (1.5976 + 0.070566 * y * y))
  // Two forms of the same value, each exact where the other loses precision.
  return elapsed > mean ? -Math.log10(e / (1 + e)) : -Math.log10(1 - 1 / (1 + e))
}

/**
 * How many deviations past the mean a silence must last for phi to reach `threshold` (about 5.2
 * for 8): phi grows with the silence, so the answer is found by halving an interval.
 */
export function deviationsAt(threshold: number): number {
  let low = 0
  let high = 1
  while (phiOf(high, 0, 1) < threshold) high *= 2
  for (let i = 0; i < 50; i++) {
    const mid = (low + high) / 2
    if (phiOf(mid, 0, 1) < threshold) low = mid
    else high = mid
  }
  return high
}
