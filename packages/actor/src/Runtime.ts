// The node-local runtime: the public face of one node's processes and their lifecycle. Its state
// lives in its parts (wired in `parts.ts`); each method here hands the work to the part that owns it.
import { randomUUID } from 'node:crypto'
import type { CallListener } from './Calls.js'
import { realClock, type Clock } from './clock.js'
import { forEachSliced } from './slices.js'
import { currentProcess } from './context.js'
import { actorDefaults } from './defaults.js'
import { BadArgument } from './errors.js'
import type { ExitListener } from './ExitSignals.js'
import type { ExitReason } from './exitReason.js'
import { LoopDelay, processInfo, type EventLoopDelay, type ProcessInfo } from './introspection.js'
import { createLogger, type Logger } from './logger.js'
import type { CallOptions, RuntimeOptions, SpawnOptions } from './options.js'
import { formatPid, isPid, type NodeId, type Pid, type Ref } from './Pid.js'
import { refMaker } from './refs.js'
import { FnProcess, isActorClass, type ActorClassLike, type Behavior } from './Process.js'
import type { From, Proc, ProcessFn } from './Process.js'
import { assembleParts, type RuntimeParts } from './parts.js'
import { routeTo, type Route } from './Route.js'

/**
 * One node's processes. No state is shared between runtimes, so several can live in one OS
 * process (tests do this). Dispose it (`await using rt = new Runtime()`) to stop every process.
 * @example
 * await using rt = new Runtime()
 * const pid = await rt.start(Counter, 0)
 * await rt.call(pid, { type: 'inc' })
 */
export class Runtime implements AsyncDisposable {
  /** This incarnation's id: part of every pid and ref it makes (`RuntimeOptions.nodeId`). */
  readonly nodeId: NodeId
  /** The human name used in logs (`RuntimeOptions.name`, default `'node'`). */
  readonly name: string
  /** The clock every timer and call timeout of this runtime uses. */
  readonly clock: Clock
  /** The runtime's logger; processes may log through it or a `child` of it. */
  readonly logger: Logger
  /** The pid the runtime itself uses as the sender of exit signals from outside any process. */
  readonly systemPid: Pid
  /**
   * Per-node state of the layers above (the node, the sworms it runs), keyed by each layer's
   * own key, so that nothing needs to be module-global.
   */
  readonly services = new Map<unknown, unknown>()

  private route: Route | undefined
  private stopped = false
  private readonly table: RuntimeParts['table']
  private readonly scheduler: RuntimeParts['scheduler']
  private readonly calls: RuntimeParts['calls']
  private readonly exits: RuntimeParts['exits']
  private readonly links: RuntimeParts['links']
  private readonly names: RuntimeParts['names']
  private readonly timers: RuntimeParts['timers']
  private readonly loopDelay = new LoopDelay()
  /** Told of messages to local processes that are gone (see `onDeadLetter`). */
  private readonly deadLetters = new Set<(to: Pid, msg: unknown) => boolean>()

  /** A runtime with no processes; see `RuntimeOptions` for the defaults. */
  constructor(options: RuntimeOptions = {}) {
    this.nodeId = (options.nodeId ?? randomUUID()) as NodeId
    this.makeRef = refMaker(this.nodeId)
    this.name = options.name ?? 'node'
    this.clock = options.clock ?? realClock
    this.logger = options.logger ?? createLogger().child({ node: this.name })
    this.route = options.route
    this.systemPid = formatPid(this.nodeId, 0)
    const parts = assembleParts(
      this,
      {
        route: () => this.route,
        stopped: () => this.stopped,
        deadLetter: (to, msg) => this.deadLetter(to, msg),
      },
      options.reductions ?? actorDefaults.reductions,
    )
    this.table = parts.table
    this.scheduler = parts.scheduler
    this.calls = parts.calls
    this.exits = parts.exits
    this.links = parts.links
    this.names = parts.names
    this.timers = parts.timers
  }

  /**
   * Installs (or removes) a check that runs before the runtime handles any message: a node uses
   * it to notice that it was paused, and fence itself, before it serves anything again.
   */
  setBeforeRun(check: (() => void) | undefined): void {
    this.scheduler.beforeRun = check
  }

  /** Installs (or removes) the route to other nodes. */
  setRoute(route: Route | undefined): void {
    this.route = route
  }

