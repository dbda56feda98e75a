// The node-local runtime: it owns every process of one node, schedules their mailboxes, carries
// exit signals through links and monitors, and hands pids of other nodes to a pluggable route.
import { randomUUID } from 'node:crypto'
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'
import { realClock, type Clock, type TimerHandle } from './clock.js'
import { actorDefaults } from './defaults.js'
import {
  BadArgument,
  CallTimeout,
  Exited,
  InitFailed,
  NoConnection,
  NoProc,
  AlreadyRegistered,
  RuntimeStopped,
  UnknownNode,
} from './errors.js'
import { currentProcess, runAs } from './context.js'
import { isNormalExit, type ExitReason } from './exitReason.js'
import { createLogger, type Logger } from './logger.js'
import {
  FnProcess,
  kAttach,
  kInit,
  NO_START_INFO,
  kReceive,
  kTerminate,
  Proc,
  type ActorClassLike,
  type Behavior,
  type CallEnvelope,
  type From,
  type ProcessFn,
  type Watcher,
} from './Process.js'
import {
  formatPid,
  formatRef,
  isPid,
  nodeOf,
  nodeOfRef,
  type NodeId,
  type Pid,
  type Ref,
} from './Pid.js'

/**
 * How the runtime reaches pids of other nodes. The cluster package implements it; a runtime
 * without one fails every remote operation with `UnknownNode`.
 */
export interface Route {
  /** Delivers `msg` to a process of another node. Throws `UnknownNode` if it has no way there. */
  send(to: Pid, msg: unknown): void
  /** Delivers the result of a call to the node that made `ref`. */
  reply(ref: Ref, ok: boolean, value: unknown): void
  /** Sends an exit signal to a remote pid. */
  exit(to: Pid, from: Pid, reason: ExitReason, viaLink: boolean): void
  /** Asks the remote node to link `remote` back to `local`. False: that node is not connected. */
  link(local: Pid, remote: Pid): boolean
  unlink(local: Pid, remote: Pid): void
  /** Asks the remote node to report `target`'s end under `ref`. False: not connected. */
  monitor(target: Pid, ref: Ref): boolean
  demonitor(target: Pid, ref: Ref): void
}

/** Options of a `Runtime`. */
export interface RuntimeOptions {
  /** This incarnation's id. Default: a fresh uuid. */
  nodeId?: string
  /** A human name for logs. Default: `'node'`. */
  name?: string
  /** The clock every timer uses. Default: `realClock`. */
  clock?: Clock
  /** Default: `createLogger()` (JSON lines on stderr, `warn` and up). */
  logger?: Logger
  /** Route to other nodes. Default: none. */
  route?: Route
  /** Messages handled per process before it yields to the next runnable one. Default: 64. */
  reductions?: number
}

/** Options of `spawn` and `start`. */
export interface SpawnOptions {
  /** Link the new process to this pid (at once, before `init` runs). */
  link?: Pid
  /** Like `link`, and records the pid as the parent: an `EXIT` from it stops an actor that traps exits. */
  parent?: Pid
  /** Register the new process under this local name. */
  name?: string
  /** Start with `trapExit` on. */
  trapExit?: boolean
  /** State handed over by a predecessor: `init` gets it as `start.handoff`. */
  handoff?: unknown
}

/** Options of `call`. */
export interface CallOptions {
  /** Default 5000. */
  timeoutMs?: number
  /** The calling process, when there is one (`ProcessContext.call` fills it). */
  from?: Pid
}

/** What `processInfo` tells about a process. */
export interface ProcessInfo {
  pid: Pid
  name: string | undefined
  kind: string
  status: 'initializing' | 'waiting' | 'runnable' | 'running' | 'exiting'
  mailboxLength: number
  messagesHandled: number
  links: Pid[]
  monitors: Ref[]
  monitoredBy: number
  trapExit: boolean
  parent: Pid | undefined
}

/** Event-loop delay of the node, in milliseconds. */
export interface EventLoopDelay {
  minMs: number
  meanMs: number
  p50Ms: number
  p99Ms: number
  maxMs: number
}

interface PendingCall {
  resolve(value: unknown): void
  reject(error: unknown): void
  timer: TimerHandle | undefined
  target: Pid
  /** The watcher registered on the target (local) or via the route (remote). */
  onDown: (reason: ExitReason) => void
}

type ExitListener = (pid: Pid, reason: ExitReason, name: string | undefined) => void
type CallListener = (ms: number, ok: boolean) => void

const DRAIN_BUDGET = 20_000

/**
 * One node's processes. No state is shared between runtimes, so several can live in one OS
 * process (tests do this). Dispose it (`await using rt = new Runtime()`) to stop every process.
 * @example
 * await using rt = new Runtime()
 * const pid = await rt.start(Counter, 0)
 * await rt.call(pid, { type: 'inc' })
 */
