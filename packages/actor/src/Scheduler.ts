// The run queue: which processes have work, in what order, and how much each may do per turn.
// It runs `init` and the message handlers as the process's own code; a failure ends the process.
import type { Clock } from './clock.js'
import { runAs } from './context.js'
import { actorDefaults } from './defaults.js'
import { InitFailed } from './errors.js'
import { isThenable, kInit, kReceive, NO_START_INFO, type Proc } from './Process.js'
import { turnSpentOn } from './slices.js'

/** What the scheduler needs from its runtime: a way to end a process, and its clock. */
export interface SchedulerHost {
  /** Ends `proc` with `why`; `initFailed`: its `init` failed, so its `terminate` does not run. */
  terminate(proc: Proc, why: unknown, initFailed?: boolean): void
  /** Times the slices (the runtime's clock: a test's manual clock never ends one). */
  readonly clock: Pick<Clock, 'now'>
}

/** Past this many consumed slots, a queue (the run queue, a mailbox) drops its consumed head. */
const COMPACT_AFTER = 1024

/**
 * Runs the processes of one runtime, each one message at a time, never re-entrantly.
 *
 * Drains run as microtasks, so that a message sent now is handled before I/O, but only within a
 * slice of `actorDefaults.sliceMs` from the first drain since the event loop last turned:
 * past it, the next drain waits for `setImmediate`. A chain of work that goes from process to
 * process through promises (a call answered, whose caller then calls again) schedules a new
 * drain at each step and would otherwise never let the loop turn: thousands of starts in a row
 * held a node's timers and sockets, heartbeats included, for seconds.
 */
export class Scheduler {
  private readonly host: SchedulerHost
  private readonly reductions: number
  private readonly sliceMs: number
  private runQueue: Proc[] = []
  private runHead = 0
  private drainScheduled = false
  private messagesTotal = 0
  /** Runs before each drain (see `Runtime.setBeforeRun`). */
  beforeRun: (() => void) | undefined = undefined
  /** When the current slice began (its first drain); undefined once the loop has turned. */
  private sliceStart: number | undefined

  constructor(host: SchedulerHost, reductions: number, sliceMs = actorDefaults.sliceMs) {
    this.host = host
    this.reductions = reductions
    this.sliceMs = sliceMs
  }

  /** Messages handled since start, by every process. */
  get messages(): number {
    return this.messagesTotal
  }

  /** Puts `msg` in `proc`'s mailbox (dropped if it is exiting) and makes it runnable. */
  enqueue(proc: Proc, msg: unknown): void {
    if (proc.status === 'exiting') return
    proc.mailbox.push(msg)
    if (!proc.scheduled && !proc.busy && !proc.running && proc.status === 'alive') {
      this.schedule(proc)
    }
  }

  /** Queues `proc` to run (its `init`, or its mailbox). */
  schedule(proc: Proc): void {
    proc.scheduled = true
    this.runQueue.push(proc)
    if (this.drainScheduled) return
    if (this.sliceOver()) {
      this.deferDrain()
      return
    }
    this.drainScheduled = true
    queueMicrotask(this.drain)
  }

  /** True when the current slice has run its time: the next drain waits for the loop to turn. */
  private sliceOver(): boolean {
    if (this.sliceStart === undefined) return false
    if (this.host.clock.now() - this.sliceStart >= this.sliceMs) return true
    // On the real clock the turn's shared slice bounds it too (`turnElapsed`).
    return turnSpentOn(this.host.clock)
  }

  private readonly endSlice = (): void => {
    this.sliceStart = undefined
  }

  /** At most one drain is pending (`drainScheduled`): a microtask, or an immediate. */
  private readonly drain = (): void => {
    this.drainScheduled = false
    if (this.sliceOver()) {
      // Queued as a microtask before the slice ran out: the loop turns first.
      this.deferDrain()
      return
    }
    this.beforeRun?.()
    if (this.sliceStart === undefined) {
      this.sliceStart = this.host.clock.now()
      // Queued before any drain this slice defers, so that drain starts a fresh slice.
      setImmediate(this.endSlice)
    }
    while (this.runHead < this.runQueue.length) {
      const proc = this.runQueue[this.runHead++]!
      proc.scheduled = false
      this.runProcess(proc)
      if (this.sliceOver()) break
    }
    if (this.runHead >= this.runQueue.length) {
      this.runQueue = []
      this.runHead = 0
    } else {
      if (this.runHead > COMPACT_AFTER) {
        this.runQueue = this.runQueue.slice(this.runHead)
        this.runHead = 0
      }
      // The slice is over: let I/O and timers run before the rest (unless a process this drain
      // ran has already queued the next drain).
      if (!this.drainScheduled) this.deferDrain()
    }
  }

