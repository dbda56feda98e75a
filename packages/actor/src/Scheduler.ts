// The run queue: which processes have work, in what order, and how much each may do per turn.
// It runs `init` and the message handlers as the process's own code; a failure ends the process.
import { runAs } from './context.js'
import { actorDefaults } from './defaults.js'
import { InitFailed } from './errors.js'
import { isThenable, kInit, kReceive, NO_START_INFO, type Proc } from './Process.js'

/** What the scheduler needs from its runtime: a way to end a process. */
export interface SchedulerHost {
  /** Ends `proc` with `why`; `initFailed`: its `init` failed, so its `terminate` does not run. */
  terminate(proc: Proc, why: unknown, initFailed?: boolean): void
}

/** Past this many consumed slots, a queue (the run queue, a mailbox) drops its consumed head. */
const COMPACT_AFTER = 1024

/** Runs the processes of one runtime, each one message at a time, never re-entrantly. */
export class Scheduler {
  private readonly host: SchedulerHost
  private readonly reductions: number
  private runQueue: Proc[] = []
  private runHead = 0
  private drainScheduled = false
  private messagesTotal = 0
  /** Runs before each drain (see `Runtime.setBeforeRun`). */
  beforeRun: (() => void) | undefined = undefined

  constructor(host: SchedulerHost, reductions: number) {
    this.host = host
    this.reductions = reductions
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
    if (!this.drainScheduled) {
      this.drainScheduled = true
      queueMicrotask(this.drain)
    }
  }

  private readonly drain = (): void => {
    this.drainScheduled = false
    this.beforeRun?.()
    let budget = actorDefaults.drainBudget
    while (this.runHead < this.runQueue.length) {
      const proc = this.runQueue[this.runHead++]!
      proc.scheduled = false
      budget -= this.runProcess(proc)
      if (budget <= 0) break
    }
    if (this.runHead >= this.runQueue.length) {
      this.runQueue = []
      this.runHead = 0
    } else {
      if (this.runHead > COMPACT_AFTER) {
        this.runQueue = this.runQueue.slice(this.runHead)
        this.runHead = 0
      }
      // Out of budget: let I/O and timers run before the rest.
      this.drainScheduled = true
      setImmediate(this.drain)
    }
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
