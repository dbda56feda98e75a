// A hybrid logical clock: wall-clock milliseconds with a logical counter, packed into one number
// (ms × 1024 + counter) so that clocks compare with `<` and cost nothing to store. It never goes
// backwards and moves past every clock it has seen, so a registration made after seeing another
// gets a larger clock even when the machines' wall clocks disagree a little.

const LOGICAL_BITS = 1024

export class HybridClock {
  private last = 0
  private readonly wall: () => number

  /** `wall`: the wall clock in epoch milliseconds (a node passes its clock's `wallNow`). */
  constructor(wall: () => number) {
    this.wall = wall
  }

  /** A fresh clock, larger than every clock this one issued or observed. */
  now(): number {
    const physical = Math.floor(this.wall()) * LOGICAL_BITS
    this.last = physical > this.last ? physical : this.last + 1
    return this.last
  }

  /** Moves past a clock seen from another node. */
  observe(clock: number): void {
    if (clock > this.last) this.last = clock
  }
}

/** The wall-clock milliseconds of a clock (for display). */
export function clockMs(clock: number): number {
  return Math.floor(clock / LOGICAL_BITS)
}
