// The handoff messages between a delegate and its worker, and `Actor`, the base class that turns
// them into methods (`beginHandoff`, `endHandoff`, `resolveConflict`).
import { Actor as BaseActor, isExitMessage, type Pid, type Ref } from '@swormjs/actor'
import { flushedFor, isFlushMarker } from './moves/Barriers.js'
import { kReceive } from '@swormjs/actor/internal'

/** To the worker, when its name is about to move (or it lost a conflict): answer the delegate. */
export interface BeginHandoff {
  /** Always `'sworm:begin_handoff'`. */
  type: 'sworm:begin_handoff'
  /**
   * The name moves (or lost a conflict): once it has answered, the worker passes everything
   * that still comes to it on to its delegate, which holds it for the name's next process.
   * Absent when the state is only copied (`replicas`) and the worker carries on.
   */
  final?: boolean
  /** Where to send the answer (`HandoffState` or `HandoffIgnore`). */
  delegate: Pid
  /** The ref the answer must carry. */
  ref: Ref
}
/** The worker's answer to `sworm:begin_handoff`: the state its next process starts from. */
export interface HandoffState {
  /** Always `'sworm:handoff_state'`. */
  type: 'sworm:handoff_state'
  /** The `ref` of the `BeginHandoff` it answers. */
  ref: Ref
  /** The state to hand over; it must be serializable. */
  state: unknown
}
/** The worker's answer to `sworm:begin_handoff` when it has nothing to hand over. */
export interface HandoffIgnore {
  /** Always `'sworm:ignore'`. */
  type: 'sworm:ignore'
  /** The `ref` of the `BeginHandoff` it answers. */
  ref: Ref
}
/** To the worker's next process, before any other message: the state handed over. */
export interface EndHandoff {
  /** Always `'sworm:end_handoff'`. */
  type: 'sworm:end_handoff'
  /** The state the previous process handed over. */
  state: unknown
}
/** To the winner of a name conflict (with handoff on), before the loser stops: the loser's state. */
export interface ResolveConflict {
  /** Always `'sworm:resolve_conflict'`. */
  type: 'sworm:resolve_conflict'
  /** The loser's state, to merge into the winner's. */
  state: unknown
}

/** Any of the `sworm:*` messages of the handoff protocol. */
/**
 * From a worker to its delegate (`Actor.passivate()`): stop me until the next message to my
 * name. `worker` is the sender, so that a late request from a former worker does nothing.
 */
export interface Passivate {
  /** The message's kind. */
  type: 'sworm:passivate'
  /** The worker that asks to sleep. */
  worker: Pid
}

/** Every `sworm:*` message between a delegate and its worker. */
export type HandoffMessage =
  BeginHandoff | HandoffState | HandoffIgnore | EndHandoff | ResolveConflict | Passivate

/** True for a message of the handoff protocol (an object whose `type` starts with `sworm:`). */
export function isHandoffMessage(m: unknown): m is HandoffMessage {
  if (typeof m !== 'object' || m === null) return false
  const t = (m as { type?: unknown }).type
  return typeof t === 'string' && t.startsWith('sworm:')
}

/**
 * The base class of sworm workers: `Actor` from `@swormjs/actor`, plus the handoff protocol as
 * methods. Implement what you need; a worker may instead handle the `sworm:*` messages in
 * `handleInfo` (any actor class can, this one is not required).
 * - `beginHandoff()`: the state to hand over (or a promise of it); `undefined` hands over nothing.
 * - `endHandoff(state)`: the first message of the process that takes over a moved name.
 * - `resolveConflict(state)`: the state of the loser of a name conflict, for the winner to merge.
 * Without `beginHandoff` and `handleInfo`, a worker answers `sworm:ignore` at once.
 * @example
 * class Counter extends Actor<number> {
 *   n = 0
 *   override init(start: number) { this.n = start }
 *   override handleCall() { return ++this.n }
 *   override beginHandoff() { return this.n }
 *   override endHandoff(n: number) { this.n = n }
 * }
 */