export class Runtime implements AsyncDisposable {
  readonly nodeId: NodeId
  readonly name: string
  readonly clock: Clock
  readonly logger: Logger
  /** The pid the runtime itself uses as the sender of exit signals from outside any process. */
  readonly systemPid: Pid
  /**
   * Per-node state of the layers above (the node, the sworms it runs), keyed by each layer's
   * own key, so that nothing needs to be module-global.
   */
  readonly services = new Map<unknown, unknown>()

  private route: Route | undefined
  private readonly procs = new Map<Pid, Proc>()
  private readonly names = new Map<string, Proc>()
  private readonly pending = new Map<Ref, PendingCall>()
  /** Monitors on remote pids: ref → what to do when the DOWN comes. */
  private readonly remoteMonitors = new Map<Ref, { target: Pid; watcher: Watcher }>()
  /** Monitors made with `monitor()`, local or remote: ref → target and watcher. */
  private readonly monitors = new Map<Ref, { target: Pid; watcher: Watcher }>()
  /** Local processes that hold links to remote pids. */
  private readonly remoteLinked = new Set<Proc>()
  private readonly timers = new Map<Ref, { handle: TimerHandle; owner: Proc | undefined }>()
  private readonly exitListeners = new Set<ExitListener>()
  private readonly callListeners = new Set<CallListener>()
  private readonly localPrefix: string
  private readonly reductions: number
  private serial = 1
  private refSerial = 0
  private runQueue: Proc[] = []
  private runHead = 0
  private drainScheduled = false
  private stopped = false
  private histogram: IntervalHistogram | undefined
  private spawnedTotal = 0
  private exitedTotal = 0
  private messagesTotal = 0

  constructor(options: RuntimeOptions = {}) {
    this.nodeId = (options.nodeId ?? randomUUID()) as NodeId
    this.name = options.name ?? 'node'
    this.clock = options.clock ?? realClock
    this.logger = options.logger ?? createLogger().child({ node: this.name })
    this.route = options.route
    this.reductions = options.reductions ?? actorDefaults.reductions
    this.localPrefix = `<${this.nodeId}.`
    this.systemPid = formatPid(this.nodeId, 0)
  }

  /** Installs (or removes) the route to other nodes. */
  setRoute(route: Route | undefined): void {
    this.route = route
  }

  /** True when `pid` belongs to this runtime's node incarnation. */
  isLocal(pid: Pid): boolean {
    return pid.startsWith(this.localPrefix)
  }

  /** The process of this runtime whose code (a handler, also after an await) runs now, if any. */
  get currentPid(): Pid | undefined {
    const cur = currentProcess()
    return cur?.runtime === this ? cur.pid : undefined
  }

  // ---------------------------------------------------------------- spawning

  // The function overload comes first so that `spawn((msg) => …, options)` types `msg`.
  /**
   * Starts a process and returns its pid at once; `init(args)` runs before its first message.
   * An actor class gets `args`; a function is called once per message.
   */
  spawn(fn: ProcessFn, options?: SpawnOptions): Pid
  spawn<A>(actor: ActorClassLike<A>, args: A, options?: SpawnOptions): Pid
  spawn(what: ActorClassLike<unknown> | ProcessFn, a?: unknown, b?: SpawnOptions): Pid {
    const isClass = isClassLike(what)
    const options = (isClass ? b : (a as SpawnOptions | undefined)) ?? {}
    const behavior: Behavior = isClass
      ? new (what as ActorClassLike<unknown>)()
      : new FnProcess(what as ProcessFn)
    return this.spawnBehavior(behavior, isClass ? a : undefined, options).pid
  }

  /**
   * Starts a process and resolves once its `init` has finished; rejects with `InitFailed`
   * (carrying the thrown error) if `init` throws, and the process is then gone.
   */
  start<A>(actor: ActorClassLike<A>, args: A, options?: SpawnOptions): Promise<Pid> {
    return this.startWithInfo(actor, args, options).then((started) => started.pid)
  }

  /**
   * Like `start`, and also resolves with what `init` returned (OTP's `{ok, Pid, Info}`): a
   * process that starts another one in its `init` can hand that pid back up the start chain.
   */
  startWithInfo<A>(
    actor: ActorClassLike<A>,
    args: A,
    options?: SpawnOptions,
  ): Promise<{ pid: Pid; info: unknown }> {
    return new Promise((resolve, reject) => {
      const waiter = { resolve: (pid: Pid, info: unknown) => resolve({ pid, info }), reject }
      const proc = this.spawnBehavior(new actor(), args, options ?? {}, waiter)
      if (proc.status === 'alive') resolve({ pid: proc.pid, info: undefined })
    })
  }

