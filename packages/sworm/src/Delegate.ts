// The delegate: one per name, supervised by the sworm's distributed supervisor (child id = the
// name's key). It starts the real worker linked to itself, registers the worker under the name
// (with itself in the meta), and passes on everything sent to the name: messages sent by name
// reach the delegate, which forwards them to the worker unchanged (a call's reply goes from the
// worker straight to the caller). That one door is what lets a move lose nothing: once the name
// is held on every node (see `moves/Fence.ts`), the delegate asks the worker for its state
// after everything sent before the hold, and whatever still reaches it goes back to be held.
//
// It ends with the worker (and the worker with it: they are linked): a crash is the supervisor's
// to restart (under the sworm's `restart` policy); a lost name conflict ends it for good.
import {
  Actor,
  AlreadyRegistered,
  isExitMessage,
  isNameConflictExit,
  NoReply,
  reasonToWire,
  type ActorClassLike,
  type From,
  type StartInfo,
  type Pid,
  type Ref,
  type TimerHandle,
} from '@swormjs/actor'
import type { SliceGate } from '@swormjs/actor/internal'
import type { Name, Registry } from '@swormjs/registry'
import { UnknownActorType } from '@swormjs/supervisor'
import { flushedFor, isFlushMarker } from './moves/Barriers.js'
import { isHandoffMessage } from './handoff.js'
import type { Replicator } from './replicas/Replicator.js'

/** What a delegate is started with: it travels to the node that runs the name. */
export interface DelegateArgs {
  /** The name's key (`encodeName(name)`), made once by `registerName`; also the child id. */
  key: string
  type: string
  args: unknown
}

/**
 * The message that started a name on demand, delivered to its worker before anything else: a
 * message as it was sent (`raw`), or a call whose answer goes back with the start.
 */
export type FirstMessage =
  | {
      /** A message, a cast envelope included, as it was sent. */
      raw: unknown
    }
  | {
      /** The message of a call. */
      call: unknown
      /** The call's timeout, in ms. */
      timeoutMs: number
    }
/** The worker's answer to a first message that was a call. */
export type FirstReply =
  | {
      /** It answered. */
      ok: true
      /** Its answer. */
      value: unknown
    }
  | {
      /** It failed. */
      ok: false
      /** Its error, as on the wire (`reasonToWire`). */
      error: unknown
    }

/** What a name carries to its next node when it moves: the worker's state and groups. */
export interface HandoffPayload {
  /** A name started on demand: the message that started it (on that start only). */
  first?: FirstMessage
  /** Present when the worker handed over a state. */
  state?: {
    /** The state `beginHandoff` returned. */
    value: unknown
  }
  /** The groups the worker had joined: its next process joins them again. */
  groups: Name[]
  /** Read from this node's disk (`persist`) after a full restart: it is there already. */
  kept?: boolean
}

/** What a delegate needs of its sworm instance, given when the delegate is made. */
export interface DelegateHost {
  /** The sworm's name, for logs. */
  readonly sworm: string
  /** Where the delegate registers its worker and its groups. */
  readonly registry: Pick<
    Registry,
    'join' | 'registerKey' | 'groupsOf' | 'rebindKey' | 'retainGroups' | 'releaseGroups'
  >
  /** A worker with no message to its name for this long is passivated; 0: never. */
  readonly idleTimeoutMs: number
  /**
   * The passivations of the sworm's idle workers pass this one gate: workers that fall idle
   * together (a broadcast touched them all) passivate a slice's worth per turn, not all in the
   * timers phase that finds them idle.
   */
  readonly passivations: Pick<SliceGate, 'pass'>
  /** The sworm hands states over (`handoff`): a passivated name keeps its state and stays. */
  readonly keepsState: boolean
  /** Ends the name for good (the supervisor terminates this delegate): a stateless passivation. */
  end(key: string): void
  /**
   * The worker of `key` stops because its name moved on: what is sent to its pid from now on
   * goes to the name (see `SwormInstance`'s dead letters).
   */
  gone(worker: Pid, key: string): void
  /** The sworm's actor type of that name (its own `actors` only). */
  actorType(typeName: string): ActorClassLike<never> | undefined
  /** Sends a message that arrived during a move back to be held (`Holds.holdLate`). */
  holdLate(key: string, delegate: Pid, raw: unknown): void
  /** How long the worker may take to answer `sworm:begin_handoff`. */
  readonly handoffTimeoutMs: number
  /** Hands a moved copy's state to the worker that runs the name already (`mergeState`). */
  mergeIntoRunning(key: string, state: unknown): void
  /** With `replicas`: where a delegate's state copies go, and where an adopted name's come from. */
  readonly replicas?: {
    /** The replicator of one delegate (its worker's groups read by `groups`). */
    replicator(start: DelegateArgs, delegate: Pid, groups: () => Name[]): Replicator
    /** The newest copy of `key`'s state on any node, for a name adopted after a crash. */
    recover(key: string): Promise<HandoffPayload | undefined>
  }
}

