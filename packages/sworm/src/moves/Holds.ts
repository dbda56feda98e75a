// The holds of one sworm on one node: the names moving away from their node, by key, and what
// this node sends to them meanwhile, delivered in order to the name's next process once it
// registers. `Router`, the actor other nodes ask to hold names before they move them, lives here.
import {
  Actor,
  CallTimeout,
  actorDefaults,
  type CallOptions,
  type Pid,
  type Runtime,
  type TimerHandle,
} from '@swormjs/actor'
import { assertSerializable } from '@swormjs/cluster'
import { describeName, encodeName, type Name } from '@swormjs/registry'
import { delegateOf } from '../Delegate.js'
import { isFlushed } from './Barriers.js'

/** What the holds need of their sworm instance. */
export interface HoldsHost {
  /** The sworm's name, for logs. */
  readonly sworm: string
  readonly runtime: Runtime
  /** How long a hold lasts when no registration ends it (`holdMs`). */
  readonly holdMs: number
  /** Where this node sends what is sent to the name of `key` now: its delegate, if it resolves. */
  targetNow(key: string): Pid | undefined
}

/** A message sent to a name while the name moves: delivered once it resolves again. */
type Held =
  | { raw: unknown }
  | {
      call: unknown
      options: CallOptions | undefined
      deadline: number
      resolve: (v: unknown) => void
      reject: (e: unknown) => void
      timer: TimerHandle
    }

interface Hold {
  /** The delegate the name is moving away from: a registration by another ends the hold. */
  delegate: Pid
  queue: Held[]
  timer: TimerHandle
}

export class Holds {
  private readonly host: HoldsHost
  /** Names moving away from their node, by key: what is sent to them waits here. */
  private readonly holds = new Map<string, Hold>()

  constructor(host: HoldsHost) {
    this.host = host
  }

  /**
   * Holds `key`: what this node sends to it waits until another delegate registers it. A hold
   * that no registration ends (the move failed) lets go after `holdMs`: its messages are
   * dropped, its calls fail with their timeout.
   */
  hold(key: string, delegate: Pid): void {
    // Where the name resolves here to another delegate (the moving one is a copy that lost, or
    // is losing, a conflict), nothing this node sends to it goes to `delegate`, and no
    // registration would end the hold: its messages would wait `holdMs` for nothing.
    const now = this.host.targetNow(key)
    if (now !== undefined && now !== delegate) return
    this.entry(key, delegate)
  }

  /** True while `name` is held here (it moves away from its node). */
  has(name: Name): boolean {
    return this.holds.size > 0 && this.holds.has(encodeName(name))
  }

  /** Keeps `msg` for `name` if the name is held (true); false when it is not. */
  send(name: Name, msg: unknown): boolean {
    if (this.holds.size === 0) return false
    const hold = this.holds.get(encodeName(name))
    if (hold === undefined) return false
    // It will likely cross the wire: refuse what cannot, now, as a direct send would.
    assertSerializable(msg)
    hold.queue.push({ raw: msg })
    return true
  }