  private spawnBehavior(
    behavior: Behavior,
    args: unknown,
    options: SpawnOptions,
    waiter?: Proc['initWaiter'],
  ): Proc {
    if (this.stopped) throw new RuntimeStopped()
    // A taken name refuses the spawn before any pid is made or counted.
    if (options.name !== undefined) {
      const holder = this.names.get(options.name)
      if (holder !== undefined) throw new AlreadyRegistered(options.name, holder.pid)
    }
    const pid = formatPid(this.nodeId, this.serial++)
    const proc = new Proc(pid, this, behavior)
    behavior[kAttach](proc)
    this.procs.set(pid, proc)
    this.spawnedTotal++
    if (options.trapExit) proc.trapExit = true
    if (options.name !== undefined) {
      this.names.set(options.name, proc)
      proc.name = options.name
    }
    const linkTo = options.parent ?? options.link
    if (options.parent !== undefined) proc.parent = options.parent
    proc.status = 'initializing'
    proc.initArgs = args
    if (options.handoff !== undefined) proc.initStart = { handoff: options.handoff }
    proc.initWaiter = waiter
    if (linkTo !== undefined) this.link(pid, linkTo)
    if (proc.status === 'initializing') this.schedule(proc)
    return proc
  }

  // ---------------------------------------------------------------- messages

  /** Sends `msg` to `to`. Messages are not copied locally: treat them as immutable. */
  send(to: Pid, msg: unknown): void {
    const proc = this.procs.get(to)
    if (proc !== undefined) {
      this.enqueue(proc, msg)
      return
    }
    if (this.isLocal(to)) return // a dead local process: dropped, as in Erlang
    if (!isPid(to)) throw new BadArgument(`send: not a pid: ${String(to)}`)
    this.routeOrThrow(to).send(to, msg)
  }

  /** Sends a cast envelope (handled by an actor's `handleCast`). */
  cast(to: Pid, msg: unknown): void {
    this.send(to, { $cast: msg })
  }

  /**
   * Calls `to` and resolves with its reply. Rejects with `CallTimeout` after `timeoutMs`
   * (default 5000), `NoProc` if it is not alive, `Exited` (with the reason) if it ends first,
   * `NoConnection` if its node goes down first.
   */
  call<R = unknown>(to: Pid, msg: unknown, options?: CallOptions): Promise<R> {
    const timeoutMs = options?.timeoutMs ?? actorDefaults.callTimeoutMs
    // Timed only while someone listens, so that an unobserved call pays one size check.
    const start = this.callListeners.size > 0 ? this.clock.now() : -1
    const call = new Promise<R>((resolve, reject) => {
      if (this.stopped) {
        reject(new RuntimeStopped())
        return
      }
      const ref = this.makeRef()
      const envelope: CallEnvelope =
        options?.from === undefined ? { $call: ref, msg } : { $call: ref, from: options.from, msg }
      const local = this.procs.get(to)
      if (local === undefined && (this.isLocal(to) || !isPid(to))) {
        reject(isPid(to) ? new NoProc(to) : new BadArgument(`call: not a pid: ${String(to)}`))
        return
      }
      const pending: PendingCall = {
        resolve,
        reject,
        target: to,
        timer: undefined,
        onDown: (reason) => {
          if (this.pending.delete(ref)) {
            this.clock.clearTimeout(pending.timer)
            reject(callError(to, reason))
          }
        },
      }
      pending.timer = this.clock.setTimeout(() => {
        if (this.pending.delete(ref)) {
          this.dropCallWatch(to, ref)
          reject(new CallTimeout(to, timeoutMs))
        }
      }, timeoutMs)
      this.pending.set(ref, pending)
      if (local !== undefined) {
        ;(local.monitoredBy ??= new Map()).set(ref, pending.onDown)
        this.enqueue(local, envelope)
        return
      }
      try {
        const route = this.routeOrThrow(to)
        this.remoteMonitors.set(ref, { target: to, watcher: pending.onDown })
        if (!route.monitor(to, ref)) {
          this.remoteMonitors.delete(ref)
          pending.onDown('noconnection')
          return
        }
        route.send(to, envelope)
      } catch (e) {
        this.remoteMonitors.delete(ref)
        if (this.pending.delete(ref)) this.clock.clearTimeout(pending.timer)
        pending.reject(e)
      }
    })
    if (start >= 0) this.timeCall(call, start)
    return call
  }

  private timeCall(call: Promise<unknown>, start: number): void {
    const settled = (ok: boolean): void => {
      const ms = this.clock.now() - start
      for (const l of this.callListeners) {
        try {
          l(ms, ok)
        } catch (e) {
          this.logger.error({ err: e }, 'call listener threw')
        }
      }
    }
    void call.then(
      () => settled(true),
      () => settled(false),
    )
  }

