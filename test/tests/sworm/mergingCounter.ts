// The counter the persist tests keep: its count is its state (handed over and taken back), and a
// copy started twice shows, since a conflict's loser's count adds to the winner's.
import { Actor } from '@swormjs/sworm'

export class MergingCounter extends Actor<undefined> {
  n = 0
  override handleCall(msg: unknown): number {
    return msg === 'inc' ? ++this.n : this.n
  }
  override beginHandoff(): number {
    return this.n
  }
  override endHandoff(n: number): void {
    this.n = n
  }
  override resolveConflict(n: number): void {
    this.n += n
  }
}
