// A process as the runtime sees it (its record), and `ProcessContext`, the handle a running
// process uses to act: send, call, link, monitor, timers. Actors and function processes share it.
import type { TimerHandle } from './clock.js'
import type { ExitReason } from './exitReason.js'
import type { Pid, Ref } from './Pid.js'
import type { CallOptions, SpawnOptions } from './options.js'
import type { Runtime } from './Runtime.js'

/** Internal method names the runtime calls on a behaviour; symbols keep user classes free. */
export const kInit: unique symbol = Symbol('sworm.init')
export const kReceive: unique symbol = Symbol('sworm.receive')
export const kTerminate: unique symbol = Symbol('sworm.terminate')
export const kAttach: unique symbol = Symbol('sworm.attach')

/** Who called: the reply address of a `call`. Pass it to `reply` for a late reply. */
export interface From {
  /** The call's ref: the runtime matches the reply to the waiting caller by it. */
  readonly ref: Ref
  /** The calling process, when the call came from inside one. */
  readonly pid?: Pid
}

/** The envelope a `call` puts in the target's mailbox. */
export interface CallEnvelope {
  /** The call's ref, which the reply carries back. */
  readonly $call: Ref
  /** The calling process, when the call came from inside one. */
  readonly from?: Pid
  /** The message the caller passed to `call`. */
  readonly msg: unknown
}

/** The envelope a `cast` puts in the target's mailbox. */
export interface CastEnvelope {
  /** The message the sender passed to `cast`. */
  readonly $cast: unknown
}

/** What a process that traps exits receives instead of dying. */
export interface ExitMessage {
  /** Always `'EXIT'`. */
  readonly type: 'EXIT'
  /** The process (or the runtime's `systemPid`) that sent the exit signal. */
  readonly from: Pid
  /** The reason the signal carries. */
  readonly reason: ExitReason
}

/** What a monitor delivers when its target ends. */
export interface DownMessage {
  /** Always `'DOWN'`. */
  readonly type: 'DOWN'
  /** The ref `monitor` returned. */
  readonly ref: Ref
  /** The monitored process. */
  readonly pid: Pid
  /** Why it ended: `noproc` if it was already gone, `noconnection` if its node was lost. */
  readonly reason: ExitReason
}

/** True for the envelope a `call` puts in a mailbox. */
export function isCallEnvelope(m: unknown): m is CallEnvelope {
  return typeof m === 'object' && m !== null && '$call' in m
}
/** True for the envelope a `cast` puts in a mailbox. */
export function isCastEnvelope(m: unknown): m is CastEnvelope {
  return typeof m === 'object' && m !== null && '$cast' in m
}
/** True for a trapped exit signal (`{ type: 'EXIT' }`). */
export function isExitMessage(m: unknown): m is ExitMessage {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'EXIT'
}
/** True for a monitor's notice (`{ type: 'DOWN' }`). */
export function isDownMessage(m: unknown): m is DownMessage {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'DOWN'
}

/** True for what a handler returns when it goes on asynchronously (a promise or any thenable). */
export function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    v !== null &&
    (typeof v === 'object' || typeof v === 'function') &&
    typeof (v as { then?: unknown }).then === 'function'
  )
}

/**
 * What a process starts with besides its args: the state its predecessor handed over (a move
 * with handoff), and whether it takes over from a process whose node went down; passed by
 * whoever starts it (`SpawnOptions.handoff`, `SpawnOptions.adopted`).
 */
export interface StartInfo {
  /** The state handed over by the previous process of this child, when it moved. */
  readonly handoff?: unknown
  /** True when a supervisor adopted it: its previous process's node went down. */
  readonly adopted?: boolean
}

/** The `StartInfo` of a process started with nothing handed over. */
export const NO_START_INFO: StartInfo = Object.freeze({})

/**
 * What the runtime calls on a process object.
 *
 * @internal
 */
export interface Behavior {
  [kAttach](proc: Proc): void
  [kInit](args: unknown, start: StartInfo): unknown
  [kReceive](msg: unknown): unknown
  [kTerminate](reason: ExitReason): unknown
}

/** A monitor's watcher: a local process (gets a DOWN message) or a callback. */
export type Watcher = Pid | ((reason: ExitReason, pid: Pid) => void)

export type ProcStatus = 'initializing' | 'alive' | 'exiting' | 'exited'

/**
 * The runtime's record of one process. Fields are lazily allocated to keep idle processes small.
 *
 * @internal
 */
export class Proc {
  readonly pid: Pid
  readonly runtime: Runtime
  readonly behavior: Behavior
  mailbox: unknown[] = []
  head = 0
  status: ProcStatus = 'alive'
  scheduled = false
  /** An async handler (or init, or terminate) is in flight: the mailbox waits. */
  busy = false
  /** Inside a synchronous handler call right now. */
  running = false
  trapExit = false
  handled = 0
  links: Set<Pid> | undefined = undefined
  /** Monitors others hold on this process. */
  monitoredBy: Map<Ref, Watcher> | undefined = undefined
  /** Monitors this process holds: ref → target. */
  monitoring: Map<Ref, Pid> | undefined = undefined
  timers: Map<Ref, TimerHandle> | undefined = undefined
  name: string | undefined = undefined
  parent: Pid | undefined = undefined
  /** A stop asked for from inside a handler, carried out when the handler returns. */
  stopReason: ExitReason | undefined = undefined
  initArgs: unknown = undefined
  initStart: StartInfo = NO_START_INFO
  initWaiter: { resolve(pid: Pid, info: unknown): void; reject(e: unknown): void } | undefined =
    undefined

