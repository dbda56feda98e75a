// The defaults of the actor runtime, written once: the layers above import them instead of
// repeating the numbers.

export const actorDefaults = {
  /** How long `call` waits for a reply. */
  callTimeoutMs: 5000,
  /** How long a process may take to stop (`stop`, a supervisor's `shutdownMs`) before it is killed. */
  shutdownMs: 5000,
  /** Messages handled per process before it yields to the next runnable one. */
  reductions: 64,
  /** Messages the scheduler handles in one turn before it lets I/O and timers run. */
  drainBudget: 20_000,
  /** Restarts a supervisor allows within `maxSeconds` before it gives up. */
  maxRestarts: 3,
  /** The window, in seconds, over which a supervisor counts restarts. */
  maxSeconds: 5,
} as const
