// What the demo's driver and its node processes share: the sworm, and the messages between them
// (over each child's IPC channel).
import { Actor, Sworm } from '@swormjs/sworm'

/** A counter that hands its count to its next node when its name moves. */
export class Counter extends Actor<undefined> {
  n = 0
  override handleCall(msg: 'inc' | 'get'): number {
    return msg === 'inc' ? ++this.n : this.n
  }
  override beginHandoff(): number {
    return this.n
  }
  override endHandoff(n: number): void {
    this.n = n
  }
}

export class Counters extends Sworm {
  static override options = { handoff: true, redistribution: 'active' as const }
  static override actors = { Counter }
}

/** The same counters with a copy of each count on one other node: a crash loses none. */
export class DurableCounters extends Sworm {
  static override options = { handoff: true, redistribution: 'active' as const, replicas: 1 }
  static override actors = { Counter }
}

/** The load client's tally, reported to the driver. */
export interface LoadStats {
  sent: number
  answered: number
  /** Calls that failed, or answers that showed a lost count, where the library promises none. */
  lost: number
  /** Calls that failed because their worker's node crashed (not promised: retried). */
  crashFailed: number
  /** Workers found restarted from zero after their node crashed (not promised: expected). */
  restartedFromZero: number
  /**
   * Durable counters that ran on the crashed node: each must come back with every count it
   * acknowledged (one found behind counts as lost).
   */
  durableCrashed: number
  /** Examples of what was lost, for the log. */
  lostExamples: string[]
}

/** Driver → node. */
export type Command =
  | { op: 'register'; count: number; durable: number }
  | { op: 'load'; on: boolean }
  | { op: 'expectCrash'; node: string }
  | { op: 'settled'; without?: string; with?: string }
  | { op: 'stats' }
  | { op: 'verify' }
  | { op: 'stop' }

/** Node → driver. */
export type Report =
  | { type: 'up'; name: string; id: string; url: string; observer?: string | undefined }
  | { type: 'event'; line: string }
  | { type: 'reply'; op: Command['op']; value: unknown }