  /**
   * Listens to every call this runtime makes as it settles: how long it took (on the runtime's
   * clock, in ms) and whether it got a reply (`ok`) or rejected. For metrics; returns the
   * unsubscribe function.
   */
  onCallSettled(listener: CallListener): () => void {
    this.callListeners.add(listener)
    return () => this.callListeners.delete(listener)
  }

  /** Replies to a call. Replies to calls that already ended (timed out) are dropped. */
  reply(from: From, value: unknown): void {
    this.replyRef(from.ref, true, value)
  }

  /** Replies to a call with a failure (the caller's promise rejects with `error`). */
  replyError(from: From, error: unknown): void {
    this.replyRef(from.ref, false, error)
  }

  private replyRef(ref: Ref, ok: boolean, value: unknown): void {
    const node = nodeOfRef(ref)
    if (node === this.nodeId) this.deliverReply(ref, ok, value)
    else this.route?.reply(ref, ok, value)
  }

  /** Delivers a call's result to its waiting caller (used locally and by the route). */
  deliverReply(ref: Ref, ok: boolean, value: unknown): void {
    const p = this.pending.get(ref)
    if (p === undefined) return
    this.pending.delete(ref)
    this.clock.clearTimeout(p.timer)
    this.dropCallWatch(p.target, ref)
    if (ok) p.resolve(value)
    else p.reject(value)
  }

  private dropCallWatch(target: Pid, ref: Ref): void {
    const local = this.procs.get(target)
    if (local !== undefined) {
      local.monitoredBy?.delete(ref)
    } else if (this.remoteMonitors.delete(ref)) {
      this.route?.demonitor(target, ref)
    }
  }

  /** Delivers `msg` to `to` after `ms`. `owner`'s exit cancels it. */
  sendAfter(to: Pid, msg: unknown, ms: number, owner?: Proc): Ref {
    const ref = this.makeRef()
    const handle = this.clock.setTimeout(() => {
      const t = this.timers.get(ref)
      if (t === undefined) return
      this.timers.delete(ref)
      t.owner?.timers?.delete(ref)
      try {
        this.send(to, msg)
      } catch (e) {
        this.logger.warn({ err: e, to }, 'timer message could not be sent')
      }
    }, ms)
    this.timers.set(ref, { handle, owner })
    if (owner !== undefined) (owner.timers ??= new Map()).set(ref, handle)
    return ref
  }

  /** Cancels a timer from `sendAfter`; true if it had not fired. */
  cancelTimer(ref: Ref): boolean {
    const t = this.timers.get(ref)
    if (t === undefined) return false
    this.timers.delete(ref)
    t.owner?.timers?.delete(ref)
    this.clock.clearTimeout(t.handle)
    return true
  }

  // ---------------------------------------------------------------- scheduling

  private enqueue(proc: Proc, msg: unknown): void {
    if (proc.status === 'exiting') return
    proc.mailbox.push(msg)
    if (!proc.scheduled && !proc.busy && !proc.running && proc.status === 'alive') {
      this.schedule(proc)
    }
  }

  private schedule(proc: Proc): void {
    proc.scheduled = true
    this.runQueue.push(proc)
    if (!this.drainScheduled) {
      this.drainScheduled = true
      queueMicrotask(this.drain)
    }
  }

