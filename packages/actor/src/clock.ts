// The clock every timer goes through, so that tests can drive time by hand.

/** An opaque timer handle from a `Clock`. */
export type TimerHandle = object | number

/**
 * Time source, timers and randomness. `now()` is in milliseconds and never goes backwards;
 * `wallNow()` is the wall clock (milliseconds since the epoch, as `Date.now()`), for what other
 * machines compare (hybrid logical clocks); `random()` is uniform in [0, 1), for jitter.
 */
export interface Clock {
  /** Monotonic time in ms; never goes backwards. Only differences between readings matter. */
  now(): number
  /** Wall-clock time in ms since the epoch, as `Date.now()`. */
  wallNow(): number
  /** A number uniform in [0, 1), for jitter. */
  random(): number
  /** Runs `fn` once after `ms` milliseconds; returns a handle for `clearTimeout`. */
  setTimeout(fn: () => void, ms: number): TimerHandle
  /** Cancels a timer; `undefined` is ignored. */
  clearTimeout(handle: TimerHandle | undefined): void
}

/** The longest delay a Node timer holds (about 24.8 days); Node runs a longer one after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1
/** The handle of a timer that is never due: clearing it does nothing. */
const NEVER: TimerHandle = Object.freeze({})

/** The real clock: `performance.now()` and Node's timers (unref'd so they never hold the process). */
export const realClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  random: () => Math.random(),
  setTimeout: (fn, ms) => {
    // A delay past Node's limit (`Infinity` included) is never due, rather than due at once.
    if (!(ms <= MAX_TIMER_MS)) return NEVER
    const t = setTimeout(fn, ms)
    t.unref()
    return t
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout | undefined),
}

interface ManualTimer {
  at: number
  seq: number
  fn: () => void
  cancelled: boolean
}

/**
 * A clock that moves only when told to. `advance(ms)` runs the timers that fall due, in order of
 * due time, letting promise callbacks settle between them.
 * @example
 * const clock = new ManualClock()
 * const rt = new Runtime({ clock })
 * await clock.advance(5000) // a call with the default timeout now rejects
 */
export class ManualClock implements Clock {
  private time = 0
  private seq = 0
  private timers: ManualTimer[] = []
  private readonly epoch: number
  private seed: number

  /** `epoch`: what `wallNow()` reads at time 0. `seed`: where `random()` starts (mulberry32). */
  constructor(options: { epoch?: number; seed?: number } = {}) {
    this.epoch = options.epoch ?? 1_700_000_000_000
    this.seed = (options.seed ?? 1) >>> 0
  }

  now(): number {
    return this.time
  }

  wallNow(): number {
    return this.epoch + this.time
  }

  /** Deterministic for a seed, so a test that jitters replays the same way. */
  random(): number {
    this.seed = (this.seed + 0x6d2b79f5) >>> 0
    let t = this.seed
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t: ManualTimer = {
      at: this.time + Math.max(0, ms),
      seq: this.seq++,
      fn,
      cancelled: false,
    }
    this.timers.push(t)
    return t
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (typeof handle === 'object') (handle as ManualTimer).cancelled = true
  }

  /** How many timers are waiting. */
  get pending(): number {
    return this.timers.filter((t) => !t.cancelled).length
  }

  /** Moves time forward by `ms`, firing every timer due on the way. */
  async advance(ms: number): Promise<void> {
    const target = this.time + ms
    await settle()
    for (;;) {
      this.timers = this.timers.filter((t) => !t.cancelled)
      let next: ManualTimer | undefined
      for (const t of this.timers) {
        if (t.at <= target && (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq)))
          next = t
      }
      if (!next) break
      this.time = Math.max(this.time, next.at)
      next.cancelled = true
      next.fn()
      await settle()
    }
    this.time = target
    await settle()
  }
}

/** Lets queued microtasks and immediates run (several rounds, for promise chains). */
export async function settle(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}

/**
 * Resolves as `promise` does, or rejects after `ms` on `clock` with an error saying that
 * `what` took longer than that. The timer is cleared either way.
 */
export async function withTimeout<T>(
  clock: Clock,
  promise: Promise<T>,
  ms: number,
  what: string,
): Promise<T> {
  let timer: TimerHandle | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = clock.setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms)
      }),
    ])
  } finally {
    clock.clearTimeout(timer)
  }
}