  /** True when `pid` belongs to this runtime's node incarnation. */
  isLocal(pid: Pid): boolean {
    return this.table.isLocal(pid)
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
    const isClass = isActorClass(what)
    const options = (isClass ? b : (a as SpawnOptions | undefined)) ?? {}
    const behavior: Behavior = isClass
      ? new (what as ActorClassLike<unknown>)()
      : new FnProcess(what as ProcessFn)
    return this.table.spawn(behavior, isClass ? a : undefined, options).pid
  }

  /**
   * Starts a process and resolves once its `init` has finished; rejects with `InitFailed`
   * (carrying the thrown error) if `init` throws, and the process is then gone.
   */
  start<A>(actor: ActorClassLike<A>, args: A, options?: SpawnOptions): Promise<Pid> {
    return this.table.start(new actor(), args, options ?? {}, (pid) => pid)
  }

  /**
   * Like `start`, and also resolves with what `init` returned (OTP's `{ok, Pid, Info}`): a
   * process that starts another one in its `init` can hand that pid back up the start chain.
   */
  startWithInfo<A>(
    actor: ActorClassLike<A>,
    args: A,
    options?: SpawnOptions,
  ): Promise<{
    /** The started process. */
    pid: Pid
    /** What its `init` returned. */
    info: unknown
  }> {
    return this.table.start(new actor(), args, options ?? {}, (pid, info) => ({ pid, info }))
  }

  // ---------------------------------------------------------------- messages

  /** Sends `msg` to `to`. Messages are not copied locally: treat them as immutable. */
  send(to: Pid, msg: unknown): void {
    const proc = this.table.get(to)
    if (proc !== undefined) {
      this.scheduler.enqueue(proc, msg)
      return
    }
    if (this.isLocal(to)) {
      // A dead local process: dropped, as in Erlang, unless a layer above takes it on.
      this.deadLetter(to, msg)
      return
    }
    if (!isPid(to)) throw new BadArgument(`send: not a pid: ${String(to)}`)
    // A process a layer above knows is gone (a worker whose name moved on) is not sent to.
    if (this.deadLetters.size > 0 && this.deadLetter(to, msg)) return
    routeTo(this.route, to).send(to, msg)
  }

  /**
   * `send` to the process of this node whose pid has serial `serial`: a message a peer named by
   * its serial alone (protocol version 4). A serial of no live process goes to the dead-letter
   * handlers as a send to its pid would.
   */
  sendLocal(serial: number, msg: unknown): void {
    const proc = this.table.getBySerial(serial)
    if (proc !== undefined) this.scheduler.enqueue(proc, msg)
    else this.deadLetter(formatPid(this.nodeId, serial), msg)
  }

  /**
   * Adds a handler of messages to processes that are gone: a local one (sent from this node or
   * over the mesh, or left in its mailbox when it ended, in the order they came), or a remote
   * one (sent from this node: the handler is asked before the message is routed, whether its
   * node is up or not). It returns true when it took the
   * message on (the sworm forwards one sent to a
   * worker that moved to its name's next process). Returns the function that removes it.
   */
  onDeadLetter(handler: (to: Pid, msg: unknown) => boolean): () => void {
    this.deadLetters.add(handler)
    return () => this.deadLetters.delete(handler)
  }

  /** A message to a process that is gone: true when a dead-letter handler took it on. */
  private deadLetter(to: Pid, msg: unknown): boolean {
    for (const handler of this.deadLetters) if (handler(to, msg)) return true
    return false
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
    return this.calls.call<R>(to, msg, options)
  }

  /**
   * Calls `to` and settles `resolve` or `reject` in the very turn the reply arrives, for a layer
   * that already handed its caller a promise (a sworm call held while its name moves). Chaining
   * `call(...).then(resolve)` would settle one microtask later than a direct call answered in the
   * same frame, so a caller could see a later answer first.
   */
  callInto(
    to: Pid,
    msg: unknown,
    options: CallOptions | undefined,
    resolve: (v: unknown) => void,
    reject: (e: unknown) => void,
  ): void {
    try {
      this.calls.callInto(to, msg, options, resolve, reject)
    } catch (e) {
      reject(e)
    }
  }

  /**
   * Listens to every call this runtime makes as it settles: how long it took (on the runtime's
   * clock, in ms) and whether it got a reply (`ok`) or rejected. For metrics; returns the
   * unsubscribe function.
   */
  onCallSettled(listener: CallListener): () => void {
    return this.calls.onCallSettled(listener)
  }