/**
 * The delegate class of one sworm instance, for its supervisor's `actors`: the supervisor
 * makes actors with no argument, so the class closes over the host.
 */
export function delegateClass(host: DelegateHost): ActorClassLike<DelegateArgs> {
  return class extends Delegate {
    constructor() {
      super(host)
    }
  }
}

/** The delegate a name's registration names in its meta; none for a plain registration. */
export function delegateOf(meta: unknown): Pid | undefined {
  return (meta as { delegate?: Pid } | undefined)?.delegate
}

/**
 * Where a message to a registered name goes: its delegate (which passes it to the worker), or
 * the process itself for a plain registration.
 */
export function targetOf(entry: { pid: Pid; meta: unknown }): Pid {
  return delegateOf(entry.meta) ?? entry.pid
}

/**
 * A local request to a delegate (never crosses the wire): ask the worker for its state
 * (`withState`) and stop passing messages on. Answered with a `HandoffPayload`.
 */
export class PrepareMove {
  readonly withState: boolean
  /** `conflict`: the worker lost its name, and its state goes to the winner, not to a next node. */
  readonly why: 'move' | 'conflict'
  constructor(withState: boolean, why: 'move' | 'conflict' = 'move') {
    this.withState = withState
    this.why = why
  }
}

/**
 * The longest a moving worker stays in its groups when its move never reports done (it failed):
 * past it, the groups let go of it as of a process that exited.
 */
const RETAIN_GROUPS_MS = 30_000

/** A message to the name that waits for a worker: a call, or anything else as it came. */
type Waiting = { call: unknown; from: From } | { raw: unknown }

export class Delegate extends Actor<DelegateArgs> {
  private readonly host: DelegateHost
  private worker: Pid | undefined
  private key = ''
  /** Set once the name is held everywhere: what arrives now goes back to be held. */
  private moving = false
  /** Its worker's groups are kept past the worker's exit for the move (`retainGroups`). */
  private retaining = false
  private asked: { ref: Ref; from: From; timer: TimerHandle; why: PrepareMove['why'] } | undefined
  /** Set once the worker's state went out (to a move or a conflict's winner): never twice. */
  private handedOver = false
  /** With `replicas`: the worker's state kept on other nodes, replies held until it is. */
  private replicator: Replicator | undefined
  private start_: { Type: ActorClassLike<never>; args: unknown } | undefined
  /** When the last message to the name came in (`idleTimeoutMs`). */
  private lastMessage = 0
  private idleTimer: TimerHandle | undefined
  /** The delegate stopped (`terminate`): an idle check that waited for its turn does nothing. */
  private ended = false
  /**
   * Passivation under way: the worker was asked for its state (`ref`); messages to the name wait
   * in `waiting` until it is stopped, then wake a new one.
   */
  private sleeping: { ref: Ref; waiting: Waiting[]; timer: TimerHandle } | undefined
  /** The worker is stopped (passivated): its state and groups, for the next worker. */
  private asleep: { state: { value: unknown } | undefined; groups: Name[] } | undefined

  constructor(host: DelegateHost) {
    super()
    this.host = host
  }

