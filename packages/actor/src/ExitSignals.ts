// Exit signals and the end of a process: Erlang's signal rules, `stop` and the supervisor's
// shutdown, running `terminate`, and the final cleanup that tells links, monitors and listeners.
import type { Clock } from './clock.js'
import { runAs } from './context.js'
import { InitFailed, NoProc } from './errors.js'
import { isNormalExit, type ExitReason } from './exitReason.js'
import type { Logger } from './logger.js'
import type { Pid, Ref } from './Pid.js'
import { isThenable, kTerminate, type Proc, type Watcher } from './Process.js'
import type { ProcLookup } from './ProcessTable.js'
import { routeTo, type Route } from './Route.js'

/** What exit signals need from their runtime. */
export interface ExitSignalsHost {
  readonly clock: Clock
  readonly logger: Logger
  route(): Route | undefined
  readonly procs: ProcLookup
  makeRef(): Ref
  enqueue(proc: Proc, msg: unknown): void
  watch(proc: Proc, ref: Ref, watcher: Watcher): void
  unlink(a: Pid, b: Pid): void
  dropRemoteLink(proc: Proc, remote: Pid): boolean
  /** Tells `proc`'s links and monitors of its end; true if anyone heard. */
  processEnded(proc: Proc, reason: ExitReason): boolean
  cancelTimers(proc: Proc): void
  /** Takes an ended process out of the process table and its name out of the name table. */
  forget(proc: Proc): void
  /** Offers a message left in an ended process's mailbox to the dead-letter handlers. */
  deadLetter(to: Pid, msg: unknown): boolean
}

/** Told of each process exit: its pid, its exit reason, and the local name it had, if any. */
export type ExitListener = (pid: Pid, reason: ExitReason, name: string | undefined) => void

/** How processes of one runtime end. */
export class ExitSignals {
  private readonly host: ExitSignalsHost
  private readonly listeners = new Set<ExitListener>()
  private exitedTotal = 0
  /** The messages an ending process never read, until it has ended (see `terminate`). */
  private readonly unread = new Map<Proc, unknown[]>()

  constructor(host: ExitSignalsHost) {
    this.host = host
  }

  /** Processes ended since start. */
  get exited(): number {
    return this.exitedTotal
  }

  /** An exit signal from `sender` to `pid`, local or remote. */
  exit(pid: Pid, reason: ExitReason, sender: Pid): void {
    const proc = this.host.procs.get(pid)
    if (proc !== undefined) {
      this.signal(proc, sender, reason, false)
      return
    }
    if (this.host.procs.isLocal(pid)) return
    routeTo(this.host.route(), pid).exit(pid, sender, reason, false)
  }

  deliverExit(to: Pid, from: Pid, reason: ExitReason, viaLink: boolean): void {
    const proc = this.host.procs.get(to)
    if (proc === undefined) return
    // A link that was already gone sends no signal.
    if (viaLink && !this.host.dropRemoteLink(proc, from)) return
    this.signal(proc, from, reason, viaLink)
  }

  signal(proc: Proc, from: Pid, reason: ExitReason, viaLink: boolean): void {
    if (proc.status === 'exited') return
    if (reason === 'kill' && !viaLink) {
      this.terminate(proc, 'killed')
      return
    }
    if (proc.status === 'exiting') return
    if (proc.trapExit) {
      this.host.enqueue(proc, { type: 'EXIT', from, reason })
      return
    }
    if (reason === 'normal') {
      if (from === proc.pid) this.terminate(proc, 'normal')
      return
    }
    this.terminate(proc, reason)
  }

  stopSelf(proc: Proc, reason: ExitReason): void {
    if (proc.running || proc.busy) proc.stopReason = reason
    else this.terminate(proc, reason)
  }

  stop(pid: Pid, reason: ExitReason, timeoutMs: number): Promise<void> {
    const proc = this.host.procs.get(pid)
    if (proc === undefined) return Promise.reject(new NoProc(pid))
    const { clock } = this.host
    return new Promise<void>((resolve) => {
      const ref = this.host.makeRef()
      const timer = clock.setTimeout(() => this.terminate(proc, 'killed'), timeoutMs)
      this.host.watch(proc, ref, () => {
        clock.clearTimeout(timer)
        resolve()
      })
      this.stopSelf(proc, reason)
    })
  }

