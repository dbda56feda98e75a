// The counter of the examples: a count that moves with its name (handoff), in a sworm of them.
import { Actor, Sworm } from '@swormjs/sworm'

/** A counter. Its count is its state: `beginHandoff` gives it away, `endHandoff` takes it back. */
export class Counter extends Actor<{ start?: number } | undefined> {
  n = 0
  override init(args?: { start?: number }): void {
    this.n = args?.start ?? 0
  }
  override handleCall(msg: 'inc' | 'get'): number {
    if (msg === 'inc') this.n++
    return this.n // the return value is the reply
  }
  override beginHandoff(): number {
    return this.n // asked on the old node when the counter's node leaves gracefully
  }
  override endHandoff(n: number): void {
    this.n = n // the first message the counter gets on its new node
  }
}

/** One `Counter` per name across the cluster; with handoff, a name keeps its state when it moves. */
export class Counters extends Sworm {
  static override options = { handoff: true }
  static override actors = { Counter }
}