  /**
   * Starts and registers the worker; returns its pid, which `registerName` hands its caller
   * (with the worker's answer to the first message, when a call started the name on demand).
   */
  override async init(
    a: DelegateArgs,
    start: StartInfo,
  ): Promise<Pid | { pid: Pid; reply: FirstReply }> {
    const host = this.host
    this.key = a.key
    const Type = host.actorType(a.type)
    if (Type === undefined) throw new UnknownActorType(a.type)
    // Adopted after its node crashed: the newest copy of the state, if the sworm keeps copies.
    let handoff = start.handoff as HandoffPayload | undefined
    if (handoff === undefined && start.adopted === true && host.replicas !== undefined) {
      handoff = await host.replicas.recover(a.key)
    }
    this.trapExit = true
    this.start_ = { Type, args: a.args }
    // The handed-over state is the worker's first message: nothing can reach the worker before
    // it, since the name resolves to the worker only once registered below.
    const worker = await this.startWorker(handoff?.state, handoff?.groups ?? [])
    this.worker = worker
    // A name started on demand: the message that started it is the worker's first, before the
    // name resolves for anyone else.
    let reply: FirstReply | undefined
    const first = handoff?.first
    if (first !== undefined && 'raw' in first) this.runtime.send(worker, first.raw)
    if (first !== undefined && 'call' in first) {
      try {
        reply = {
          ok: true,
          value: await this.call(worker, first.call, { timeoutMs: first.timeoutMs }),
        }
      } catch (e) {
        // It travels back with the start's answer, perhaps to another node: as on the wire.
        reply = { ok: false, error: reasonToWire(e) }
      }
    }
    // Registered before this init returns, so the caller's reply travels after the
    // registration (read-your-writes on its node).
    try {
      await host.registry.registerKey(a.key, worker, { delegate: this.self })
    } catch (e) {
      // A copy moved here after a split while the name runs elsewhere: the state it brought
      // goes to the running worker, as a conflict's loser's does, not down with this one.
      if (AlreadyRegistered.is(e) && handoff?.state !== undefined) {
        host.mergeIntoRunning(a.key, handoff.state.value)
      }
      throw e
    }
    if (host.replicas !== undefined) {
      this.replicator = host.replicas.replicator(a, this.self, () => host.registry.groupsOf(worker))
      // With persist, the reply to whoever started it (a registration, a move, an adoption)
      // waits until the name is on this node's disk.
      await this.replicator.keepNow(handoff?.state, handoff?.kept === true)
      // A state read back from this node's disk needs copying only to backups, if any.
      this.replicator.started(
        worker,
        handoff?.state !== undefined || first !== undefined,
        handoff?.kept === true,
      )
      // The call that started the name is answered with its start: only once its effect is
      // kept, as any replicated call's answer.
      if (reply?.ok === true) {
        try {
          await this.replicator.synced()
        } catch (e) {
          reply = { ok: false, error: reasonToWire(e) }
        }
      }
    }
    this.touch()
    return reply === undefined ? worker : { pid: worker, reply }
  }

  override handleCall(msg: unknown, from: From): unknown {
    if (msg instanceof PrepareMove) return this.prepareMove(msg, from)
    const waits = this.moving ? false : this.notAwake({ call: msg, from })
    if (waits !== false) return waits === true ? NoReply : waits.then(() => NoReply)
    this.touch()
    this.passCall(msg, from)
    return NoReply
  }

  /** Passes a call to the name on: into the replicator (its answer held until copied), or on. */
  private passCall(msg: unknown, from: From): void {
    if (this.replicator !== undefined && !this.moving) {
      this.replicator.forwardCall(msg, from)
      return
    }
    this.pass(
      from.pid === undefined ? { $call: from.ref, msg } : { $call: from.ref, from: from.pid, msg },
    )
  }

  override handleCast(msg: unknown): void | Promise<void> {
    const waits = this.moving ? false : this.notAwake({ raw: { $cast: msg } })
    if (waits !== false) return waits === true ? undefined : waits
    this.touch()
    this.pass({ $cast: msg })
    return undefined
  }