  constructor(pid: Pid, runtime: Runtime, behavior: Behavior) {
    this.pid = pid
    this.runtime = runtime
    this.behavior = behavior
  }

  get mailboxLength(): number {
    return this.mailbox.length - this.head
  }
}

/**
 * The handle a process acts through. `Actor` extends it; a function process receives it as its
 * second argument. Every method acts on behalf of this process (`self`).
 */
export abstract class ProcessContext {
  /** @internal */
  /** @internal The runtime's record of this process. */
  protected proc!: Proc;

  /** @internal */
  [kAttach](proc: Proc): void {
    this.proc = proc
  }

  /** This process's pid. */
  get self(): Pid {
    return this.proc.pid
  }

  /** The runtime (node) this process lives in. */
  get runtime(): Runtime {
    return this.proc.runtime
  }

  /** When true, exit signals from links arrive as `ExitMessage`s instead of ending the process. */
  get trapExit(): boolean {
    return this.proc.trapExit
  }
  /** Turns exit trapping on or off for this process. */
  set trapExit(on: boolean) {
    this.proc.trapExit = on
  }

  /** Sends `msg` to `to`; never waits. */
  send(to: Pid, msg: unknown): void {
    this.proc.runtime.send(to, msg)
  }

  /** Calls `to` and waits for its reply (default timeout 5000 ms). */
  call<R = unknown>(to: Pid, msg: unknown, options?: CallOptions): Promise<R> {
    return this.proc.runtime.call<R>(to, msg, { ...options, from: this.proc.pid })
  }

  /** Sends `msg` to `to`'s `handleCast`. */
  cast(to: Pid, msg: unknown): void {
    this.proc.runtime.cast(to, msg)
  }

  /** Replies to a call; for late replies (return `NoReply` from `handleCall`). */
  reply(from: From, value: unknown): void {
    this.proc.runtime.reply(from, value)
  }

  /** Replies to a call with a failure: the caller's promise rejects with `error`. */
  replyError(from: From, error: unknown): void {
    this.proc.runtime.replyError(from, error)
  }

  /** Spawns a process; `link: true` links it to this one. */
  spawn<A>(
    actor: ActorClassLike<A>,
    args: A,
    options?: Omit<SpawnOptions, 'link' | 'parent'> & { link?: boolean },
  ): Pid {
    const { link, ...rest } = options ?? {}
    return this.proc.runtime.spawn(actor, args, link ? { ...rest, link: this.proc.pid } : rest)
  }

  /** Starts a process and waits for its `init`; `link: true` links it to this one. */
  start<A>(
    actor: ActorClassLike<A>,
    args: A,
    options?: Omit<SpawnOptions, 'link' | 'parent'> & { link?: boolean },
  ): Promise<Pid> {
    const { link, ...rest } = options ?? {}
    return this.proc.runtime.start(actor, args, link ? { ...rest, link: this.proc.pid } : rest)
  }

  /** Links this process with `pid` (two-way). */
  link(pid: Pid): void {
    this.proc.runtime.link(this.proc.pid, pid)
  }

  /** Removes the link between this process and `pid`, if there is one. */
  unlink(pid: Pid): void {
    this.proc.runtime.unlink(this.proc.pid, pid)
  }

  /** Monitors `pid`: one `DownMessage` with this ref arrives when it ends. */
  monitor(pid: Pid): Ref {
    return this.proc.runtime.monitor(this.proc.pid, pid)
  }

  /** Removes the monitor `ref`; no `DownMessage` arrives for it afterwards. */
  demonitor(ref: Ref): void {
    this.proc.runtime.demonitor(ref)
  }

  /** Sends an exit signal to `pid` from this process. */
  exit(pid: Pid, reason: ExitReason): void {
    this.proc.runtime.exit(pid, reason, this.proc.pid)
  }

  /** Ends this process with `reason` once the current handler returns. */
  stop(reason: ExitReason = 'normal'): void {
    this.proc.runtime.stopSelf(this.proc, reason)
  }

  /** Delivers `msg` to `to` (default: this process) after `ms`; cancelled if this process ends. */
  sendAfter(msg: unknown, ms: number, to: Pid = this.proc.pid): Ref {
    return this.proc.runtime.sendAfter(to, msg, ms, this.proc)
  }

  /** Cancels a timer; true if it had not fired yet. */
  cancelTimer(ref: Ref): boolean {
    return this.proc.runtime.cancelTimer(ref)
  }
}

/** Anything the runtime can instantiate as a process: a class with a no-argument constructor. */
export type ActorClassLike<A> = new () => ProcessContext &
  Behavior & {
    /** Runs before the first message, with the start args and what was handed over. */
    init?(args: A, start: StartInfo): unknown
  }

/** True for an actor class (its prototype dispatches messages), false for a function process. */
export function isActorClass(f: unknown): boolean {
  return (
    typeof f === 'function' &&
    typeof (f as { prototype?: unknown }).prototype === 'object' &&
    kReceive in ((f as { prototype: object }).prototype ?? {})
  )
}

/** A function process: called once per message, with its context. */
export type ProcessFn = (msg: unknown, ctx: ProcessContext) => void | Promise<void>

/** Wraps a function as a process. */
export class FnProcess extends ProcessContext implements Behavior {
  private readonly fn: ProcessFn
  constructor(fn: ProcessFn) {
    super()
    this.fn = fn
  }
  [kInit](): void {}
  [kReceive](msg: unknown): unknown {
    return this.fn(msg, this)
  }
  [kTerminate](): void {}
}
