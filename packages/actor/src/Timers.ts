// The timers of `sendAfter`: each delivers one message later on the runtime's clock, and the
// exit of its owner process cancels it.
import type { Clock, TimerHandle } from './clock.js'
import type { Logger } from './logger.js'
import type { Pid, Ref } from './Pid.js'
import type { Proc } from './Process.js'

/** What the timers need from their runtime. */
export interface TimersHost {
  readonly clock: Clock
  readonly logger: Logger
  makeRef(): Ref
  send(to: Pid, msg: unknown): void
}

/** The runtime's pending `sendAfter` timers, by ref. */
export class Timers {
  private readonly host: TimersHost
  private readonly timers = new Map<Ref, { handle: TimerHandle; owner: Proc | undefined }>()

  constructor(host: TimersHost) {
    this.host = host
  }

  /** Delivers `msg` to `to` after `ms`. `owner`'s exit cancels it. */
  sendAfter(to: Pid, msg: unknown, ms: number, owner?: Proc): Ref {
    const ref = this.host.makeRef()
    const handle = this.host.clock.setTimeout(() => {
      const t = this.timers.get(ref)
      if (t === undefined) return
      this.timers.delete(ref)
      t.owner?.timers?.delete(ref)
      try {
        this.host.send(to, msg)
      } catch (e) {
        this.host.logger.warn({ err: e, to }, 'timer message could not be sent')
      }
    }, ms)
    this.timers.set(ref, { handle, owner })
    if (owner !== undefined) (owner.timers ??= new Map()).set(ref, handle)
    return ref
  }

  /** Cancels a timer; true if it had not fired. */
  cancel(ref: Ref): boolean {
    const t = this.timers.get(ref)
    if (t === undefined) return false
    this.timers.delete(ref)
    t.owner?.timers?.delete(ref)
    this.host.clock.clearTimeout(t.handle)
    return true
  }

  /** Cancels every timer `proc` owns (it is ending). */
  cancelOwned(proc: Proc): void {
    if (proc.timers !== undefined) {
      for (const ref of proc.timers.keys()) this.cancel(ref)
    }
  }

  /** Cancels every timer (the runtime shuts down). */
  cancelAll(): void {
    for (const ref of [...this.timers.keys()]) this.cancel(ref)
  }
}