  override handleInfo(msg: unknown): void | Promise<void> {
    // A barrier's marker (see `Barriers`): everything sent before it has been passed on. Not a
    // reason to wake a sleeping worker; during a move it is held with the rest.
    if (isFlushMarker(msg) && !this.moving && this.sleeping === undefined) {
      this.send(msg.to, flushedFor(msg))
      return undefined
    }
    if (isHandoffMessage(msg) && msg.type === 'sworm:passivate') {
      if (msg.worker === this.worker) this.passivate()
      return undefined
    }
    if (
      this.sleeping !== undefined &&
      isHandoffMessage(msg) &&
      (msg.type === 'sworm:handoff_state' || msg.type === 'sworm:ignore') &&
      msg.ref === this.sleeping.ref
    ) {
      return this.fallAsleep(msg.type === 'sworm:handoff_state' ? { value: msg.state } : undefined)
    }
    if (isExitMessage(msg) && msg.from === this.worker) {
      const reason = msg.reason
      // A worker that lost a name conflict must not come back: the supervisor never restarts
      // `{ shutdown: 'name_conflict' }`. Any other end is the worker's, for the policy to judge.
      this.stop(isNameConflictExit(reason) ? { shutdown: 'name_conflict' } : reason)
      return
    }
    if (
      this.replicator !== undefined &&
      isHandoffMessage(msg) &&
      (msg.type === 'sworm:handoff_state' || msg.type === 'sworm:ignore') &&
      this.replicator.owns(msg.ref)
    ) {
      this.replicator.answer(msg.type === 'sworm:handoff_state' ? { value: msg.state } : undefined)
      return undefined
    }
    if (isHandoffMessage(msg) && this.asked !== undefined) {
      if (msg.type === 'sworm:handoff_state' && msg.ref === this.asked.ref) {
        this.answerMove({ value: msg.state })
        return undefined
      }
      if (msg.type === 'sworm:ignore' && msg.ref === this.asked.ref) {
        this.answerMove(undefined)
        return undefined
      }
    }
    const waits = this.moving ? false : this.notAwake({ raw: msg })
    if (waits !== false) return waits === true ? undefined : waits
    this.touch()
    this.pass(msg)
    return undefined
  }

  // ------------------------------------------------------------------ passivation

  /**
   * Whether a message to the name cannot go to a worker now: `true` when it waits for the
   * passivation under way (it wakes the next worker after it); a promise when it wakes the next
   * worker now and is delivered after (the mailbox waits meanwhile); `false` when it can go.
   */
  private notAwake(w: Waiting): boolean | Promise<void> {
    if (this.sleeping !== undefined) {
      this.sleeping.waiting.push(w)
      return true
    }
    if (this.asleep === undefined) return false
    return this.wake([w])
  }

  /** Restarts the idle timer's count: a message to the name came in. */
  private touch(): void {
    const idle = this.host.idleTimeoutMs
    if (idle <= 0) return
    this.lastMessage = this.runtime.clock.now()
    this.idleTimer ??= this.runtime.clock.setTimeout(() => this.idleCheck(), idle)
  }

  /** The idle timer fired: passivate, or wait out the rest of the bound since the last message. */
  private idleCheck(): void {
    this.idleTimer = undefined
    if (this.ended) return
    const idle = this.host.idleTimeoutMs
    const quiet = this.runtime.clock.now() - this.lastMessage
    if (quiet < idle) {
      this.idleTimer = this.runtime.clock.setTimeout(() => this.idleCheck(), idle - quiet)
      return
    }
    const wait = this.host.passivations.pass()
    if (wait === undefined) {
      this.passivate()
      return
    }
    // Many fell idle at once: this one looks again in a later turn (a message meanwhile set a
    // new timer through `touch`, which then decides).
    void wait.then(() => {
      if (this.idleTimer === undefined) this.idleCheck()
    })
  }

