// A counter that hands its count over when its name moves: the worker most sworm tests need.
import { Actor } from '@swormjs/sworm'

/** Counts `inc` calls; `get` reads the count; the count moves with the name (handoff). */
export class HandoffCounter<Args = void> extends Actor<Args> {
  n = 0
  override handleCall(msg: 'inc' | 'get'): unknown {
    if (msg === 'inc') this.n++
    return this.n
  }
  override beginHandoff(): number {
    return this.n
  }
  override endHandoff(n: number): void {
    this.n = n
  }
}
