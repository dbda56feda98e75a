// The workers of this node whose names moved on, remembered for `GONE_MS` so that a message sent
// to one of their pids (a cached pid, a pid in a message) is forwarded to the name.
import type { Pid } from '@swormjs/actor'
import { Fifo } from '@swormjs/actor/internal'

/** How long a moved worker's pid still forwards to its name: senders re-resolve well within it. */
export const GONE_MS = 60_000

/**
 * The workers of this node whose names moved on, for a while (`GONE_MS`): a message sent to one
 * of their pids is forwarded to the name. The pids in the order they came, in a `Fifo`, so that
 * pruning stops at the first fresh one. (A `Map` iterated from its start after deletes at its
 * front walks over every deleted slot first: 10-20 ms a step in a leave.)
 */
export class GoneWorkers {
  private readonly byPid = new Map<Pid, { key: string; at: number }>()
  /** The last worker of each name that moved on, while it forwards. */
  private readonly byKey = new Map<string, Pid>()
  private readonly order = new Fifo<{ pid: Pid; key: string; at: number }>()
  private readonly now: () => number

  /** `now`: the wall clock in ms (a test's own). */
  constructor(now: () => number = Date.now) {
    this.now = now
  }

  add(worker: Pid, key: string): void {
    const now = this.now()
    this.byPid.set(worker, { key, at: now })
    this.byKey.set(key, worker)
    this.order.push({ pid: worker, key, at: now })
    for (let next = this.order.peek(); next !== undefined; next = this.order.peek()) {
      if (now - next.at < GONE_MS) break
      this.order.shift()
      const g = this.byPid.get(next.pid)
      // A pid added again later keeps its newer entry, and its name if that is the same one.
      const newer = g !== undefined && g.at !== next.at
      if (!newer) this.byPid.delete(next.pid)
      if (this.byKey.get(next.key) === next.pid && !(newer && g.key === next.key)) {
        this.byKey.delete(next.key)
      }
    }
  }

  /** Names whose last moved worker is remembered. */
  get names(): number {
    return this.byKey.size
  }

  /** Workers remembered (some may no longer forward: they are pruned as others come). */
  get size(): number {
    return this.byPid.size
  }

  /** The last worker of the name of `key` that moved on, while it forwards. */
  lastOf(key: string): Pid | undefined {
    const pid = this.byKey.get(key)
    return pid !== undefined && this.keyOf(pid) !== undefined ? pid : undefined
  }

  /**
   * The name of `worker` if it moved on lately. Asked for every message this node sends to
   * another node's process, so an empty table answers first: a lookup hashes a pid that came
   * off the wire afresh each time.
   */
  keyOf(worker: Pid): string | undefined {
    if (this.byPid.size === 0) return undefined
    const g = this.byPid.get(worker)
    return g !== undefined && this.now() - g.at < GONE_MS ? g.key : undefined
  }
}