  /**
   * Asks the worker for its state, after every message already passed to it; `fallAsleep` goes
   * on with the answer. Not during a move, a conflict, or another passivation.
   */
  private passivate(): void {
    const worker = this.worker
    if (worker === undefined || this.moving || this.asked !== undefined) return
    if (this.sleeping !== undefined || this.asleep !== undefined) return
    const ref = this.runtime.makeRef()
    // A worker that does not answer (its `handleInfo` takes `sworm:begin_handoff` and ignores
    // it) is not passivated with handoff: it stays awake, as its state cannot be taken; without
    // handoff its name ends all the same, as the idle bound asked.
    const timer = this.runtime.clock.setTimeout(() => {
      if (this.sleeping?.ref !== ref) return
      if (!this.host.keepsState) {
        void this.fallAsleep(undefined)
        return
      }
      const { waiting } = this.sleeping
      this.sleeping = undefined
      this.runtime.logger.warn(
        { sworm: this.host.sworm, name: this.key.slice(1), timeoutMs: this.host.handoffTimeoutMs },
        'the worker did not answer sworm:begin_handoff in time; it is not passivated',
      )
      this.deliver(waiting)
    }, this.host.handoffTimeoutMs)
    this.sleeping = { ref, waiting: [], timer }
    this.send(worker, { type: 'sworm:begin_handoff', delegate: this.self, ref })
  }

  /**
   * The worker answered: with handoff, it stops and the name rests on this delegate with its
   * state (and its copies, with `replicas` or `persist`) until the next message; without, the
   * name ends, unless messages came meanwhile (then the worker stays, and takes them).
   */
  private async fallAsleep(state: { value: unknown } | undefined): Promise<void> {
    const { waiting, timer } = this.sleeping!
    this.sleeping = undefined
    this.runtime.clock.clearTimeout(timer)
    const worker = this.worker!
    if (!this.host.keepsState) {
      if (waiting.length > 0) this.deliver(waiting)
      else this.host.end(this.key)
      return
    }
    const groups = this.host.registry.groupsOf(worker)
    if (this.replicator !== undefined) await this.replicator.seal(state)
    // The name rests on this delegate before the worker goes: it never resolves to nothing.
    this.host.registry.rebindKey(this.key, worker, this.self, { delegate: this.self })
    this.asleep = { state, groups }
    this.worker = undefined
    this.unlink(worker)
    await this.runtime.stop(worker, 'normal')
    if (waiting.length > 0) await this.wake(waiting)
  }

  /** Starts the next worker from the kept state, gives it the name back, then delivers `waiting`. */
  private async wake(waiting: Waiting[]): Promise<void> {
    const { state, groups } = this.asleep!
    const worker = await this.startWorker(state, groups)
    this.host.registry.rebindKey(this.key, this.self, worker, { delegate: this.self })
    this.asleep = undefined
    this.worker = worker
    this.replicator?.reopen(worker)
    this.deliver(waiting)
  }

  /**
   * Starts the name's worker (its parent is this delegate: `passivate()` asks it), with `state`
   * as its first message when there is one, and puts it in `groups`.
   */
  private async startWorker(state: { value: unknown } | undefined, groups: Name[]): Promise<Pid> {
    const { Type, args } = this.start_!
    const worker = await this.runtime.start(Type, args as never, { parent: this.self })
    if (state !== undefined) this.send(worker, { type: 'sworm:end_handoff', state: state.value })
    for (const group of groups) await this.host.registry.join(group, worker)
    return worker
  }

  /** Passes messages that waited for a worker, in the order they came. */
  private deliver(waiting: Waiting[]): void {
    for (const w of waiting) {
      this.touch()
      if ('raw' in w) this.pass(w.raw)
      else this.passCall(w.call, w.from)
    }
  }

  /** Passes a message sent to the name on to the worker, or, during a move, back to be held. */
  private pass(raw: unknown): void {
    if (this.moving) this.host.holdLate(this.key, this.self, raw)
    else if (isFlushMarker(raw)) this.send(raw.to, flushedFor(raw))
    else if (this.replicator !== undefined) this.replicator.forward(raw)
    else if (this.worker !== undefined) this.runtime.send(this.worker, raw)
  }

