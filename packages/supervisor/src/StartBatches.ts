// Starts to one node go together: while one is on its way to a node, the next ones to it wait for
// the end of the turn and then go as one request (`op: 'starts'`), answered with one reply that
// holds each start's outcome. A registration burst, a leave that moves thousands of children or
// an adoption then costs one call (frame, ref, watch, timer, reply, and one message to the
// node's server) per node and turn instead of one per child. A start to a node with nothing on
// its way goes at once and alone, so a lone start waits for nothing.
//
// The items of a batch are started in order, one after another, as separate requests were: two
// starts of one id on a node never race. Its answer must not wait for all of them where each
// alone would have been answered in time (children whose `init` is slow): the server starts
// items for half the request's timeout at most (`budgetMs`), and answers the rest "again"
// (`{ again: true }`, not started), which are then sent again. What a batch cannot carry goes
// alone: a start with an abort signal (it must be able to give up on its own), and every item of
// a batch whose request could not be sent (one unserialisable or oversize handed-over state
// fails only its own start). A node of an earlier release, which knows no `starts`, answers it
// with nothing: its items are then sent one by one, as before.
import { RemoteError, describeReason, reasonFromWire, type NodeId } from '@swormjs/actor'
import { NotSerializable } from '@swormjs/cluster'
import type { Started, StartOptions, ChildRecord } from './records.js'

/** One start in a batch: the child and how it comes. */
export type StartItem = { spec: ChildRecord } & StartOptions

/**
 * One start's outcome in a batch's reply: its `Started`, its error in wire form, or `again`: not
 * started, as the server had spent the batch's budget (send it again).
 */
export type StartAnswer = { ok: Started } | { error: unknown } | { again: true }

/** How many starts one request carries at most: a bounded frame, a bounded hold of the server. */
export const MAX_BATCH = 64

interface Waiting {
  readonly item: StartItem
  resolve(value: Started): void
  reject(error: unknown): void
}

interface Queue {
  readonly node: NodeId
  readonly timeoutMs: number
  items: Waiting[]
}

/** What the batches need of their supervisor: the call to a node's server. */
export interface StartBatchesHost {
  /** A request to `node`'s server, rejected past `timeoutMs`. */
  call(node: NodeId, request: StartRequest, timeoutMs: number): Promise<unknown>
  /**
   * The error one start of a failed batch of `count`, sent with `timeoutMs`, gets (a timeout
   * that names its own child, say); `error` itself if absent.
   */
  failedTogether?(
    error: unknown,
    item: StartItem,
    node: NodeId,
    count: number,
    timeoutMs: number,
  ): unknown
}

/** The requests the batches make: one start, or several. */
export type StartRequest =
  ({ op: 'start' } & StartItem) | { op: 'starts'; items: StartItem[]; budgetMs: number }

export class StartBatches {
  private readonly host: StartBatchesHost
  /** Requests on their way, by node and timeout (`keyOf`). */
  private readonly inFlight = new Map<string, number>()
  /** Starts waiting for the end of the turn, by node and timeout. */
  private readonly queued = new Map<string, Queue>()
  private flushScheduled = false

  constructor(host: StartBatchesHost) {
    this.host = host
  }

  /** Starts `item` on `node`: at once if nothing is on its way there, else with the turn's others. */
  start(node: NodeId, item: StartItem, timeoutMs: number): Promise<Started> {
    const key = keyOf(node, timeoutMs)
    if ((this.inFlight.get(key) ?? 0) === 0 && !this.queued.has(key)) {
      return this.track(
        key,
        this.host.call(node, { op: 'start', ...item }, timeoutMs),
      ) as Promise<Started>
    }
    return new Promise<Started>((resolve, reject) =>
      this.requeue(key, node, { item, resolve, reject }, timeoutMs),
    )
  }

  private readonly flush = (): void => {
    this.flushScheduled = false
    for (const key of [...this.queued.keys()]) this.send(key)
  }

  /** Sends what waits under `key`: one item alone, several as one `starts`. */
  private send(key: string): void {
    const q = this.queued.get(key)
    if (q === undefined) return
    this.queued.delete(key)
    const { node, timeoutMs, items } = q
    if (items.length === 1) {
      this.alone(key, node, items[0]!, timeoutMs)
      return
    }
    const request: StartRequest = {
      op: 'starts',
      items: items.map((w) => w.item),
      budgetMs: timeoutMs / 2,
    }
    void this.track(key, this.host.call(node, request, timeoutMs)).then(
      (answers) => {
        if (!Array.isArray(answers) || answers.length !== items.length) {
          // A node of an earlier release knows no `starts`: one by one, as it expects.
          for (const w of items) this.alone(key, node, w, timeoutMs)
          return
        }
        items.forEach((w, i) => {
          const answer = answers[i] as StartAnswer
          if (isAgain(answer)) this.requeue(key, node, w, timeoutMs)
          else settle(w, answer)
        })
      },
      (error: unknown) => {
        // Not sent: one item could not be encoded (or made the request too big). Alone, each
        // fails or succeeds by itself. Anything else (a timeout, the node gone, a failure the
        // server answered) is every item's.
        if (NotSerializable.is(error) && !RemoteError.is(error)) {
          for (const w of items) this.alone(key, node, w, timeoutMs)
          return
        }
        for (const w of items) {
          const own = this.host.failedTogether?.(error, w.item, node, items.length, timeoutMs)
          w.reject(own ?? error)
        }
      },
    )
  }

  /**
   * `w` waits for the end of the turn, with the others to `node`: a new start, or one its batch
   * did not start (the server had spent the batch's budget).
   */
  private requeue(key: string, node: NodeId, w: Waiting, timeoutMs: number): void {
    let q = this.queued.get(key)
    if (q === undefined) {
      q = { node, timeoutMs, items: [] }
      this.queued.set(key, q)
    }
    q.items.push(w)
    if (q.items.length >= MAX_BATCH) this.send(key)
    else if (!this.flushScheduled) {
      this.flushScheduled = true
      setImmediate(this.flush)
    }
  }

  private alone(key: string, node: NodeId, w: Waiting, timeoutMs: number): void {
    this.track(key, this.host.call(node, { op: 'start', ...w.item }, timeoutMs)).then(
      (value) => w.resolve(value as Started),
      (error: unknown) => w.reject(error),
    )
  }

  /** Counts `request` on its way under `key` until it settles. */
  private track(key: string, request: Promise<unknown>): Promise<unknown> {
    this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1)
    const done = (): void => {
      const n = (this.inFlight.get(key) ?? 1) - 1
      if (n === 0) this.inFlight.delete(key)
      else this.inFlight.set(key, n)
    }
    return request.finally(done)
  }
}

function keyOf(node: NodeId, timeoutMs: number): string {
  return `${timeoutMs}\u0000${node}`
}

function isAgain(answer: StartAnswer): boolean {
  return typeof answer === 'object' && answer !== null && 'again' in answer
}

function settle(w: Waiting, answer: StartAnswer): void {
  if (typeof answer === 'object' && answer !== null && 'ok' in answer) {
    w.resolve(answer.ok)
    return
  }
  const error = reasonFromWire((answer as { error?: unknown } | null)?.error)
  w.reject(error instanceof Error ? error : new Error(`start failed: ${describeReason(error)}`))
}
