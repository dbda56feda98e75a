// The handoff messages between a delegate and its worker, and `Actor`, the base class that turns
// them into methods (`beginHandoff`, `endHandoff`, `resolveConflict`).
import { Actor as BaseActor, type Pid, type Ref } from '@swormjs/actor'
import { kReceive } from '@swormjs/actor/internal'

/** To the worker, when its name is about to move (or it lost a conflict): answer the delegate. */
export interface BeginHandoff {
  type: 'sworm:begin_handoff'
  delegate: Pid
  ref: Ref
}
/** The worker's answer to `sworm:begin_handoff`: the state its next process starts from. */
export interface HandoffState {
  type: 'sworm:handoff_state'
  ref: Ref
  state: unknown
}
/** The worker's answer to `sworm:begin_handoff` when it has nothing to hand over. */
export interface HandoffIgnore {
  type: 'sworm:ignore'
  ref: Ref
}
/** To the worker's next process, before any other message: the state handed over. */
export interface EndHandoff {
  type: 'sworm:end_handoff'
  state: unknown
}
/** To the winner of a name conflict (with handoff on), before the loser stops: the loser's state. */
export interface ResolveConflict {
  type: 'sworm:resolve_conflict'
  state: unknown
}

export type HandoffMessage =
  BeginHandoff | HandoffState | HandoffIgnore | EndHandoff | ResolveConflict

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
  beginHandoff?(): unknown
  endHandoff?(state: never): void | Promise<void>
  resolveConflict?(state: never): void | Promise<void>

  /** @internal */
  override [kReceive](msg: unknown): unknown {
    if (!isHandoffMessage(msg)) return super[kReceive](msg)
    switch (msg.type) {
      case 'sworm:begin_handoff':
        if (this.beginHandoff !== undefined) {
          const answer = (state: unknown): void =>
            this.send(
              msg.delegate,
              state === undefined
                ? { type: 'sworm:ignore', ref: msg.ref }
                : { type: 'sworm:handoff_state', ref: msg.ref, state },
            )
          const state = this.beginHandoff()
          if (state instanceof Promise) return state.then(answer)
          answer(state)
          return undefined
        }
        if (this.handleInfo !== undefined) return this.handleInfo(msg)
        this.send(msg.delegate, { type: 'sworm:ignore', ref: msg.ref })
        return undefined
      case 'sworm:end_handoff':
        if (this.endHandoff !== undefined) return this.endHandoff(msg.state as never)
        break
      case 'sworm:resolve_conflict':
        if (this.resolveConflict !== undefined) return this.resolveConflict(msg.state as never)
        break
      case 'sworm:handoff_state':
      case 'sworm:ignore':
        break
    }
    return super[kReceive](msg)
  }
}