  /**
   * Replies to a call. Replies to calls that already ended (timed out) are dropped. `later`:
   * nobody waits on this reply (an acknowledgement), so to a caller on another node it may go
   * with the next frames to that node, a few ms late at most, rather than in a write of its own.
   */
  reply(from: From, value: unknown, later = false): void {
    this.calls.reply(from.ref, true, value, later)
  }

  /** Replies to a call with a failure (the caller's promise rejects with `error`). */
  replyError(from: From, error: unknown): void {
    this.calls.reply(from.ref, false, error)
  }

  /**
   * Delivers a call's result to its waiting caller (used locally and by the route, which gives
   * the node that sent it: see `Calls.deliverReply`).
   */
  deliverReply(ref: Ref, ok: boolean, value: unknown, from?: NodeId): void {
    this.calls.deliverReply(ref, ok, value, from)
  }

  /** Delivers `msg` to `to` after `ms`. `owner`'s exit cancels it. */
  sendAfter(to: Pid, msg: unknown, ms: number, owner?: Proc): Ref {
    return this.timers.sendAfter(to, msg, ms, owner)
  }

  /** Cancels a timer from `sendAfter`; true if it had not fired. */
  cancelTimer(ref: Ref): boolean {
    return this.timers.cancel(ref)
  }

  // ---------------------------------------------------------------- exits

  /**
   * Sends an exit signal to `pid`, Erlang's way: `kill` ends it with `killed` whatever it does;
   * a process that traps exits gets an `EXIT` message; otherwise a reason other than `normal`
   * ends it. `from` defaults to the running process, else the runtime's own pid.
   */
  exit(pid: Pid, reason: ExitReason, from?: Pid): void {
    this.exits.exit(pid, reason, from ?? this.currentPid ?? this.systemPid)
  }

  /** An exit signal arriving from another node for a local process. */
  deliverExit(to: Pid, from: Pid, reason: ExitReason, viaLink: boolean): void {
    this.exits.deliverExit(to, from, reason, viaLink)
  }

  /** @internal `stop()` from inside a process. */
  stopSelf(proc: Proc, reason: ExitReason): void {
    this.exits.stopSelf(proc, reason)
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
    return this.exits.stop(pid, reason, timeoutMs)
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
    return this.exits.shutdownProcess(pid, shutdownMs, from, reason)
  }

  /** Listens to every process exit of this runtime; returns the unsubscribe function. */
  onExit(listener: ExitListener): () => void {
    return this.exits.onExit(listener)
  }

  // ---------------------------------------------------------------- links and monitors

  /** Links `a` (a local process) and `b` both ways. A dead `b` sends `a` a `noproc` signal. */
  link(a: Pid, b: Pid): void {
    this.links.link(a, b)
  }

  /** Removes the link between `a` (local) and `b`. */
  unlink(a: Pid, b: Pid): void {
    this.links.unlink(a, b)
  }

  /** A remote process links itself to a local one. False: the local one is not alive. */
  linkFromRemote(local: Pid, remote: Pid): boolean {
    return this.links.linkFromRemote(local, remote)
  }

  /** A remote process removes its link to a local one; nothing happens if there was none. */
  unlinkFromRemote(local: Pid, remote: Pid): void {
    const p = this.table.get(local)
    if (p !== undefined) this.links.dropRemoteLink(p, remote)
  }

  /**
   * `watcher` (a local pid, or a callback) monitors `target`: when it ends, the watcher gets one
   * `DownMessage` (or call). A target that is already gone reports `noproc` at once.
   */
  monitor(watcher: Pid | ((reason: ExitReason, pid: Pid) => void), target: Pid): Ref {
    return this.links.monitor(watcher, target)
  }

  /** Removes a monitor; no DOWN arrives for it afterwards. */
  demonitor(ref: Ref): void {
    this.links.demonitor(ref)
  }

  /** A remote node monitors a local process; `onDown` runs when it ends. False: not alive. */
  monitorFromRemote(target: Pid, ref: Ref, onDown: (reason: ExitReason) => void): boolean {
    return this.links.monitorFromRemote(target, ref, onDown)
  }

  /** A remote node removes its monitor `ref` on a local process. */
  demonitorFromRemote(target: Pid, ref: Ref): void {
    this.links.demonitorFromRemote(target, ref)
  }