  private deferDrain(): void {
    this.drainScheduled = true
    setImmediate(this.drain)
  }

  /** Runs up to `reductions` messages of one process; returns how many it handled. */
  private runProcess(proc: Proc): number {
    if (proc.status === 'initializing') {
      this.runInit(proc)
      return 1
    }
    let n = 0
    while (proc.head < proc.mailbox.length && n < this.reductions) {
      if (proc.status !== 'alive' || proc.busy) break
      const msg = proc.mailbox[proc.head]
      proc.mailbox[proc.head++] = undefined
      n++
      proc.handled++
      this.messagesTotal++
      let result: unknown
      proc.running = true
      try {
        result = runAs(proc, receive, msg)
      } catch (e) {
        proc.running = false
        this.host.terminate(proc, e)
        return n
      }
      proc.running = false
      if (isThenable(result)) {
        proc.busy = true
        result.then(
          () => this.afterAsync(proc),
          (e: unknown) => this.asyncFailed(proc, e),
        )
        break
      }
      if (proc.stopReason !== undefined) {
        this.host.terminate(proc, proc.stopReason)
        return n
      }
    }
    if (proc.head === proc.mailbox.length) {
      if (proc.head > 0) {
        proc.mailbox.length = 0
        proc.head = 0
      }
    } else if (proc.head > COMPACT_AFTER && proc.head * 2 > proc.mailbox.length) {
      proc.mailbox = proc.mailbox.slice(proc.head)
      proc.head = 0
    }
    if (!proc.busy && proc.status === 'alive' && proc.head < proc.mailbox.length)
      this.schedule(proc)
    return n
  }

  private afterAsync(proc: Proc): void {
    proc.busy = false
    if (proc.status !== 'alive') return
    if (proc.stopReason !== undefined) {
      this.host.terminate(proc, proc.stopReason)
      return
    }
    if (!proc.scheduled && proc.head < proc.mailbox.length) this.schedule(proc)
  }

  private asyncFailed(proc: Proc, e: unknown): void {
    proc.busy = false
    if (proc.status === 'alive') this.host.terminate(proc, e)
  }

  private runInit(proc: Proc): void {
    const args = proc.initArgs
    proc.initArgs = undefined
    proc.busy = true
    proc.running = true
    let result: unknown
    try {
      result = runAs(proc, init, args)
    } catch (e) {
      proc.running = false
      this.initFailed(proc, e)
      return
    }
    proc.running = false
    if (isThenable(result)) {
      result.then(
        (info) => this.initDone(proc, info),
        (e: unknown) => this.initFailed(proc, e),
      )
    } else {
      this.initDone(proc, result)
    }
  }

  private initDone(proc: Proc, info: unknown): void {
    proc.busy = false
    if (proc.status !== 'initializing') return
    proc.status = 'alive'
    const waiter = proc.initWaiter
    proc.initWaiter = undefined
    waiter?.resolve(proc.pid, info)
    if (proc.stopReason !== undefined) this.host.terminate(proc, proc.stopReason)
    else if (proc.head < proc.mailbox.length && !proc.scheduled) this.schedule(proc)
  }

  private initFailed(proc: Proc, e: unknown): void {
    proc.busy = false
    if (proc.status !== 'initializing') return
    const waiter = proc.initWaiter
    proc.initWaiter = undefined
    waiter?.reject(new InitFailed(proc.pid, e))
    this.host.terminate(proc, e, waiter !== undefined)
  }
}

// What `runAs` calls: static, so that handling a message allocates no closure.
const receive = (p: Proc, msg: unknown): unknown => p.behavior[kReceive](msg)
const init = (p: Proc, args: unknown): unknown => {
  const start = p.initStart
  p.initStart = NO_START_INFO // handed over once, never kept for a later look
  return p.behavior[kInit](args, start)
}