export abstract class Actor<Args = void> extends BaseActor<Args> {
  /**
   * The version of the state `beginHandoff` gives, for a rolling upgrade that changes its shape.
   * Set, the state travels with it (through moves, copies, disk and merges), and a worker whose
   * class has another version gets it through `migrateState` first. Unset: states travel bare.
   */
  static stateVersion?: number
  /**
   * Turns a state of version `fromVersion` (0: from a class without `stateVersion`) into this
   * class's `stateVersion`, before `endHandoff` or `resolveConflict` gets it. A state from a
   * newer version (a rollback) comes here too: return what this version can use, or throw to
   * start the worker without it (logged). Without it, a state of another version is passed
   * on as it came.
   * @example
   * static override stateVersion = 2
   * static override migrateState(s: unknown, from: number) { return from < 2 ? { n: s as number, seen: [] } : s }
   */
  static migrateState?(state: unknown, fromVersion: number): unknown

  /**
   * Asks to be stopped until the next message to this worker's name (Akka's passivate): its
   * delegate takes its state (`beginHandoff`, after every message already sent to it) and stops
   * it; the next message starts a new worker from that state (`endHandoff`), then is delivered.
   * Messages sent meanwhile wait, in order. With `handoff` off the name is released instead.
   * Does nothing for a process that is not a sworm's worker.
   * @example
   * override handleCast(msg: 'bye') { if (msg === 'bye') this.passivate() }
   */
  passivate(): void {
    const delegate = this.proc.parent
    if (delegate !== undefined) this.send(delegate, { type: 'sworm:passivate', worker: this.self })
  }

  /**
   * Asked when the name is about to move (or lost a conflict): return the state to hand over, or
   * a promise of it; `undefined` hands over nothing. With `replicas` or `persist` it is also
   * asked after messages to copy the state, so it must only read.
   */
  beginHandoff?(): unknown
  /**
   * The first message of the process that takes over a moved name: the state its predecessor
   * handed over. Without it, the message goes to `handleInfo`.
   */
  endHandoff?(state: never): void | Promise<void>
  /**
   * The winner of a name conflict gets the loser's state here (with handoff on), to merge into
   * its own. Without it, the message goes to `handleInfo`.
   */
  resolveConflict?(state: never): void | Promise<void>

  /** Set once this worker handed its state over for a move: its delegate, which takes the rest. */
  #handedTo: Pid | undefined;

