// Actors: the GenServer of this runtime, in plain TypeScript. State lives in fields, a call's
// reply is the handler's return value, and the mailbox is handled one message at a time.
import type { ExitReason } from './exitReason.js'
import {
  isCallEnvelope,
  isCastEnvelope,
  isExitMessage,
  kInit,
  kReceive,
  kTerminate,
  ProcessContext,
  type Behavior,
  type From,
  type StartInfo,
} from './Process.js'

/** Return it from `handleCall` to reply later with `this.reply(from, value)`. */
export const NoReply: unique symbol = Symbol('sworm.noReply')
export type NoReply = typeof NoReply

/**
 * Base class of actors. Override what you need:
 * - `init(args, start)`: runs before the first message; throwing fails the start. `start.handoff`
 *   is the state a predecessor handed over, when the process was started with one.
 * - `handleCall(msg, from)`: its return value (or resolved value) is the reply.
 * - `handleCast(msg)`, `handleInfo(msg)`: no reply. Plain `send`s, `DOWN`s and trapped `EXIT`s
 *   arrive in `handleInfo`.
 * - `terminate(reason)`: runs when the actor stops for any reason but `killed`.
 *
 * Handlers may be async; the next message waits until the current one is done. A handler that
 * throws (or rejects) ends the actor with that error as its exit reason.
 * @example
 * class Counter extends Actor<number> {
 *   n = 0
 *   override init(start: number) { this.n = start }
 *   override handleCall(msg: 'get' | 'inc') { return msg === 'inc' ? ++this.n : this.n }
 * }
 */
export abstract class Actor<Args = void> extends ProcessContext implements Behavior {
  /** What it returns (or resolves to) is the start's info: see `Runtime.startWithInfo`. */
  init?(args: Args, start: StartInfo): unknown
  /**
   * Handles a `call`. What it returns (or resolves to) is the reply; a throw (or rejection) ends
   * the actor and the caller's promise rejects with `Exited`. Return `NoReply` to reply later
   * with `this.reply(from, value)`. An actor that gets a call and has no `handleCall` crashes.
   * @example
   * class Store extends Actor {
   *   data = new Map<string, string>()
   *   override handleCall(msg: { get: string }) {
   *     return this.data.get(msg.get)
   *   }
   * }
   * const value = await rt.call(pid, { get: 'a' })
   */
  handleCall?(msg: unknown, from: From): unknown
  /**
   * Handles a `cast`: no reply, the sender does not wait. A throw (or rejection) ends the actor.
   * @example
   * class Log extends Actor {
   *   lines: string[] = []
   *   override handleCast(msg: string) {
   *     this.lines.push(msg)
   *   }
   * }
   * rt.cast(pid, 'started')
   */
  handleCast?(msg: unknown): void | Promise<void>
  /**
   * Handles every other message: plain `send`s, `DownMessage`s of monitors, and `ExitMessage`s
   * when `trapExit` is on. Without it such messages are dropped (logged at `debug`).
   */
  handleInfo?(msg: unknown): void | Promise<void>
  /**
   * Runs once when the actor stops, with the exit reason: for every reason but `killed`, and not
   * after a failed `init`. The process counts as alive until it returns or resolves; a stop's
   * timeout (`shutdownMs`) kills it if it takes longer.
   */
  terminate?(reason: ExitReason): void | Promise<void>

  /** @internal */
  [kInit](args: unknown, start: StartInfo): unknown {
    return this.init?.(args as Args, start)
  }

  /** @internal */
  [kReceive](msg: unknown): unknown {
    if (isCallEnvelope(msg)) {
      const from: From =
        msg.from === undefined ? { ref: msg.$call } : { ref: msg.$call, pid: msg.from }
      if (this.handleCall === undefined) {
        throw new Error(`${this.constructor.name} received a call but has no handleCall`)
      }
      const result = this.handleCall(msg.msg, from)
      if (result instanceof Promise) {
        return result.then((value) => {
          if (value !== NoReply) this.reply(from, value)
        })
      }
      if (result !== NoReply) this.reply(from, result)
      return undefined
    }
    if (isCastEnvelope(msg)) return this.handleCast?.(msg.$cast)
    if (isExitMessage(msg) && msg.from === this.proc.parent && msg.reason !== 'normal') {
      // OTP's rule: a trapping actor whose parent exits stops with the same reason.
      this.stop(msg.reason)
      return undefined
    }
    if (this.handleInfo !== undefined) return this.handleInfo(msg)
    this.runtime.logger.debug({ pid: this.self, msg: String(msg) }, 'unhandled message dropped')
    return undefined
  }

  /** @internal */
  [kTerminate](reason: ExitReason): unknown {
    return this.terminate?.(reason)
  }
}
