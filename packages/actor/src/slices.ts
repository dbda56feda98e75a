// Long work in short steps: a loop over many items (the children of a node that went down, the
// names of its doc) yields to the event loop every `actorDefaults.sliceMs`, and a fan-out of
// many calls keeps only so many in flight. A synchronous step that runs for long stalls every
// timer and socket of its node, heartbeats included; calls queued by the thousand behind one
// process time out one by one while the queue drains.
import { realClock, type Clock } from './clock.js'
import { actorDefaults } from './defaults.js'

/** When this turn's first sliced work began (real clock, ms), while `turnOpen`. */
let turnStart = 0
let turnOpen = false
const closeTurn = (): void => {
  turnOpen = false
}

/**
 * How long, in ms, the sliced work of this turn of the event loop has run so far: from the first
 * call in the turn (which opens it) to now, on the real clock. Every worker that bounds its own
 * synchronous work by `actorDefaults.sliceMs` (the scheduler's drains, the inbox's messages,
 * long loops) also reads this one clock, and past `actorDefaults.turnMs` takes at most one more
 * step before it waits for the next turn: each had a slice of its own, so a turn that ran five
 * of them ran for five slices. A worker's first step of a turn is never refused, so none starves
 * behind the others. The turn closes at the next `setImmediate`: a turn opened by I/O ends when
 * the immediates begin, and the immediates then have one of their own.
 */
export function turnElapsed(): number {
  const now = performance.now()
  if (!turnOpen) {
    turnOpen = true
    turnStart = now
    setImmediate(closeTurn)
  }
  return now - turnStart
}

/** True once this turn's sliced work has run `actorDefaults.turnMs` (see `turnElapsed`). */
export function turnSpent(): boolean {
  return turnElapsed() >= actorDefaults.turnMs
}

/** Whether a worker timed by `clock` shares the process's turn: only on the real clock. */
export function sharesTurn(clock: Pick<Clock, 'now'> | undefined): boolean {
  return clock === undefined || clock === realClock
}

/**
 * True when work timed by `clock` should wait for the next turn: the turn's shared slice is
 * spent, and the clock is the real one (a test's manual clock never ends a turn).
 */
export function turnSpentOn(clock: Pick<Clock, 'now'> | undefined): boolean {
  return sharesTurn(clock) && turnSpent()
}

/** Resolves once the event loop has turned: after the I/O and timers that were due. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

/** How a sliced loop is timed. */
export interface SliceOptions {
  /** Times the slices. Default: `performance.now()`. */
  readonly clock?: Pick<Clock, 'now'>
  /** How long one slice may run, in ms. Default: `actorDefaults.sliceMs`. */
  readonly sliceMs?: number
}

/**
 * Calls `fn` on each item, in order, and lets the event loop turn whenever a slice has run for
 * `sliceMs`; resolves once every item is done. The first slice runs at once, in the caller's
 * turn. `fn` returns true to stop early. What `fn` reads may change between slices: it decides
 * each item by the state of its own turn.
 */
export async function forEachSliced<T>(
  items: Iterable<T>,
  fn: (item: T) => boolean | void,
  options: SliceOptions = {},
): Promise<void> {
  const gate = new SliceGate(options)
  for (const item of items) {
    for (let wait = gate.pass(); wait !== undefined; wait = gate.pass()) await wait
    if (fn(item) === true) return
  }
}

/**
 * Runs `fn` on each item, started in order, with at most `limit` running at once; resolves once
 * all have settled. The lanes share one time slice as `forEachSliced` does: an item whose `fn`
 * settles at once (nothing to wait for) does not let its lane run on through the rest in one
 * turn. `fn` handles its own failures: one that rejects ends the whole run with that rejection,
 * after the others in flight have settled.
 */
export async function forEachLimited<T>(
  items: Iterable<T>,
  limit: number,
  fn: (item: T) => Promise<void>,
  options: SliceOptions = {},
): Promise<void> {
  const it = items[Symbol.iterator]()
  let failed: { error: unknown } | undefined
  const gate = new SliceGate(options)
  const lane = async (): Promise<void> => {
    for (;;) {
      // Checked before each item, the first included: a thousand lanes do not start at once.
      for (let wait = gate.pass(); wait !== undefined; wait = gate.pass()) await wait
      const next = it.next()
      if (next.done === true || failed !== undefined) return
      try {
        await fn(next.value)
      } catch (error) {
        failed ??= { error }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, limit) }, lane))
  if (failed !== undefined) throw failed.error
}

/**
 * A time slice shared by many tasks of one kind (the lanes of a fan-out, the moves of a leave):
 * each passes the gate before a synchronous step of its own. The first pass of a turn starts the
 * turn's slice; once it has run `sliceMs`, passing waits for the next turn, and every task
 * waiting then goes on in that turn's new slice while it lasts. So a hundred continuations that
 * resume in one turn (a batch of replies read at once) run a slice's worth there, not all of
 * them. (A wait of each task's own would give each its own fresh slice, all in one turn.)
 */
export class SliceGate {
  private readonly now: () => number
  private readonly sliceMs: number
  /** On the real clock, the slice also ends once the turn's shared one is spent (`turnSpent`). */
  private readonly shared: boolean
  private sliceStart = 0
  /** A slice was started in this turn (cleared by the turn's end). */
  private inTurn = false
  /** Passes in this slice: the first always goes on, so that a spent turn starves no gate. */
  private passes = 0
  private pause: Promise<void> | undefined

  constructor(options: SliceOptions = {}) {
    const clock = options.clock
    this.now = clock === undefined ? () => performance.now() : () => clock.now()
    this.sliceMs = options.sliceMs ?? actorDefaults.sliceMs
    this.shared = sharesTurn(clock)
  }

  /**
   * Nothing while this turn's slice lasts: the caller goes on in the same step. Else the wait
   * for the next turn's slice, after which the caller asks again (others may have spent it
   * first), in a loop that takes no step between the answer and the work:
   *
   * ```ts
   * for (let wait = gate.pass(); wait !== undefined; wait = gate.pass()) await wait
   * ```
   */
  pass(): Promise<void> | undefined {
    if (!this.inTurn) this.startSlice()
    if (this.passes++ === 0) return undefined
    if (this.now() - this.sliceStart < this.sliceMs && !(this.shared && turnSpent()))
      return undefined
    return (this.pause ??= nextTurn().then(() => {
      this.pause = undefined
      this.startSlice()
    }))
  }

  private startSlice(): void {
    this.sliceStart = this.now()
    this.passes = 0
    this.inTurn = true
    setImmediate(() => (this.inTurn = false))
  }
}