  shutdownProcess(
    pid: Pid,
    shutdownMs: number | 'brutal_kill',
    from: Pid | undefined,
    reason: ExitReason,
  ): Promise<ExitReason> {
    const proc = this.host.procs.get(pid)
    if (proc === undefined) return Promise.resolve('noproc')
    const { clock } = this.host
    return new Promise<ExitReason>((resolve) => {
      const ref = this.host.makeRef()
      const timer =
        shutdownMs === 'brutal_kill'
          ? undefined
          : clock.setTimeout(() => this.terminate(proc, 'killed'), shutdownMs)
      this.host.watch(proc, ref, (reason: ExitReason) => {
        if (timer !== undefined) clock.clearTimeout(timer)
        resolve(reason)
      })
      if (from !== undefined) this.host.unlink(from, pid)
      if (shutdownMs === 'brutal_kill') {
        this.terminate(proc, 'killed')
        return
      }
      // Like a gen_server whose parent sends `shutdown`: a process that traps exits finishes
      // the message in hand and then runs `terminate`; any other ends at once (still running
      // `terminate`, which `shutdownMs` bounds).
      if (proc.trapExit && proc.status === 'alive') this.stopSelf(proc, reason)
      else this.terminate(proc, reason)
    })
  }

  /** Ends `proc` with `why`; `initFailed`: its `init` failed, so its `terminate` does not run. */
  terminate(proc: Proc, why: unknown, initFailed = false): void {
    // Anything thrown is a reason: an Error usually, but `throw 'oops'` ends with 'oops'.
    const reason = why as ExitReason
    if (proc.status === 'exited') return
    if (proc.status === 'exiting') {
      if (reason === 'killed') this.finalize(proc, 'killed')
      return
    }
    const wasAlive = proc.status === 'alive'
    proc.status = 'exiting'
    proc.stopReason = undefined
    // What it never read goes to the dead-letter handlers once it has ended (a layer above may
    // take some on: the sworm forwards what was sent to a worker whose name moved on).
    if (proc.head < proc.mailbox.length) this.unread.set(proc, proc.mailbox.slice(proc.head))
    proc.mailbox = []
    proc.head = 0
    this.host.cancelTimers(proc)
    if (wasAlive && reason !== 'killed' && !initFailed) {
      let result: unknown
      try {
        result = runAs(proc, stop, reason)
      } catch (e) {
        this.host.logger.error({ pid: proc.pid, err: e }, 'terminate threw')
      }
      if (isThenable(result)) {
        proc.busy = true
        result.then(
          () => this.finalize(proc, reason),
          (e: unknown) => {
            this.host.logger.error({ pid: proc.pid, err: e }, 'terminate rejected')
            this.finalize(proc, reason)
          },
        )
        return
      }
    }
    this.finalize(proc, reason)
  }

  private finalize(proc: Proc, reason: ExitReason): void {
    if (proc.status === 'exited') return
    proc.status = 'exited'
    proc.busy = false
    this.host.forget(proc)
    // Out of the table first, so that a handler's send to this pid is a dead letter too.
    const unread = this.unread.get(proc)
    if (unread !== undefined) {
      this.unread.delete(proc)
      for (const msg of unread) this.host.deadLetter(proc.pid, msg)
    }
    this.exitedTotal++
    const name = proc.name
    if (proc.initWaiter !== undefined) {
      const w = proc.initWaiter
      proc.initWaiter = undefined
      w.reject(new InitFailed(proc.pid, reason))
    }
    const observed = this.host.processEnded(proc, reason)
    if (!observed && !isNormalExit(reason) && reason !== 'killed') {
      this.host.logger.error(
        { pid: proc.pid, name, reason: reasonForLog(reason) },
        'process crashed',
      )
    }
    for (const l of this.listeners) {
      try {
        l(proc.pid, reason, name)
      } catch (e) {
        this.host.logger.error({ err: e }, 'exit listener threw')
      }
    }
  }

  onExit(listener: ExitListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }
}

// What `runAs` calls: static, so that ending a process allocates no closure for it.
const stop = (p: Proc, reason: ExitReason): unknown => p.behavior[kTerminate](reason)

function reasonForLog(reason: ExitReason): unknown {
  return reason instanceof Error
    ? { name: reason.name, message: reason.message, stack: reason.stack }
    : reason
}
