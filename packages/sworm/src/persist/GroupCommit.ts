// A group commit: every writer that asks within one turn (or while a batch is being written)
// shares the next write, and hears when it is done. The stores queue their records themselves;
// `writeBatch` takes everything queued so far and makes it durable.
export class GroupCommit {
  private readonly writeBatch: () => Promise<void>
  private waiting: Array<{ resolve: () => void; reject: (e: unknown) => void }> = []
  private running: Promise<void> | undefined

  constructor(writeBatch: () => Promise<void>) {
    this.writeBatch = writeBatch
  }

  /** Resolves once a batch written after this call (so holding what was queued) is durable. */
  commit(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ resolve, reject })
      this.running ??= this.run()
    })
  }

  /** Resolves once nothing is being written. */
  settled(): Promise<void> {
    return this.running ?? Promise.resolve()
  }

  private async run(): Promise<void> {
    try {
      // Let the writes of this turn join the batch.
      await new Promise<void>((r) => setImmediate(r))
      while (this.waiting.length > 0) {
        const waiting = this.waiting
        this.waiting = []
        try {
          await this.writeBatch()
          for (const w of waiting) w.resolve()
        } catch (e) {
          for (const w of waiting) w.reject(e)
        }
      }
    } finally {
      this.running = undefined
    }
  }
}