  /** @internal */
  override [kReceive](msg: unknown): unknown {
    if (isFlushMarker(msg)) {
      // A barrier's marker that reached a former worker's pid (see `Barriers`): behind what was
      // sent to it before, to the delegate that took the rest; a worker that never handed over
      // has had all of it, and answers.
      if (this.#handedTo !== undefined) this.send(this.#handedTo, msg)
      else this.send(msg.to, flushedFor(msg))
      return undefined
    }
    if (!isHandoffMessage(msg)) {
      // Handed over: what still comes (sent to this pid, or published to its groups) goes to
      // the delegate, to be held for the next process, in order, not lost with this one.
      if (this.#handedTo !== undefined && !isExitMessage(msg)) {
        this.send(this.#handedTo, msg)
        return undefined
      }
      const out = super[kReceive](msg)
      if (replicatedWorkers.size > 0) replicatedWorkers.get(this.self)?.()
      return out
    }
    switch (msg.type) {
      case 'sworm:begin_handoff': {
        const answer = (state: unknown): void => {
          this.send(
            msg.delegate,
            state === undefined
              ? { type: 'sworm:ignore', ref: msg.ref }
              : { type: 'sworm:handoff_state', ref: msg.ref, state: versioned(this, state) },
          )
          if (msg.final === true) this.#handedTo = msg.delegate
        }
        if (this.beginHandoff !== undefined) {
          const state = this.beginHandoff()
          if (state instanceof Promise) return state.then(answer)
          answer(state)
          return undefined
        }
        if (this.handleInfo !== undefined) return this.handleInfo(msg)
        answer(undefined)
        return undefined
      }
      case 'sworm:end_handoff':
        if (this.endHandoff !== undefined) {
          const taken = current(this, msg.state)
          return taken === NOT_TAKEN ? undefined : this.endHandoff(taken as never)
        }
        break
      case 'sworm:resolve_conflict':
        if (this.resolveConflict !== undefined) {
          const taken = current(this, msg.state)
          return taken === NOT_TAKEN ? undefined : this.resolveConflict(taken as never)
        }
        break
      case 'sworm:handoff_state':
      case 'sworm:ignore':
      case 'sworm:passivate':
        break
    }
    return super[kReceive](msg)
  }
}

/**
 * The replicated workers of this process (`replicas`, `persist`), by pid: what each handles is
 * told to its replicator, so that a message that did not pass its delegate (sent to its pid,
 * published to its group) has its effect copied too.
 */
export const replicatedWorkers = new Map<Pid, () => void>()

/** `stateNow` could not read the state at once: ask the worker with `sworm:begin_handoff`. */
export const ASK_WORKER = Symbol('ask the worker')

/**
 * The state an idle worker (`Runtime.idleActor`) would answer to `sworm:begin_handoff` if it
 * were asked now, read directly: `{ value }`, `undefined` when it keeps none, or `ASK_WORKER`
 * when only the message can tell (a worker that answers in `handleInfo`, a `beginHandoff` that
 * returns a promise or throws: the message makes the worker's own turn see it).
 */
export function stateNow(actor: object): { value: unknown } | undefined | typeof ASK_WORKER {
  if (!(actor instanceof Actor)) return ASK_WORKER
  const worker = actor as Actor<never>
  if (worker.beginHandoff === undefined) {
    return worker.handleInfo === undefined ? undefined : ASK_WORKER
  }
  let state: unknown
  try {
    state = worker.beginHandoff()
  } catch {
    return ASK_WORKER
  }
  if (state instanceof Promise) {
    state.catch(() => undefined)
    return ASK_WORKER
  }
  return state === undefined ? undefined : { value: versioned(worker, state) }
}

/** A state as it travels when its worker class declares a `stateVersion`. */
interface VersionedState {
  $stateVersion: number
  state: unknown
}

function isVersioned(u: unknown): u is VersionedState {
  return (
    typeof u === 'object' &&
    u !== null &&
    typeof (u as { $stateVersion?: unknown }).$stateVersion === 'number' &&
    'state' in u
  )
}

/** The class statics of a worker. */
function classOf(worker: Actor<never>): typeof Actor {
  return worker.constructor as typeof Actor
}

/** `state` as it leaves a worker: with its class's version, when it declares one. */
function versioned(worker: Actor<never>, state: unknown): unknown {
  const v = classOf(worker).stateVersion
  return v === undefined ? state : ({ $stateVersion: v, state } satisfies VersionedState)
}

/** What `current` gives when a migration threw: the worker goes on without the state. */
const NOT_TAKEN = Symbol('not taken')

/**
 * A state that came in, as this worker's class takes it: unwrapped, and migrated when it was
 * given by another version (`NOT_TAKEN`, logged, when the migration threw).
 */
function current(worker: Actor<never>, incoming: unknown): unknown {
  const cls = classOf(worker)
  const from = isVersioned(incoming) ? incoming.$stateVersion : 0
  const state = isVersioned(incoming) ? incoming.state : incoming
  const to = cls.stateVersion ?? 0
  if (from === to || cls.migrateState === undefined) return state
  try {
    return cls.migrateState(state, from)
  } catch (e) {
    worker.runtime.logger.error(
      { worker: worker.self, from, to, err: e },
      'migrateState threw: the worker goes on without the state it was handed',
    )
    return NOT_TAKEN
  }
}
