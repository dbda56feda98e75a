// Calls and replies: each call waits under a fresh ref for its reply, its timeout, or the end of
// its target (a watch on it, local or through the route), whichever comes first.
import type { Clock, TimerHandle } from './clock.js'
import { actorDefaults } from './defaults.js'
import {
  AbortError,
  BadArgument,
  CallTimeout,
  Exited,
  NoConnection,
  NoProc,
  RuntimeStopped,
} from './errors.js'
import type { ExitReason } from './exitReason.js'
import type { Logger } from './logger.js'
import type { CallOptions } from './options.js'
import { isPid, nodeOf, nodeOfRef, type NodeId, type Pid, type Ref } from './Pid.js'
import type { CallEnvelope, Proc, Watcher } from './Process.js'
import type { ProcLookup } from './ProcessTable.js'
import { routeTo, type Route } from './Route.js'

/** What calls need from their runtime. */
export interface CallsHost {
  readonly nodeId: NodeId
  readonly clock: Clock
  readonly logger: Logger
  route(): Route | undefined
  /** The runtime has shut down: a new call rejects at once. */
  stopped(): boolean
  makeRef(): Ref
  readonly procs: ProcLookup
  /** Where a local call's envelope goes. */
  readonly scheduler: { enqueue(proc: Proc, msg: unknown): void }
  /** The watch a call puts on its target, kept by the links and monitors. */
  readonly watches: CallWatches
}

/** The watches on a call's target: on a local process, or through the route on a remote one. */
export interface CallWatches {
  watch(proc: Proc, ref: Ref, watcher: Watcher): void
  watchRemote(ref: Ref, target: Pid, watcher: Watcher): void
  /** Forgets a remote watch without telling the remote node; false if there was none. */
  unwatchRemote(ref: Ref): boolean
  /** Removes a watch, local or remote (then the remote node is told; `later`: see `Route`). */
  unwatch(ref: Ref, target: Pid, later?: boolean): void
}

/**
 * Told of each call as it settles: how long it took, in ms on the runtime's clock, and whether it
 * got a reply (`true`) or rejected (`false`).
 */
export type CallListener = (ms: number, ok: boolean) => void

interface PendingCall {
  resolve(value: unknown): void
  reject(error: unknown): void
  timer: TimerHandle | undefined
  target: Pid
  /** The watcher registered on the target (local) or via the route (remote). */
  onDown: (reason: ExitReason) => void
  /** Stops listening to the call's abort signal, if it has one. */
  unlisten: (() => void) | undefined
}

/** The calls one runtime waits on. */
export class Calls {
  private readonly host: CallsHost
  private readonly pending = new Map<Ref, PendingCall>()
  private readonly listeners = new Set<CallListener>()

  constructor(host: CallsHost) {
    this.host = host
  }

  /** Calls waiting for a reply. */
  get pendingCount(): number {
    return this.pending.size
  }

  call<R>(to: Pid, msg: unknown, options: CallOptions | undefined): Promise<R> {
    // Timed only while someone listens, so that an unobserved call pays one size check.
    const start = this.listeners.size > 0 ? this.host.clock.now() : -1
    const call = new Promise<R>((resolve, reject) => {
      this.callInto(to, msg, options, resolve as (v: unknown) => void, reject)
    })
    if (start >= 0) this.timeCall(call, start)
    return call
  }