  /** A DOWN for a monitor this node placed on a remote pid (sent by node `from`, if given). */
  deliverDown(ref: Ref, reason: ExitReason, from?: NodeId): void {
    this.links.deliverDown(ref, reason, from)
  }

  /**
   * The route lost `node`: monitors of its pids fire with `noconnection`, links to them break
   * with `noconnection`, and calls waiting on them reject with `NoConnection` at once.
   */
  nodeDown(node: NodeId): void {
    this.links.nodeDown(node)
  }

  // ---------------------------------------------------------------- local names

  /** Registers a local process under `name`; throws `AlreadyRegistered` or `NoProc`. */
  register(name: string, pid: Pid): void {
    this.names.register(name, pid, this.table.get(pid))
  }

  /** Removes a local name; false if it was not registered. */
  unregister(name: string): boolean {
    return this.names.unregister(name)
  }

  /** The local process registered under `name`. */
  whereis(name: string): Pid | undefined {
    return this.names.whereis(name)
  }

  /** Every local name. */
  registeredNames(): string[] {
    return this.names.registered()
  }

  // ---------------------------------------------------------------- introspection

  /** True while `pid` is a live local process (including one running its `terminate`). */
  isAlive(pid: Pid): boolean {
    return this.table.has(pid)
  }

  /** Pids of every local process. */
  processes(): Pid[] {
    return this.table.pids()
  }

  /** How many local processes there are. */
  get processCount(): number {
    return this.table.size
  }

  /**
   * The actor object of a local process that is idle now: alive, not inside a handler (nor
   * waiting on an async one), its mailbox empty. A layer above may then read its state directly,
   * as a message it handled next would, without the turn a message takes (a sworm replicator
   * reads its worker's state so). `undefined` otherwise.
   * @internal
   */
  idleActor(pid: Pid): object | undefined {
    const p = this.table.get(pid)
    if (p === undefined || p.status !== 'alive' || p.busy || p.running) return undefined
    return p.head >= p.mailbox.length ? p.behavior : undefined
  }

  /** What a local process is doing; `undefined` if it is not alive. */
  processInfo(pid: Pid): ProcessInfo | undefined {
    const p = this.table.get(pid)
    return p === undefined ? undefined : processInfo(p)
  }

  /** Counters since start: processes spawned and exited, messages handled, calls waiting. */
  stats(): {
    /** Processes started since the runtime was created. */
    spawned: number
    /** Processes that have ended since then. */
    exited: number
    /** Messages handled by all processes since then. */
    messages: number
    /** Calls made from this runtime that wait for a reply now. */
    pendingCalls: number
    /** Local processes alive now. */
    processes: number
  } {
    return {
      spawned: this.table.spawned,
      exited: this.exits.exited,
      messages: this.scheduler.messages,
      pendingCalls: this.calls.pendingCount,
      processes: this.table.size,
    }
  }

  /**
   * Event-loop delay since the last call with `reset` (sampling starts at the first call). A
   * handler that blocks the loop blocks every process of the node: this is where it shows.
   */
  eventLoopDelay(options: { reset?: boolean } = {}): EventLoopDelay {
    return this.loopDelay.read(options.reset)
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * A fresh ref: the node, a serial, and 48 random bits, so that a peer that sees some of this
   * node's refs cannot guess another (and forge a reply to a call it was never sent).
   */
  readonly makeRef: () => Ref

  /** True once `shutdown` began: the runtime refuses new processes, and its own go. */
  get isShutDown(): boolean {
    return this.stopped
  }

  /**
   * Stops every process (newest first, each with `shutdown`, killed after `timeoutMs`), rejects
   * waiting calls, and refuses new processes.
   */
  async shutdown(timeoutMs: number = actorDefaults.shutdownMs): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    // In slices: each end may write (its names go); thousands in one step took half a second.
    const ends: Array<Promise<unknown>> = []
    const end = (p: Proc): void => void ends.push(this.shutdownProcess(p.pid, timeoutMs))
    await forEachSliced(this.table.newestFirst(), end, { clock: this.clock })
    await Promise.all(ends)
    this.calls.rejectAll()
    this.timers.cancelAll()
    this.loopDelay.disable()
  }

  /** Same as `shutdown()` with the default timeout: for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown()
  }
}
