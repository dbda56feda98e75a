// Order for messages sent to a moved worker's pid. What this node sent to the pid before it
// learned of the move travels through the pid's old node, which forwards it to the name; what
// it sends after would go to the name from here, and could overtake it. So the first message to
// the old pid after the move waits, with every later one for the name sent from here by pid (a
// cached pid, a publish to a group), behind a barrier: a marker sent to the old pid, on the socket
// that carried the earlier messages, which the old node forwards to the name after them. The
// name's delegate answers it (it has passed everything before it on to its worker); then what
// waited goes to the name, in order, and later messages to the old pid go to the name from here.
import type { NodeId, Pid, Runtime, TimerHandle } from '@swormjs/actor'
import { nodeOf } from '@swormjs/actor'

/** The marker: sent to a moved worker's old pid, answered by the name's delegate. */
export interface FlushMarker {
  type: 'sworm:flush'
  /** The name's key. */
  key: string
  /** Which barrier of the sender it ends. */
  id: number
  /** Where the answer goes: the sender's router. */
  to: Pid
}

/** The delegate's answer to a `FlushMarker`, to the sender's router. */
export interface Flushed {
  type: 'sworm:flushed'
  key: string
  id: number
}

/** A message of `type` naming a barrier: the name's key and the barrier's id. */
function namesBarrier(m: unknown, type: string): m is { key: string; id: number } {
  if (typeof m !== 'object' || m === null) return false
  const { type: t, key, id } = m as { type?: unknown; key?: unknown; id?: unknown }
  return t === type && typeof key === 'string' && typeof id === 'number'
}

export function isFlushMarker(m: unknown): m is FlushMarker {
  return namesBarrier(m, 'sworm:flush') && typeof (m as { to?: unknown }).to === 'string'
}

export function isFlushed(m: unknown): m is Flushed {
  return namesBarrier(m, 'sworm:flushed')
}

/** The answer to `marker`. */
export function flushedFor(marker: FlushMarker): Flushed {
  return { type: 'sworm:flushed', key: marker.key, id: marker.id }
}

/** What the barriers need of their sworm instance. */
export interface BarriersHost {
  readonly runtime: Runtime
  /** How long a barrier waits for its answer at most (the old node may drop the marker). */
  readonly waitMs: number
  /** How long an old pid whose path drained sends to its name from here (`GONE_MS`). */
  readonly clearedMs: number
  /** This node's router, which takes the answers. */
  router(): Pid
  /** Whether `node` is connected (a barrier through a node that is not would never end). */
  isUp(node: NodeId): boolean
  /** The name's worker now, if it resolves (its new pid: sends to it wait too). */
  workerOf(key: string): Pid | undefined
  /** Sends `msg` to the name of `key` as a send by name does (its hold, if it is held). */
  deliver(key: string, msg: unknown): void
}

interface Barrier {
  readonly id: number
  /** The old pid the marker went to, and its node. */
  readonly old: Pid
  readonly node: NodeId
  readonly queue: unknown[]
  readonly timer: TimerHandle
  /** The name's new worker pids seen while it waits (sends to them wait too). */
  readonly workers: Pid[]
}

export class Barriers {
  private readonly host: BarriersHost
  private readonly pending = new Map<string, Barrier>()
  /** The name's new worker pid, while its barrier waits: a publish reaches it by that pid. */
  private readonly byWorker = new Map<Pid, string>()
  /** Old pids whose path drained, with when: messages to them go to the name from here. */
  private readonly cleared = new Map<Pid, number>()
  /**
   * Names that moved lately, by their new worker's pid: the first message to it by pid (a
   * publish, say) raises the barrier through the old one, as a message to the old pid would.
   */
  private readonly successors = new Map<Pid, { key: string; old: Pid; at: number }>()
  private seq = 0

  constructor(host: BarriersHost) {
    this.host = host
  }

  /** True while some barrier waits or a name moved lately (sends to other pids are looked at). */
  get active(): boolean {
    return this.pending.size > 0 || this.successors.size > 0
  }