  private readonly drain = (): void => {
    this.drainScheduled = false
    let budget = DRAIN_BUDGET
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
      if (this.runHead > 1024) {
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
        this.terminate(proc, e)
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
        this.terminate(proc, proc.stopReason)
        return n
      }
    }
    if (proc.head === proc.mailbox.length) {
      if (proc.head > 0) {
        proc.mailbox.length = 0
        proc.head = 0
      }
    } else if (proc.head > 1024 && proc.head * 2 > proc.mailbox.length) {
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
      this.terminate(proc, proc.stopReason)
      return
    }
    if (!proc.scheduled && proc.head < proc.mailbox.length) this.schedule(proc)
  }

  private asyncFailed(proc: Proc, e: unknown): void {
    proc.busy = false
    if (proc.status === 'alive') this.terminate(proc, e)
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
    if (proc.stopReason !== undefined) this.terminate(proc, proc.stopReason)
    else if (proc.head < proc.mailbox.length && !proc.scheduled) this.schedule(proc)
  }

  private initFailed(proc: Proc, e: unknown): void {
    proc.busy = false
    if (proc.status !== 'initializing') return
    const waiter = proc.initWaiter
    proc.initWaiter = undefined
    waiter?.reject(new InitFailed(proc.pid, e))
    this.terminate(proc, e, waiter !== undefined)
  }

  // ---------------------------------------------------------------- exits

  /**
   * Sends an exit signal to `pid`, Erlang's way: `kill` ends it with `killed` whatever it does;
   * a process that traps exits gets an `EXIT` message; otherwise a reason other than `normal`
   * ends it. `from` defaults to the running process, else the runtime's own pid.
   */
  exit(pid: Pid, reason: ExitReason, from?: Pid): void {
    const sender = from ?? this.currentPid ?? this.systemPid
    const proc = this.procs.get(pid)
    if (proc !== undefined) {
      this.signal(proc, sender, reason, false)
      return
    }
    if (this.isLocal(pid)) return
    this.routeOrThrow(pid).exit(pid, sender, reason, false)
  }

  /** An exit signal arriving from another node for a local process. */
  deliverExit(to: Pid, from: Pid, reason: ExitReason, viaLink: boolean): void {
    const proc = this.procs.get(to)
    if (proc === undefined) return
    if (viaLink) {
      if (!proc.links?.delete(from)) return // the link was already gone: no signal
      this.noteRemoteLinks(proc)
    }
    this.signal(proc, from, reason, viaLink)
  }

  private signal(proc: Proc, from: Pid, reason: ExitReason, viaLink: boolean): void {
    if (proc.status === 'exited') return
    if (reason === 'kill' && !viaLink) {
      this.terminate(proc, 'killed')
      return
    }
    if (proc.status === 'exiting') return
    if (proc.trapExit) {
      this.enqueue(proc, { type: 'EXIT', from, reason })
      return
    }
    if (reason === 'normal') {
      if (from === proc.pid) this.terminate(proc, 'normal')
      return
    }
    this.terminate(proc, reason)
  }

  /** @internal `stop()` from inside a process. */
  stopSelf(proc: Proc, reason: ExitReason): void {
    if (proc.running || proc.busy) proc.stopReason = reason
    else this.terminate(proc, reason)
  }

  /**
   * Stops a local process with `reason`, running its `terminate`, after the message it is
   * handling now; resolves once it has ended. After `timeoutMs` (default 5000) it is killed.
   */
  stop(
    pid: Pid,
    reason: ExitReason = 'normal',
    timeoutMs: number = actorDefaults.shutdownMs,
  ): Promise<void> {
    const proc = this.procs.get(pid)
    if (proc === undefined) return Promise.reject(new NoProc(pid))
    return new Promise<void>((resolve) => {
      const ref = this.makeRef()
      const timer = this.clock.setTimeout(() => this.terminate(proc, 'killed'), timeoutMs)
      ;(proc.monitoredBy ??= new Map()).set(ref, () => {
        this.clock.clearTimeout(timer)
        resolve()
      })
      this.stopSelf(proc, reason)
    })
  }

  /**
   * Ends a local child the way a supervisor does: `reason` (default `shutdown`) and a wait of
   * `shutdownMs`, then `kill`; or `kill` at once for `'brutal_kill'`. Resolves with the reason
   * it ended with.
   */
  shutdownProcess(
    pid: Pid,
    shutdownMs: number | 'brutal_kill',
    from?: Pid,
    reason: ExitReason = 'shutdown',
  ): Promise<ExitReason> {
    const proc = this.procs.get(pid)
    if (proc === undefined) return Promise.resolve('noproc')
    return new Promise<ExitReason>((resolve) => {
      const ref = this.makeRef()
      const timer =
        shutdownMs === 'brutal_kill'
          ? undefined
          : this.clock.setTimeout(() => this.terminate(proc, 'killed'), shutdownMs)
      ;(proc.monitoredBy ??= new Map()).set(ref, (reason: ExitReason) => {
        if (timer !== undefined) this.clock.clearTimeout(timer)
        resolve(reason)
      })
      if (from !== undefined) this.unlink(from, pid)
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

  private terminate(proc: Proc, why: unknown, initFailed = false): void {
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
    proc.mailbox = []
    proc.head = 0
    if (proc.timers !== undefined) {
      for (const ref of proc.timers.keys()) this.cancelTimer(ref)
    }
    if (wasAlive && reason !== 'killed' && !initFailed) {
      let result: unknown
      try {
        result = runAs(proc, stop, reason)
      } catch (e) {
        this.logger.error({ pid: proc.pid, err: e }, 'terminate threw')
      }
      if (isThenable(result)) {
        proc.busy = true
        result.then(
          () => this.finalize(proc, reason),
          (e: unknown) => {
            this.logger.error({ pid: proc.pid, err: e }, 'terminate rejected')
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
    this.procs.delete(proc.pid)
    this.exitedTotal++
    const name = proc.name
    if (name !== undefined && this.names.get(name) === proc) this.names.delete(name)
    if (proc.initWaiter !== undefined) {
      const w = proc.initWaiter
      proc.initWaiter = undefined
      w.reject(new InitFailed(proc.pid, reason))
    }
    let observed = false
    if (proc.links !== undefined) {
      for (const other of proc.links) {
        observed = true
        const target = this.procs.get(other)
        if (target !== undefined) {
          target.links?.delete(proc.pid)
          this.signal(target, proc.pid, reason, true)
        } else if (!this.isLocal(other)) {
          this.route?.exit(other, proc.pid, reason, true)
        }
      }
      proc.links = undefined
      this.remoteLinked.delete(proc)
    }
    if (proc.monitoring !== undefined) {
      for (const [ref, target] of proc.monitoring) this.dropMonitor(ref, target)
      proc.monitoring = undefined
    }
    if (proc.monitoredBy !== undefined) {
      for (const [ref, watcher] of proc.monitoredBy) {
        observed = true
        this.fireWatcher(watcher, ref, proc.pid, reason)
      }
      proc.monitoredBy = undefined
    }
    if (!observed && !isNormalExit(reason) && reason !== 'killed') {
      this.logger.error({ pid: proc.pid, name, reason: reasonForLog(reason) }, 'process crashed')
    }
    for (const l of this.exitListeners) {
      try {
        l(proc.pid, reason, name)
      } catch (e) {
        this.logger.error({ err: e }, 'exit listener threw')
      }
    }
  }

  private fireWatcher(watcher: Watcher, ref: Ref, pid: Pid, reason: ExitReason): void {
    this.monitors.delete(ref)
    if (typeof watcher === 'function') {
      watcher(reason, pid)
      return
    }
    const w = this.procs.get(watcher)
    if (w === undefined) return
    w.monitoring?.delete(ref)
    this.enqueue(w, { type: 'DOWN', ref, pid, reason })
  }

  /** Listens to every process exit of this runtime; returns the unsubscribe function. */
  onExit(listener: ExitListener): () => void {
    this.exitListeners.add(listener)
    return () => this.exitListeners.delete(listener)
  }

  // ---------------------------------------------------------------- links and monitors

  /** Links `a` (a local process) and `b` both ways. A dead `b` sends `a` a `noproc` signal. */
  link(a: Pid, b: Pid): void {
    const pa = this.procs.get(a)
    if (pa === undefined) throw new NoProc(a)
    if (a === b || pa.links?.has(b)) return
    const pb = this.procs.get(b)
    if (pb !== undefined) {
      ;(pa.links ??= new Set()).add(b)
      ;(pb.links ??= new Set()).add(a)
      return
    }
    if (this.isLocal(b) || !isPid(b)) {
      this.signal(pa, b, 'noproc', true)
      return
    }
    ;(pa.links ??= new Set()).add(b)
    this.remoteLinked.add(pa)
    let ok = false
    try {
      ok = this.routeOrThrow(b).link(a, b)
    } catch {
      ok = false
    }
    if (!ok) {
      pa.links.delete(b)
      this.noteRemoteLinks(pa)
      this.signal(pa, b, 'noconnection', true)
    }
  }

  /** Removes the link between `a` (local) and `b`. */
  unlink(a: Pid, b: Pid): void {
    const pa = this.procs.get(a)
    if (pa === undefined || !pa.links?.delete(b)) return
    const pb = this.procs.get(b)
    if (pb !== undefined) pb.links?.delete(a)
    else if (!this.isLocal(b)) {
      this.noteRemoteLinks(pa)
      this.route?.unlink(a, b)
    }
  }

  /** A remote process links itself to a local one. False: the local one is not alive. */
  linkFromRemote(local: Pid, remote: Pid): boolean {
    const p = this.procs.get(local)
    if (p === undefined || p.status === 'exiting') return false
    ;(p.links ??= new Set()).add(remote)
    this.remoteLinked.add(p)
    return true
  }

  unlinkFromRemote(local: Pid, remote: Pid): void {
    const p = this.procs.get(local)
    if (p?.links?.delete(remote)) this.noteRemoteLinks(p)
  }

  private noteRemoteLinks(p: Proc): void {
    if (p.links === undefined) return
    for (const l of p.links) if (!this.isLocal(l)) return
    this.remoteLinked.delete(p)
  }

  /**
   * `watcher` (a local pid, or a callback) monitors `target`: when it ends, the watcher gets one
   * `DownMessage` (or call). A target that is already gone reports `noproc` at once.
   */
  monitor(watcher: Pid | ((reason: ExitReason, pid: Pid) => void), target: Pid): Ref {
    const ref = this.makeRef()
    const wp = typeof watcher === 'string' ? this.procs.get(watcher) : undefined
    if (typeof watcher === 'string' && wp === undefined) throw new NoProc(watcher)
    if (wp !== undefined) (wp.monitoring ??= new Map()).set(ref, target)
    this.monitors.set(ref, { target, watcher })
    const tp = this.procs.get(target)
    if (tp !== undefined) {
      // An exiting target is still in the table: the monitor fires when it has ended.
      ;(tp.monitoredBy ??= new Map()).set(ref, watcher)
      return ref
    }
    if (this.isLocal(target) || !isPid(target)) {
      queueMicrotask(() => {
        if (this.monitors.has(ref)) this.fireWatcher(watcher, ref, target, 'noproc')
      })
      return ref
    }
    this.remoteMonitors.set(ref, { target, watcher })
    let ok = false
    try {
      ok = this.routeOrThrow(target).monitor(target, ref)
    } catch {
      ok = false
    }
    if (!ok) this.deliverDown(ref, 'noconnection')
    return ref
  }

  /** Removes a monitor; no DOWN arrives for it afterwards. */
  demonitor(ref: Ref): void {
    const m = this.monitors.get(ref)
    if (m === undefined) return
    this.monitors.delete(ref)
    if (typeof m.watcher === 'string') this.procs.get(m.watcher)?.monitoring?.delete(ref)
    this.dropMonitor(ref, m.target)
  }

  private dropMonitor(ref: Ref, target: Pid): void {
    this.monitors.delete(ref)
    const tp = this.procs.get(target)
    if (tp !== undefined) {
      tp.monitoredBy?.delete(ref)
      return
    }
    if (this.remoteMonitors.delete(ref)) this.route?.demonitor(target, ref)
  }

  /** A remote node monitors a local process; `onDown` runs when it ends. False: not alive. */
  monitorFromRemote(target: Pid, ref: Ref, onDown: (reason: ExitReason) => void): boolean {
    const p = this.procs.get(target)
    if (p === undefined || p.status === 'exiting') return false
    ;(p.monitoredBy ??= new Map()).set(ref, onDown)
    return true
  }

  demonitorFromRemote(target: Pid, ref: Ref): void {
    this.procs.get(target)?.monitoredBy?.delete(ref)
  }

  /** A DOWN for a monitor this node placed on a remote pid. */
  deliverDown(ref: Ref, reason: ExitReason): void {
    const rm = this.remoteMonitors.get(ref)
    if (rm === undefined) return
    this.remoteMonitors.delete(ref)
    this.fireWatcher(rm.watcher, ref, rm.target, reason)
  }

  /**
   * The route lost `node`: monitors of its pids fire with `noconnection`, links to them break
   * with `noconnection`, and calls waiting on them reject with `NoConnection` at once.
   */
  nodeDown(node: NodeId): void {
    const prefix = `<${node}.`
    for (const [ref, rm] of [...this.remoteMonitors]) {
      if (rm.target.startsWith(prefix)) this.deliverDown(ref, 'noconnection')
    }
    for (const p of [...this.remoteLinked]) {
      if (p.links === undefined) continue
      for (const l of [...p.links]) {
        if (l.startsWith(prefix)) {
          p.links.delete(l)
          this.signal(p, l, 'noconnection', true)
        }
      }
      this.noteRemoteLinks(p)
    }
  }

  // ---------------------------------------------------------------- local names

  /** Registers a local process under `name`; throws `AlreadyRegistered` or `NoProc`. */
  register(name: string, pid: Pid): void {
    const proc = this.procs.get(pid)
    if (proc === undefined || proc.status === 'exiting') throw new NoProc(pid)
    const holder = this.names.get(name)
    if (holder !== undefined && holder !== proc) throw new AlreadyRegistered(name, holder.pid)
    if (proc.name !== undefined && proc.name !== name) {
      throw new BadArgument(`${pid} is already registered as ${proc.name}`)
    }
    this.names.set(name, proc)
    proc.name = name
  }

  /** Removes a local name; false if it was not registered. */
  unregister(name: string): boolean {
    const proc = this.names.get(name)
    if (proc === undefined) return false
    this.names.delete(name)
    proc.name = undefined
    return true
  }

  /** The local process registered under `name`. */
  whereis(name: string): Pid | undefined {
    return this.names.get(name)?.pid
  }

  /** Every local name. */
  registeredNames(): string[] {
    return [...this.names.keys()]
  }

  // ---------------------------------------------------------------- introspection

  /** True while `pid` is a live local process (including one running its `terminate`). */
  isAlive(pid: Pid): boolean {
    return this.procs.has(pid)
  }

  /** Pids of every local process. */
  processes(): Pid[] {
    return [...this.procs.keys()]
  }

  /** How many local processes there are. */
  get processCount(): number {
    return this.procs.size
  }

  /** What a local process is doing; `undefined` if it is not alive. */
  processInfo(pid: Pid): ProcessInfo | undefined {
    const p = this.procs.get(pid)
    if (p === undefined) return undefined
    const status: ProcessInfo['status'] =
      p.status === 'initializing'
        ? 'initializing'
        : p.status === 'exiting'
          ? 'exiting'
          : p.running || p.busy
            ? 'running'
            : p.scheduled
              ? 'runnable'
              : 'waiting'
    return {
      pid,
      name: p.name,
      kind: p.behavior.constructor.name,
      status,
      mailboxLength: p.mailboxLength,
      messagesHandled: p.handled,
      links: [...(p.links ?? [])],
      monitors: [...(p.monitoring?.keys() ?? [])],
      monitoredBy: p.monitoredBy?.size ?? 0,
      trapExit: p.trapExit,
      parent: p.parent,
    }
  }

  /** Counters since start: processes spawned and exited, messages handled, calls waiting. */
  stats(): {
    spawned: number
    exited: number
    messages: number
    pendingCalls: number
    processes: number
  } {
    return {
      spawned: this.spawnedTotal,
      exited: this.exitedTotal,
      messages: this.messagesTotal,
      pendingCalls: this.pending.size,
      processes: this.procs.size,
    }
  }

  /**
   * Event-loop delay since the last call with `reset` (sampling starts at the first call). A
   * handler that blocks the loop blocks every process of the node: this is where it shows.
   */
  eventLoopDelay(options: { reset?: boolean } = {}): EventLoopDelay {
    if (this.histogram === undefined) {
      this.histogram = monitorEventLoopDelay({ resolution: 10 })
      this.histogram.enable()
    }
    const h = this.histogram
    const ms = (ns: number): number => (Number.isFinite(ns) ? ns / 1e6 : 0)
    const out: EventLoopDelay = {
      minMs: h.count > 0 ? ms(h.min) : 0,
      meanMs: h.count > 0 ? ms(h.mean) : 0,
      p50Ms: h.count > 0 ? ms(h.percentile(50)) : 0,
      p99Ms: h.count > 0 ? ms(h.percentile(99)) : 0,
      maxMs: h.count > 0 ? ms(h.max) : 0,
    }
    if (options.reset) h.reset()
    return out
  }

  // ---------------------------------------------------------------- lifecycle

  /** A fresh reference, unique to this node incarnation. */
  makeRef(): Ref {
    return formatRef(this.nodeId, ++this.refSerial)
  }

  /**
   * Stops every process (newest first, each with `shutdown`, killed after `timeoutMs`), rejects
   * waiting calls, and refuses new processes.
   */
  async shutdown(timeoutMs: number = actorDefaults.shutdownMs): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    const procs = [...this.procs.values()].reverse()
    await Promise.all(procs.map((p) => this.shutdownProcess(p.pid, timeoutMs)))
    for (const [ref, p] of this.pending) {
      this.pending.delete(ref)
      this.clock.clearTimeout(p.timer)
      p.reject(new RuntimeStopped())
    }
    for (const ref of [...this.timers.keys()]) this.cancelTimer(ref)
    this.histogram?.disable()
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown()
  }

  private routeOrThrow(pid: Pid): Route {
    if (this.route === undefined) throw new UnknownNode(nodeOf(pid))
    return this.route
  }
}

// What `runAs` calls: static, so that handling a message allocates no closure.
const receive = (p: Proc, msg: unknown): unknown => p.behavior[kReceive](msg)
const init = (p: Proc, args: unknown): unknown => {
  const start = p.initStart
  p.initStart = NO_START_INFO // handed over once, never kept for a later look
  return p.behavior[kInit](args, start)
}
const stop = (p: Proc, reason: ExitReason): unknown => p.behavior[kTerminate](reason)

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    v !== null &&
    (typeof v === 'object' || typeof v === 'function') &&
    typeof (v as { then?: unknown }).then === 'function'
  )
}

function isClassLike(f: unknown): boolean {
  return (
    typeof f === 'function' &&
    typeof (f as { prototype?: unknown }).prototype === 'object' &&
    kReceive in ((f as { prototype: object }).prototype ?? {})
  )
}

function callError(target: Pid, reason: ExitReason): Error {
  if (reason === 'noproc') return new NoProc(target)
  if (reason === 'noconnection') return new NoConnection(target)
  return new Exited(target, reason)
}

function reasonForLog(reason: ExitReason): unknown {
  return reason instanceof Error
    ? { name: reason.name, message: reason.message, stack: reason.stack }
    : reason
}
