/**
 * The defaults of the actor runtime, written once: the layers above import them instead of
 * repeating the numbers.
 */
export const actorDefaults = {
  /** How long `call` waits for a reply, in ms. */
  callTimeoutMs: 5000,
  /**
   * How long, in ms, a process may take to stop (`stop`, a supervisor's `shutdownMs`) before it
   * is killed.
   */
  shutdownMs: 5000,
  /** Messages handled per process before it yields to the next runnable one. */
  reductions: 64,
  /**
   * How long, in ms, one synchronous step runs before it lets I/O and timers run: the
   * scheduler's drains, one after another, and long loops over many items (`slices.ts`). Short
   * enough that no node stalls its heartbeats and sockets for long (no synchronous step over
   * 50 ms), long enough that the yield (one `setImmediate`) costs nothing measurable.
   */
  sliceMs: 10,
  /**
   * How long, in ms, the sliced workers of a process together run in one turn of the event loop
   * before each takes at most one more step and waits for the next turn (see `turnElapsed`).
   * Each alone stops at `sliceMs`; without a shared bound, a turn that ran five of them (a
   * rebalance: a loop placing names, the doc parts coming in, the moves' calls) ran 60-90 ms.
   */
  turnMs: 20,
  /** Restarts a supervisor allows within `maxSeconds` before it gives up. */
  maxRestarts: 3,
  /** The window, in seconds, over which a supervisor counts restarts. */
  maxSeconds: 5,
} as const