  /** A call to `name` if the name is held, answered by its next process; undefined when it is not. */
  call<R>(name: Name, msg: unknown, options: CallOptions | undefined): Promise<R> | undefined {
    if (this.holds.size === 0) return undefined
    const hold = this.holds.get(encodeName(name))
    if (hold === undefined) return undefined
    const clock = this.host.runtime.clock
    const timeoutMs = options?.timeoutMs ?? actorDefaults.callTimeoutMs
    return new Promise<R>((resolve, reject) => {
      try {
        assertSerializable(msg)
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)))
        return
      }
      const held: Held = {
        call: msg,
        options,
        deadline: clock.now() + timeoutMs,
        resolve: resolve as (v: unknown) => void,
        reject,
        timer: clock.setTimeout(() => {
          const i = hold.queue.indexOf(held)
          if (i >= 0) hold.queue.splice(i, 1)
          reject(new CallTimeout(describeName(name), timeoutMs))
        }, timeoutMs),
      }
      hold.queue.push(held)
    })
  }

  /**
   * A message that reached a delegate after its name was held goes back to wait with the rest;
   * when the name is no longer held and `next` (where the name resolves now) is another
   * delegate, it goes there at once.
   */
  holdLate(key: string, delegate: Pid, raw: unknown): void {
    if (!this.holds.has(key)) {
      const to = this.host.targetNow(key)
      if (to !== undefined && to !== delegate) {
        this.deliver(to, raw)
        return
      }
    }
    this.entry(key, delegate).queue.push({ raw })
  }

  /**
   * `name` was registered (`pid`, `meta`): when another delegate than the one it moved away
   * from took it, its hold ends and what waited goes to the new registration.
   */
  release(name: Name, pid: Pid, meta: unknown): void {
    if (this.holds.size === 0) return
    const key = encodeName(name)
    const hold = this.holds.get(key)
    if (hold === undefined) return
    const delegate = delegateOf(meta)
    if (delegate === hold.delegate) return
    this.holds.delete(key)
    const { runtime } = this.host
    runtime.clock.clearTimeout(hold.timer)
    const to = delegate ?? pid
    const now = runtime.clock.now()
    for (const held of hold.queue) {
      if ('raw' in held) {
        this.deliver(to, held.raw)
        continue
      }
      runtime.clock.clearTimeout(held.timer)
      // A call whose time ran out while held (its timer is late on a busy node) is not sent:
      // it fails as its timer would have, rather than act after its caller was told it failed.
      if (held.deadline <= now) {
        const full = held.options?.timeoutMs ?? actorDefaults.callTimeoutMs
        held.reject(new CallTimeout(describeName(name), full))
        continue
      }
      const timeoutMs = held.deadline - now
      // Settled in the turn the reply arrives, as a direct call is: a call made just after the
      // release and answered in the same frame is never seen before this one.
      runtime.callInto(to, held.call, { ...held.options, timeoutMs }, held.resolve, held.reject)
    }
  }

  private entry(key: string, delegate: Pid): Hold {
    let hold = this.holds.get(key)
    if (hold !== undefined) return hold
    const { runtime, sworm } = this.host
    const created: Hold = {
      delegate,
      queue: [],
      timer: runtime.clock.setTimeout(() => {
        if (this.holds.get(key) !== created) return
        this.holds.delete(key)
        if (created.queue.length > 0) {
          runtime.logger.warn(
            { sworm, name: key.slice(1), held: created.queue.length },
            'a moving name did not resolve again in time; what was sent to it is dropped',
          )
        }
      }, this.host.holdMs),
    }
    hold = created
    this.holds.set(key, hold)
    return hold
  }

  /** Sends a held message on; one that fails (say, cannot be encoded) is logged, not thrown. */
  private deliver(to: Pid, raw: unknown): void {
    try {
      this.host.runtime.send(to, raw)
    } catch (err) {
      this.host.runtime.logger.warn(
        { sworm: this.host.sworm, to, err },
        'a message held during a move could not be delivered',
      )
    }
  }
}

/** A hold request: these names (by key) are moving away from these delegates. */
export interface HoldRequest {
  op: 'hold'
  items: Array<[key: string, delegate: Pid]>
}

/** What the router needs: where to hold a name (`Holds.hold`), and where barriers end. */
export interface RouterHost {
  hold(key: string, delegate: Pid): void
  /** A delegate answered a barrier's marker (see `Barriers`). */
  flushed(key: string, id: number): void
}

/**
 * One per sworm and node, its pid published in the sworm registry's `info`: it takes the holds
 * another node asks for before it moves names away (see `Fence`), and the answers to this
 * node's barriers (see `Barriers`).
 */
export class Router extends Actor<RouterHost> {
  private host!: RouterHost

  override init(host: RouterHost): void {
    this.host = host
  }

  override handleInfo(msg: unknown): void {
    if (isFlushed(msg)) this.host.flushed(msg.key, msg.id)
  }

  override handleCall(msg: unknown): boolean {
    if (!isHoldRequest(msg)) return false
    // The reply travels back on the socket that carried every message this node sent to those
    // delegates before the hold: once it arrives, none of them is still on its way.
    for (const [key, delegate] of msg.items) this.host.hold(key, delegate)
    return true
  }
}

function isHoldRequest(m: unknown): m is HoldRequest {
  if (typeof m !== 'object' || m === null || (m as { op?: unknown }).op !== 'hold') return false
  const items = (m as { items?: unknown }).items
  return (
    Array.isArray(items) &&
    items.every((i) => Array.isArray(i) && typeof i[0] === 'string' && typeof i[1] === 'string')
  )
}
