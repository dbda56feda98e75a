// A first-in, first-out queue whose `shift` is O(1): an array read from a head index, which
// drops its consumed part once that is over half of it (past 1,024 items). `Array.shift` moves
// every item left; a `Map` used as a queue walks its deleted slots from the start.

export class Fifo<T> {
  private items: T[] = []
  private head = 0

  get size(): number {
    return this.items.length - this.head
  }

  push(item: T): void {
    this.items.push(item)
  }

  /** The oldest item, left in the queue. */
  peek(): T | undefined {
    return this.head === this.items.length ? undefined : this.items[this.head]
  }

  shift(): T | undefined {
    if (this.head === this.items.length) return undefined
    const item = this.items[this.head++]
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return item
  }
}
