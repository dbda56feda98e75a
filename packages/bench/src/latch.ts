// A countdown latch: benchmark actors tick it, the benchmark awaits it.

/** Resolves `done` once `tick` has been called `count` times. */
export class Countdown {
  readonly done: Promise<void>
  private remaining: number
  private resolve!: () => void

  constructor(count: number) {
    this.remaining = count
    this.done = new Promise<void>((resolve) => {
      this.resolve = resolve
    })
    if (count <= 0) this.resolve()
  }

  tick(): void {
    if (--this.remaining === 0) this.resolve()
  }
}