  private prepareMove({ withState, why }: PrepareMove, from: From): unknown {
    this.moving = true
    if (why === 'move' && this.worker !== undefined && !this.retaining) {
      // Its groups keep listing it until its next worker has joined them (the move's `moved`),
      // so that a publish meanwhile finds it (and is forwarded) rather than no one.
      this.retaining = true
      const { registry } = this.host
      const worker = this.worker
      registry.retainGroups(worker)
      setTimeout(() => registry.releaseGroups(worker), RETAIN_GROUPS_MS).unref()
    }
    if (this.idleTimer !== undefined) this.runtime.clock.clearTimeout(this.idleTimer)
    this.idleTimer = undefined
    if (this.sleeping !== undefined) {
      // A move during a passivation: the passivation is given up (its answer will find no
      // question), and what waited for it goes back to be held, before anything later.
      const { waiting, timer } = this.sleeping
      this.sleeping = undefined
      this.runtime.clock.clearTimeout(timer)
      this.deliver(waiting)
    }
    const asleep = this.asleep
    if (asleep !== undefined) {
      // A passivated name moves with the state it rests with, once.
      const state = withState && !this.handedOver ? asleep.state : undefined
      if (state !== undefined) this.handedOver = true
      return state !== undefined ? { state, groups: asleep.groups } : { groups: asleep.groups }
    }
    const worker = this.worker
    // A second question (a move and a conflict one after the other) gets no state: the first
    // answer took it, and a copy given twice would be counted twice.
    if (!withState || worker === undefined || this.handedOver) {
      void this.replicator?.seal(undefined)
      return this.payload(undefined)
    }
    if (this.asked !== undefined) {
      // Asked twice (a move and a conflict at once): the first question's answer serves both.
      this.runtime.replyError(from, new Error('a handoff is already under way'))
      return NoReply
    }
    const ref = this.runtime.makeRef()
    const timeoutMs = this.host.handoffTimeoutMs
    const timer = this.runtime.clock.setTimeout(() => {
      this.runtime.logger.warn(
        { sworm: this.host.sworm, name: this.key.slice(1), worker, timeoutMs },
        'the worker did not answer sworm:begin_handoff in time; it moves without its state',
      )
      this.answerMove(undefined)
    }, timeoutMs)
    this.asked = { ref, from, timer, why }
    this.send(worker, { type: 'sworm:begin_handoff', delegate: this.self, ref, final: true })
    return NoReply
  }

  private answerMove(state: { value: unknown } | undefined): void {
    const asked = this.asked
    if (asked === undefined) return
    this.asked = undefined
    if (state !== undefined) this.handedOver = true
    this.runtime.clock.clearTimeout(asked.timer)
    const payload = this.payload(state)
    if (this.replicator === undefined) {
      this.reply(asked.from, payload)
      return
    }
    // The state the name moves with is kept on the backups first: a crash during the move
    // loses no call answered before it. A conflict's loser keeps nothing: its copies would
    // overwrite the winner's, and its state goes into the winner's (which keeps it).
    const replicator = this.replicator
    void replicator.seal(asked.why === 'move' ? state : undefined).then(() => {
      if (asked.why === 'conflict') replicator.dropCopies()
      this.reply(asked.from, payload)
    })
  }

  /** A name that ends here for good (not moved) leaves no copies behind. */
  override terminate(): void {
    this.ended = true
    if (this.moving && this.worker !== undefined) {
      // What its worker passed back to it after handing over and it never read goes to the
      // name too, ahead of what its worker never read (the delegate ends first). The worker
      // is the name's last gone pid (its groups are let go by it once the move is done).
      this.host.gone(this.self, this.key)
      this.host.gone(this.worker, this.key)
    }
    if (this.idleTimer !== undefined) this.runtime.clock.clearTimeout(this.idleTimer)
    if (this.sleeping !== undefined) this.runtime.clock.clearTimeout(this.sleeping.timer)
    if (!this.moving) this.replicator?.dropCopies()
  }

  private payload(state: { value: unknown } | undefined): HandoffPayload {
    const groups = this.worker === undefined ? [] : this.host.registry.groupsOf(this.worker)
    return state === undefined ? { groups } : { state, groups }
  }
}