  /**
   * A call whose result settles `resolve` or `reject` in the very turn its reply arrives: for a
   * layer that already handed its caller a promise (a call held during a move), so that it
   * settles no later than a call made directly, and answers given in order are seen in order.
   * Not timed for `onCallSettled`.
   */
  callInto(
    to: Pid,
    msg: unknown,
    options: CallOptions | undefined,
    resolve: (v: unknown) => void,
    reject: (e: unknown) => void,
  ): void {
    const host = this.host
    const timeoutMs = options?.timeoutMs ?? actorDefaults.callTimeoutMs
    if (host.stopped()) {
      reject(new RuntimeStopped())
      return
    }
    const signal = options?.signal
    if (signal?.aborted === true) {
      reject(new AbortError(`call to ${to}`, signal))
      return
    }
    const ref = host.makeRef()
    const envelope: CallEnvelope =
      options?.from === undefined ? { $call: ref, msg } : { $call: ref, from: options.from, msg }
    const local = host.procs.get(to)
    if (local === undefined && (host.procs.isLocal(to) || !isPid(to))) {
      reject(isPid(to) ? new NoProc(to) : new BadArgument(`call: not a pid: ${String(to)}`))
      return
    }
    const pending: PendingCall = {
      resolve,
      reject,
      target: to,
      timer: undefined,
      unlisten: undefined,
      onDown: (reason) => {
        if (this.forget(ref, pending)) reject(callError(to, reason))
      },
    }
    // A timeout or an abort gives the call up: its watch goes too, and a later reply is dropped.
    const giveUp = (error: Error): void => {
      if (!this.forget(ref, pending)) return
      host.watches.unwatch(ref, to)
      reject(error)
    }
    pending.timer = host.clock.setTimeout(() => giveUp(new CallTimeout(to, timeoutMs)), timeoutMs)
    if (signal !== undefined) {
      const onAbort = (): void => giveUp(new AbortError(`call to ${to}`, signal))
      signal.addEventListener('abort', onAbort, { once: true })
      pending.unlisten = () => signal.removeEventListener('abort', onAbort)
    }
    this.pending.set(ref, pending)
    if (local !== undefined) {
      host.watches.watch(local, ref, pending.onDown)
      host.scheduler.enqueue(local, envelope)
      return
    }
    try {
      const route = routeTo(host.route(), to)
      host.watches.watchRemote(ref, to, pending.onDown)
      if (!route.call(to, ref, envelope)) {
        host.watches.unwatchRemote(ref)
        pending.onDown('noconnection')
      }
    } catch (e) {
      host.watches.unwatchRemote(ref)
      this.forget(ref, pending)
      pending.reject(e)
    }
  }

  private timeCall(call: Promise<unknown>, start: number): void {
    const settled = (ok: boolean): void => {
      const ms = this.host.clock.now() - start
      for (const l of this.listeners) {
        try {
          l(ms, ok)
        } catch (e) {
          this.host.logger.error({ err: e }, 'call listener threw')
        }
      }
    }
    void call.then(
      () => settled(true),
      () => settled(false),
    )
  }

  onCallSettled(listener: CallListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Sends a call's result to its caller: here, or through the route to the caller's node. */
  reply(ref: Ref, ok: boolean, value: unknown, later = false): void {
    const node = nodeOfRef(ref)
    if (node === this.host.nodeId) this.deliverReply(ref, ok, value)
    else this.host.route()?.reply(ref, ok, value, later)
  }

  /**
   * A call's result. `from` is the node that sent it over the wire: when that is the target's
   * node, it dropped the watch of the call there as it replied (see `Route.call`), so only the
   * local half goes; a reply from anywhere else (a backup answering for a replicated worker)
   * leaves it there, and the target's node is told.
   */
  deliverReply(ref: Ref, ok: boolean, value: unknown, from?: NodeId): void {
    const p = this.pending.get(ref)
    if (p === undefined || !this.forget(ref, p)) return
    if (from !== undefined && from === nodeOf(p.target)) this.host.watches.unwatchRemote(ref)
    // A reply from another node, or from this one for a target elsewhere (a backup answering
    // for a replicated worker): the target's node still watches, and is told with its next
    // frames (a frame of its own per call, where the backup is the caller's node, before).
    else this.host.watches.unwatch(ref, p.target, true)
    if (ok) p.resolve(value)
    else p.reject(value)
  }

  /** Rejects every waiting call with `RuntimeStopped` (the runtime shut down). */
  rejectAll(): void {
    for (const [ref, p] of this.pending) {
      this.forget(ref, p)
      p.reject(new RuntimeStopped())
    }
  }

  /**
   * Forgets call `ref` as it settles: its timer and its signal's listener go with it. False when
   * it had settled already (whichever of reply, end, timeout or abort came first wins).
   */
  private forget(ref: Ref, p: PendingCall): boolean {
    if (!this.pending.delete(ref)) return false
    this.host.clock.clearTimeout(p.timer)
    p.unlisten?.()
    return true
  }
}

function callError(target: Pid, reason: ExitReason): Error {
  if (reason === 'noproc') return new NoProc(target)
  if (reason === 'noconnection') return new NoConnection(target)
  return new Exited(target, reason)
}
