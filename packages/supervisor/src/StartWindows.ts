// The starts this node asks of other nodes (its users' `startChild`), a window of them in flight
// to each node at a time; the rest wait their turn here, in order, and are placed again when it
// comes (the node they hashed to may have gone meanwhile). A burst of starts from one node then
// reaches the others as a stream, and a start's timeout counts the time its node takes to answer,
// not the time it spent behind thousands of others (Akka's shard region buffers the same way
// while a shard's home is resolved).
//
// While nothing waits, a start is placed and sent at once. Once one waits, the next ones are
// placed in a later turn, in slices of at most `sliceMs`: ten thousand `startChild` calls made in
// one synchronous loop then cost the caller's turn little more than their promises, and the
// node keeps reading its sockets (heartbeats, replies) while it places them.
//
// Each window adapts to its node's answers, much as TCP's congestion window does in slow start:
// it grows by one per start answered within `slowMs` (so it doubles per round trip while the
// node keeps up), and halves, at most once per round trip, when one was answered later. Its
// answers then stay near `slowMs`, far below the timeout, however many nodes start at once on a
// slow machine; and a quiet cluster (or a node's first slow answers, while it warms up) costs
// only a few round trips of a smaller window. (A TCP-like additive phase after the first cut
// was tried: a node's first answers, slow while it warms up, held its window low for thousands
// of starts, and a quiet cluster started 15-20% fewer children a second.)
import type { NodeId } from '@swormjs/actor'
import { Fifo } from '@swormjs/actor/internal'

/** The bounds of each node's window, and the clock and slices of the placing. */
export interface WindowOptions {
  /** The window a node starts with (and again after an idle spell), and its bounds. */
  readonly initial: number
  readonly min: number
  readonly max: number
  /** An answer later than this (ms after the start was sent) halves the window. */
  readonly slowMs: number
  /** The clock answers and slices are timed with (ms, never backwards). */
  readonly now: () => number
  /** The longest a slice of placing may run before it yields to I/O. */
  readonly sliceMs: number
  /**
   * Runs one slice of placing: a supervisor may keep what its placing reads for the slice, as
   * nothing changes within one synchronous step. Default: runs it as is.
   */
  readonly slice?: (work: () => void) => void
}

/** One start: where to place it, how to send it, and its caller's promise. */
interface Start {
  place(): NodeId
  send(target: NodeId): Promise<unknown>
  resolve(value: unknown): void
  reject(error: unknown): void
}

/** One node's window. */
interface Window {
  inFlight: number
  size: number
  /** When the window was last halved: not again within one round trip of that. */
  cutAt: number
  /** The placed starts waiting for a slot. */
  readonly waiting: Fifo<Start>
}

export class StartWindows {
  private readonly options: WindowOptions
  private readonly windows = new Map<NodeId, Window>()
  /** Starts asked for and not placed yet, in order. */
  private readonly asked = new Fifo<Start>()
  /** Placed starts waiting for a slot, over all windows. */
  private waiting = 0
  private pumping = false

  constructor(options: WindowOptions) {
    this.options = options
  }

  /** Starts not sent yet (not placed, or waiting for a slot), over all nodes. */
  get queued(): number {
    return this.asked.size + this.waiting
  }

  /** The window of `node` now (starts it may have in flight), for tests and stats. */
  sizeOf(node: NodeId): number {
    return Math.floor(this.windows.get(node)?.size ?? this.options.initial)
  }

  /**
   * Places a start with `place()` (now, or in a later turn when others wait) and runs `send`
   * once a slot to that node is free, placing it again if it had to wait (so that it goes where its id hashes to when it is
   * sent). `place` may throw (no node to place on), and so may `send`: either rejects the start.
   */
  run<T>(place: () => NodeId, send: (target: NodeId) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start: Start = { place, send, resolve: resolve, reject }
      // Nothing waits: placed and sent now (or queued behind its node's full window). Once
      // something waits, every new start waits in order too, unplaced: a loop of ten thousand
      // starts places only the first windows' worth in its own step.
      if (this.waiting === 0 && this.asked.size === 0) {
        this.admit(start)
        return
      }
      this.asked.push(start)
      if (!this.pumping) {
        this.pumping = true
        setImmediate(() => this.pump())
      }
    })
  }

  /** Places the starts asked for, for one slice; the rest in the next turn. */
  private pump(): void {
    const { now, sliceMs } = this.options
    const slice = this.options.slice ?? ((work: () => void) => work())
    slice(() => {
      const until = now() + sliceMs
      for (let start = this.asked.shift(); start !== undefined; start = this.asked.shift()) {
        this.admit(start)
        if (now() >= until) break
      }
    })
    if (this.asked.size > 0) setImmediate(() => this.pump())
    else this.pumping = false
  }

  /** Places `start`, and sends it or queues it behind the starts waiting for that node. */
  private admit(start: Start): void {
    const target = placed(start)
    if (target === undefined) return
    const w = this.windowOf(target)
    if (w.inFlight < Math.floor(w.size) && w.waiting.size === 0) {
      w.inFlight++
      this.send(start, target)
    } else {
      w.waiting.push(start)
      this.waiting++
    }
  }

  private send(start: Start, target: NodeId): void {
    const sentAt = this.options.now()
    start.send(target).then(
      (value) => {
        this.answered(target, sentAt)
        start.resolve(value)
      },
      (error: unknown) => {
        this.answered(target, sentAt)
        start.reject(error)
      },
    )
  }

  private windowOf(node: NodeId): Window {
    let w = this.windows.get(node)
    if (w === undefined) {
      w = {
        inFlight: 0,
        size: this.options.initial,
        cutAt: -Infinity,
        waiting: new Fifo(),
      }
      this.windows.set(node, w)
    }
    return w
  }

  /** A start to `node` sent at `sentAt` was answered (or failed): adapt, then free its slot. */
  private answered(node: NodeId, sentAt: number): void {
    const w = this.windows.get(node)
    if (w === undefined) return
    const { min, max, slowMs, now } = this.options
    const at = now()
    const took = at - sentAt
    if (took <= slowMs) w.size = Math.min(max, w.size + 1)
    else if (at - w.cutAt > took) {
      w.size = Math.max(min, w.size / 2)
      w.cutAt = at
    }
    w.inFlight--
    this.refill(node, w)
  }

  /**
   * Hands the free slots of `node` to the starts waiting for it, each placed again first: one
   * that now goes elsewhere is admitted there instead (behind the starts waiting there).
   */
  private refill(node: NodeId, w: Window): void {
    while (w.inFlight < Math.floor(w.size)) {
      const start = w.waiting.shift()
      if (start === undefined) break
      this.waiting--
      const target = placed(start)
      if (target === undefined) continue
      if (target !== node) {
        this.admit(start)
        continue
      }
      w.inFlight++
      this.send(start, node)
    }
    // An idle node starts again from the initial window, as TCP does after an idle spell; and a
    // node gone for good leaves nothing behind.
    if (w.inFlight === 0 && w.waiting.size === 0) this.windows.delete(node)
  }
}

/** Where `start` goes now; undefined (and the start rejected) when it cannot be placed. */
function placed(start: Start): NodeId | undefined {
  try {
    return start.place()
  } catch (e) {
    start.reject(e)
    return undefined
  }
}