  /**
   * The name of `key` moved from worker `old` (of another node) to worker `now`: a message to
   * `now` by pid waits behind the barrier through `old`, as one to `old` would.
   */
  moved(key: string, old: Pid, now: Pid): void {
    if (this.host.runtime.isLocal(old) || old === now) return
    const at = Date.now()
    this.successors.delete(now)
    this.successors.set(now, { key, old, at })
    for (const [pid, s] of this.successors) {
      if (at - s.at < this.host.clearedMs) break
      this.successors.delete(pid)
    }
  }

  /**
   * A message to `old`, the pid of a worker of the name of `key` that moved on, whose node is
   * up: true when it waits behind the name's barrier (raised now if none is up); false when
   * the path through that node drained already, and it goes to the name from here.
   */
  hold(key: string, old: Pid, msg: unknown): boolean {
    const at = this.cleared.get(old)
    if (at !== undefined && Date.now() - at < this.host.clearedMs) return false
    const barrier = this.pending.get(key) ?? this.raise(key, old)
    if (barrier === undefined) return false
    barrier.queue.push(msg)
    return true
  }

  /**
   * A message to `pid` (not a moved worker's): true when it waits behind its name's barrier,
   * raised now if `pid` is the new worker of a name that moved lately from another node.
   */
  holdForWorker(pid: Pid, msg: unknown): boolean {
    const key = this.byWorker.get(pid)
    if (key !== undefined) {
      this.pending.get(key)?.queue.push(msg)
      return true
    }
    const s = this.successors.get(pid)
    if (s === undefined) return false
    if (Date.now() - s.at >= this.host.clearedMs || !this.host.isUp(nodeOf(s.old))) {
      this.successors.delete(pid)
      return false
    }
    if (this.hold(s.key, s.old, msg)) return true
    this.successors.delete(pid)
    return false
  }

  /** The name of `key` registered `pid`: while its barrier waits, sends to `pid` wait too. */
  registered(key: string, pid: Pid): void {
    const barrier = this.pending.get(key)
    if (barrier === undefined || barrier.workers.includes(pid)) return
    barrier.workers.push(pid)
    this.byWorker.set(pid, key)
  }

  /** The answer to barrier `id` of `key` came: what waited goes to the name. */
  flushed(key: string, id: number): void {
    this.release(key, id)
  }

  /** `node` went down: nothing more comes through it; its barriers let go. */
  nodeDown(node: NodeId): void {
    for (const [key, b] of [...this.pending]) if (b.node === node) this.release(key, b.id)
  }

  /** The sworm stops here: every barrier lets go (what waited goes to the names, if it can). */
  releaseAll(): void {
    for (const [key, b] of [...this.pending]) this.release(key, b.id)
  }

  private raise(key: string, old: Pid): Barrier | undefined {
    const { runtime } = this.host
    const id = ++this.seq
    const marker: FlushMarker = { type: 'sworm:flush', key, id, to: this.host.router() }
    try {
      // Not held by the dead-letter handler: it goes to the old pid's node, behind the rest.
      runtime.send(old, marker)
    } catch {
      return undefined
    }
    const barrier: Barrier = {
      id,
      old,
      node: nodeOf(old),
      queue: [],
      timer: runtime.clock.setTimeout(() => this.release(key, id), this.host.waitMs),
      workers: [],
    }
    this.pending.set(key, barrier)
    const now = this.host.workerOf(key)
    if (now !== undefined) this.registered(key, now)
    return barrier
  }

  private release(key: string, id: number): void {
    const barrier = this.pending.get(key)
    if (barrier === undefined || barrier.id !== id) return
    this.pending.delete(key)
    this.host.runtime.clock.clearTimeout(barrier.timer)
    for (const pid of barrier.workers) {
      this.byWorker.delete(pid)
      this.successors.delete(pid)
    }
    const now = Date.now()
    // Oldest first, so that the pruning below stops at the first fresh one.
    this.cleared.delete(barrier.old)
    this.cleared.set(barrier.old, now)
    for (const [pid, at] of this.cleared) {
      if (now - at < this.host.clearedMs) break
      this.cleared.delete(pid)
    }
    for (const msg of barrier.queue) this.host.deliver(key, msg)
  }
}
