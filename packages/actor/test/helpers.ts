// Helpers shared by the actor tests: deferreds, promise tracking, exit watching and a recording
// process, so that a test orders its steps by events and never by sleeping.
import type { ExitReason, Pid, Runtime, SpawnOptions } from '@swormjs/actor'

/** A promise with its resolve and reject functions in hand. */
export interface Deferred<T> {
  readonly promise: Promise<T>
  readonly resolve: (value: T) => void
  readonly reject: (error: unknown) => void
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/** Watches a promise without awaiting it, so a test can look at its state while time moves. */
export class Tracked<T> {
  state: 'pending' | 'fulfilled' | 'rejected' = 'pending'
  value: T | undefined = undefined
  error: unknown = undefined
  /** Resolves once the promise has settled, either way. */
  readonly settled: Promise<void>

  constructor(promise: Promise<T>) {
    this.settled = promise.then(
      (value) => {
        this.state = 'fulfilled'
        this.value = value
      },
      (error: unknown) => {
        this.state = 'rejected'
        this.error = error
      },
    )
  }
}

export function track<T>(promise: Promise<T>): Tracked<T> {
  return new Tracked(promise)
}

/** Resolves with the reason `pid` ends with (`noproc` at once if it is already gone). */
export function exitOf(rt: Runtime, pid: Pid): Promise<ExitReason> {
  return new Promise((resolve) => {
    rt.monitor((reason) => resolve(reason), pid)
  })
}

/** A function process that keeps every message it receives. */
export interface Inbox {
  readonly pid: Pid
  readonly messages: unknown[]
}

export function spawnInbox(rt: Runtime, options?: SpawnOptions): Inbox {
  const messages: unknown[] = []
  const pid = rt.spawn((msg) => {
    messages.push(msg)
  }, options)
  return { pid, messages }
}

/** An error followed by its `cause`, the cause's cause, and so on. */
export function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = []
  let cur = error
  while (cur !== undefined && chain.length < 10) {
    chain.push(cur)
    cur = cur instanceof Error ? cur.cause : undefined
  }
  return chain
}

/** Turns of the event loop so far: counted by an immediate that queues itself again. */
export function countTurns(): { readonly turns: () => number; stop: () => void } {
  let turns = 0
  let stopped = false
  const tick = (): void => {
    turns++
    if (!stopped) setImmediate(tick)
  }
  setImmediate(tick)
  return { turns: () => turns, stop: () => (stopped = true) }
}
