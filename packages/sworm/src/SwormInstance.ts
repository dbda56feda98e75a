// A sworm on one node: its registry (names and groups) and its distributed supervisor (one
// delegate per name), both named after the sworm. Every static of a `Sworm` class is a method
// here, bound to the node the call runs in.
import {
  AlreadyRegistered,
  BadArgument,
  CallTimeout,
  Emitter,
  InitFailed,
  NotFound,
  type ActorClassLike,
  type CallOptions,
  type NodeId,
  type Pid,
  type TimerHandle,
} from '@sworm/actor'
import { assertSerializable, type Node } from '@sworm/cluster'
import {
  Registry,
  decodeName,
  describeName,
  encodeName,
  type MultiCallResult,
  type Name,
} from '@sworm/registry'
import { observerOf } from '@sworm/observe'
import { AlreadyStarted, DistributedSupervisor, type Started } from '@sworm/supervisor'
import type { ResolvedSwormOptions } from './config.js'
import {
  Delegate,
  INSTANCES,
  PrepareMove,
  type DelegateArgs,
  type HandoffPayload,
  type InstanceLookup,
} from './Delegate.js'
import { Router, type HoldRequest } from './Router.js'

/** The actor types a sworm's workers may have, by stable name (the same on every node). */
export type ActorTypes = Record<string, ActorClassLike<never>>

export interface SwormEvents extends Record<string, unknown[]> {
  /** A name's worker handed its state over (`withState`) or moved without one, from this node. */
  handoff: [name: Name, withState: boolean]
  /** A worker of this node lost a name conflict; `merged` when its state went to the winner. */
  conflict: [name: Name, loser: Pid, winner: Pid, merged: boolean]
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

/** Hold requests carry at most this many names each. */
const HOLD_BATCH = 2000

export class SwormInstance {
  readonly name: string
  readonly node: Node
  readonly options: ResolvedSwormOptions
  readonly registry: Registry
  readonly supervisor: DistributedSupervisor
  private readonly actors: ActorTypes
  private readonly typeNames = new Map<unknown, string>()
  private readonly events: Emitter<SwormEvents>
  /** Names moving away from their node, by key: what is sent to them waits here. */
  private readonly holds = new Map<string, Hold>()
  private fenceBatch: Array<[string, Pid]> | undefined
  private fenceDone: Promise<void> | undefined
  private readonly unsubscribe: () => void
  private readonly router: Pid

  private constructor(
    name: string,
    node: Node,
    options: ResolvedSwormOptions,
    actors: ActorTypes,
    registry: Registry,
    supervisor: DistributedSupervisor,
    router: Pid,
  ) {
    this.name = name
    this.router = router
    this.node = node
    this.options = options
    this.actors = actors
    this.registry = registry
    this.supervisor = supervisor
    this.events = new Emitter<SwormEvents>((e, ev) =>
      node.logger.error({ err: e, event: ev, sworm: name }, 'sworm listener threw'),
    )
    for (const [typeName, cls] of Object.entries(actors)) this.typeNames.set(cls, typeName)
    this.unsubscribe = registry.on('register', (n, pid, meta) => this.onRegister(n, pid, meta))
  }

  /** Starts sworm `name` on `node`: its registry and supervisor, under the sworm's name. */
  static async start(
    node: Node,
    name: string,
    actors: ActorTypes,
    options: ResolvedSwormOptions,
  ): Promise<SwormInstance> {
    const services = node.runtime.services
    let instances = swormsOf(node)
    if (instances === undefined) {
      const map = new Map<string, SwormInstance>()
      instances = map
      services.set(SWORMS, map)
      const lookup: InstanceLookup = (sworm) => map.get(sworm)
      services.set(INSTANCES, lookup)
    }
    if (instances.has(name)) throw new BadArgument(`sworm ${name} already runs on this node`)
    // The instance's hooks are needed before it exists (the registry and supervisor take them
    // at start): they reach it through this box.
    const box: { inst?: SwormInstance } = {}
    const router = await node.runtime.start(Router, {
      hold: (key, delegate) => box.inst?.hold(key, delegate),
    })
    const registry = await Registry.start(node, `sworm.${name}`, {
      info: { router },
      beforeConflictExit: (n, loser, winner, meta) =>
        box.inst?.mergeConflict(n, loser, winner, meta) ?? Promise.resolve(),
      ...defined(options, ['compactMinDead', 'forgetAfterMs', 'callTimeoutMs']),
    })
    const supervisor = await DistributedSupervisor.start(node, `sworm.${name}`, {
      actors: { Delegate },
      distribution: options.distribution,
      redistribution: options.redistribution,
      // The registry's verdict decides between two copies of a name, not the start clocks.
      duplicates: 'keep',
      // The hold round and the worker's answer both fit in the supervisor's bound.
      handoffTimeoutMs: options.handoffTimeoutMs + holdTimeoutMs(options) + 1000,
      hooks: {
        beforeMove: (id, delegate) =>
          box.inst?.prepareMove(id, delegate) ?? Promise.resolve(undefined),
      },
      ...defined(options, [
        'maxRestarts',
        'maxSeconds',
        'maxChildren',
        'shutdownMs',
        'callTimeoutMs',
        'quorumAdoptDelayMs',
        'quorumSize',
        'compactMinDead',
        'forgetAfterMs',
      ]),
    })
    const inst = new SwormInstance(name, node, options, actors, registry, supervisor, router)
    box.inst = inst
    const observer = observerOf(node)
    if (observer !== undefined) {
      // Conflicts are counted from the registry; a merge is worth a line in the recent events.
      inst.on('handoff', (n, withState) =>
        observer.note({
          kind: 'handoff',
          sworm: name,
          name: describeName(n),
          detail: withState ? 'with state' : 'without state',
        }),
      )
      inst.on('conflict', (n, _loser, _winner, merged) => {
        if (merged) {
          observer.note({
            kind: 'merge',
            sworm: name,
            name: describeName(n),
            detail: "the loser's state went to the winner",
          })
        }
      })
    }
    instances.set(name, inst)
    return inst
  }

  /** Every sworm instance running on `node`. */
  static all(node: Node): SwormInstance[] {
    return [...(swormsOf(node)?.values() ?? [])]
  }

  /** The instance of sworm `name` on `node`, if it runs there. */
  static of(node: Node, name: string): SwormInstance | undefined {
    return swormsOf(node)?.get(name)
  }

  /** The actor class registered under `typeName`. */
  actorType(typeName: string): ActorClassLike<never> | undefined {
    return this.actors[typeName]
  }

  // ------------------------------------------------------------------ names

  /**
   * Starts a worker of `Type` under `name` on the node the name hashes to and resolves with its
   * pid; with a pid instead of a type, registers that running process (not moved, not
   * restarted). Rejects with `AlreadyRegistered` (carrying the holder) when the name is taken.
   */
  async registerName(
    name: Name,
    typeOrPid: ActorClassLike<never> | Pid,
    args?: unknown,
  ): Promise<Pid> {
    if (typeof typeOrPid === 'string') {
      await this.registry.register(name, typeOrPid)
      return typeOrPid
    }
    const typeName = this.typeNames.get(typeOrPid)
    if (typeName === undefined) {
      throw new BadArgument(
        `${typeOrPid.name} is not one of sworm ${this.name}'s actors: add it to its static actors`,
      )
    }
    const holder = this.registry.whereis(name)
    if (holder !== undefined) throw new AlreadyRegistered(describeName(name), holder)
    const key = encodeName(name)
    const delegateArgs: DelegateArgs = { sworm: this.name, key, type: typeName, args }
    let started: Started
    try {
      started = await this.supervisor.startChildWithInfo({
        id: key,
        type: 'Delegate',
        args: delegateArgs,
        restart: this.options.restart,
      })
    } catch (e) {
      throw await this.registrationError(name, e)
    }
    // The delegate's init returns the worker it started and registered: the start chain's answer.
    // Its reply travelled behind the registration, so a worker that is gone already shows here.
    const pid = started.info as Pid
    if (this.registry.whereis(name) !== pid) {
      throw new NotFound(`${describeName(name)} (its worker ended at once)`)
    }
    return pid
  }

  private async registrationError(name: Name, e: unknown): Promise<unknown> {
    if (AlreadyStarted.is(e) || AlreadyRegistered.is(e)) {
      // The holder is the worker: a delegate that is still starting registers it in a moment.
      const holder =
        this.registry.whereis(name) ??
        (await this.nextRegistration(name)) ??
        ((e as unknown as { pid?: string }).pid as Pid)
      return new AlreadyRegistered(describeName(name), holder)
    }
    // The worker's own init failure reaches the caller as that: the delegate's InitFailed wraps it.
    if (InitFailed.is(e)) {
      const inner = (e as { cause?: unknown }).cause
      if (InitFailed.is(inner) || AlreadyRegistered.is(inner))
        return this.registrationError(name, inner)
      return inner instanceof Error ? inner : e
    }
    return e
  }

  /** The pid `name` is registered with next on this node, within `callTimeoutMs`. */
  private nextRegistration(name: Name): Promise<Pid | undefined> {
    const key = encodeName(name)
    return new Promise((resolve) => {
      const timer = this.node.clock.setTimeout(() => {
        off()
        resolve(undefined)
      }, callTimeoutOf(this.options))
      const off = this.registry.on('register', (n, pid) => {
        if (encodeName(n) !== key) return
        this.node.clock.clearTimeout(timer)
        off()
        resolve(pid)
      })
    })
  }

  /** The pid under `name`, or starts one: never two. */
  async whereisOrRegisterName(
    name: Name,
    Type: ActorClassLike<never>,
    args?: unknown,
  ): Promise<Pid> {
    const pid = this.registry.whereis(name)
    if (pid !== undefined) return pid
    try {
      return await this.registerName(name, Type, args)
    } catch (e) {
      if (AlreadyRegistered.is(e)) return e.pid as Pid
      throw e
    }
  }

  /** Stops the worker under `name` (or removes a plain registration); `NotFound` when absent. */
  async unregisterName(name: Name): Promise<void> {
    const entry = this.registry.resolve(name)
    if (entry === undefined) throw new NotFound(describeName(name))
    if (delegateOf(entry.meta) !== undefined) {
      await this.supervisor.terminateChild(encodeName(name))
      return
    }
    await this.registry.unregister(name)
  }

  whereis(name: Name): Pid | undefined {
    return this.registry.whereis(name)
  }

  registered(): Array<[Name, Pid]> {
    return this.registry.registered()
  }

  /** The sworm's directory: the live nodes that run it and take names now, sorted by id. */
  nodes(): NodeId[] {
    return this.supervisor.members()
  }

  /**
   * Where a message to `name` goes: its delegate (which passes it to the worker), or the process
   * itself for a plain registration.
   */
  private target(name: Name): Pid {
    const entry = this.registry.resolve(name)
    if (entry === undefined) throw new NotFound(`no process is registered as ${describeName(name)}`)
    return delegateOf(entry.meta) ?? entry.pid
  }

  /**
   * Sends to the process under `name`; a name nobody holds is a `NotFound` error, not a silent
   * drop. While the name moves, the message waits and goes to the name's next process, in order.
   */
  send(name: Name, msg: unknown): void {
    if (this.holds.size > 0) {
      const hold = this.holds.get(encodeName(name))
      if (hold !== undefined) {
        // It will likely cross the wire: refuse what cannot, now, as a direct send would.
        assertSerializable(msg)
        hold.queue.push({ raw: msg })
        return
      }
    }
    this.node.runtime.send(this.target(name), msg)
  }

  /** Calls the process under `name`; during a move, the call is answered by the name's next process. */
  call<R = unknown>(name: Name, msg: unknown, options?: CallOptions): Promise<R> {
    if (this.holds.size > 0) {
      const hold = this.holds.get(encodeName(name))
      if (hold !== undefined) return this.holdCall<R>(hold, name, msg, options)
    }
    try {
      return this.node.runtime.call<R>(this.target(name), msg, options)
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)))
    }
  }

  cast(name: Name, msg: unknown): void {
    this.send(name, { $cast: msg })
  }

  private holdCall<R>(
    hold: Hold,
    name: Name,
    msg: unknown,
    options: CallOptions | undefined,
  ): Promise<R> {
    const clock = this.node.clock
    const timeoutMs = options?.timeoutMs ?? 5000
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

  // ------------------------------------------------------------------ moves

  /**
   * Holds `key`: what this node sends to it waits until another delegate registers it. A hold
   * that no registration ends (the move failed) lets go after `holdTimeoutMs`: its messages
   * are dropped, its calls fail with their timeout.
   */
  hold(key: string, delegate: Pid): void {
    this.holdEntry(key, delegate)
  }

  private holdEntry(key: string, delegate: Pid): Hold {
    let hold = this.holds.get(key)
    if (hold !== undefined) return hold
    const created: Hold = {
      delegate,
      queue: [],
      timer: this.node.clock.setTimeout(() => {
        if (this.holds.get(key) !== created) return
        this.holds.delete(key)
        if (created.queue.length > 0) {
          this.node.logger.warn(
            { sworm: this.name, name: key.slice(1), held: created.queue.length },
            'a moving name did not resolve again in time; what was sent to it is dropped',
          )
        }
      }, this.holdMs()),
    }
    hold = created
    this.holds.set(key, hold)
    return hold
  }

  /** A message that reached a delegate after its name was held goes back to wait with the rest. */
  holdLate(key: string, delegate: Pid, raw: unknown): void {
    if (!this.holds.has(key)) {
      // The name may already resolve to its next delegate: then the message goes there at once.
      const entry = this.registry.resolve(decodeName(key))
      const next = entry === undefined ? undefined : (delegateOf(entry.meta) ?? entry.pid)
      if (next !== undefined && next !== delegate) {
        this.deliver(next, raw)
        return
      }
    }
    this.holdEntry(key, delegate).queue.push({ raw })
  }

  /** Sends a held message on; one that fails (say, cannot be encoded) is logged, not thrown. */
  private deliver(to: Pid, raw: unknown): void {
    try {
      this.node.runtime.send(to, raw)
    } catch (err) {
      this.node.logger.warn(
        { sworm: this.name, to, err },
        'a message held during a move could not be delivered',
      )
    }
  }

  private holdMs(): number {
    return (
      this.options.handoffTimeoutMs + holdTimeoutMs(this.options) + callTimeoutOf(this.options) * 2
    )
  }

  private onRegister(name: Name, pid: Pid, meta: unknown): void {
    if (this.holds.size === 0) return
    const key = encodeName(name)
    const hold = this.holds.get(key)
    if (hold === undefined) return
    const delegate = delegateOf(meta)
    if (delegate === hold.delegate) return
    this.holds.delete(key)
    this.node.clock.clearTimeout(hold.timer)
    const to = delegate ?? pid
    const rt = this.node.runtime
    const now = this.node.clock.now()
    for (const held of hold.queue) {
      if ('raw' in held) {
        this.deliver(to, held.raw)
        continue
      }
      this.node.clock.clearTimeout(held.timer)
      const timeoutMs = Math.max(1, held.deadline - now)
      rt.call(to, held.call, { ...held.options, timeoutMs }).then(held.resolve, held.reject)
    }
  }

  /**
   * Before a name moves away from this node: hold it on every node (so that nothing more is
   * sent to its delegate), then ask the worker for its state, which follows everything sent
   * before the hold. The supervisor hands the payload to the name's next node.
   */
  async prepareMove(key: string, delegate: Pid): Promise<HandoffPayload | undefined> {
    await this.fence(key, delegate)
    let payload: HandoffPayload
    try {
      payload = await this.askDelegate(delegate, this.options.handoff)
    } catch (e) {
      this.node.logger.warn(
        { sworm: this.name, name: key.slice(1), err: e },
        'the delegate did not prepare the move; the name moves without state',
      )
      return undefined
    }
    if (payload.state !== undefined) {
      try {
        assertSerializable(payload.state.value)
      } catch (e) {
        this.node.logger.error(
          { sworm: this.name, name: key.slice(1), err: e },
          'the handed-over state cannot cross the wire; the name moves without it',
        )
        payload = { groups: payload.groups }
      }
    }
    this.events.emit('handoff', decodeName(key), payload.state !== undefined)
    return payload
  }

  /**
   * Asks a delegate of this node to stop passing messages on and (`withState`) to get its
   * worker's state; its own bound on the worker's answer, `handoffTimeoutMs`, comes first.
   */
  private askDelegate(delegate: Pid, withState: boolean): Promise<HandoffPayload> {
    return this.node.runtime.call<HandoffPayload>(delegate, new PrepareMove(withState), {
      timeoutMs: this.options.handoffTimeoutMs + 1000,
    })
  }

  /**
   * Holds `key` here and asks every other node running this sworm to hold it: their answers
   * come back behind whatever they sent to `delegate` before. Holds asked for in one turn of
   * the event loop (a node leaving moves all its names at once) travel together.
   */
  private fence(key: string, delegate: Pid): Promise<void> {
    this.hold(key, delegate)
    if (this.fenceBatch === undefined || this.fenceDone === undefined) {
      const batch: Array<[string, Pid]> = []
      this.fenceBatch = batch
      this.fenceDone = new Promise<void>((resolve) =>
        setImmediate(() => {
          this.fenceBatch = undefined
          this.fenceDone = undefined
          this.askHolds(batch).then(resolve, resolve)
        }),
      )
    }
    this.fenceBatch.push([key, delegate])
    return this.fenceDone
  }

  private async askHolds(items: Array<[string, Pid]>): Promise<void> {
    const calls: Array<Promise<unknown>> = []
    const timeoutMs = holdTimeoutMs(this.options)
    for (const [node, router] of this.registry.infoOf('router')) {
      if (node === this.node.id || typeof router !== 'string') continue
      // A node that is leaving sends nothing more worth holding (and may not answer).
      if (this.node.nodes().find((n) => n.id === node)?.status !== 'up') continue
      for (let i = 0; i < items.length; i += HOLD_BATCH) {
        const request: HoldRequest = { op: 'hold', items: items.slice(i, i + HOLD_BATCH) }
        calls.push(
          this.node.runtime.call(router as Pid, request, { timeoutMs }).catch((err: unknown) => {
            // A node that cannot answer (down, cut off) is not waited for: what it sends to
            // the moving names may be lost, as with any message to a node that is going.
            this.node.logger.warn(
              { sworm: this.name, peer: node, err },
              'a node did not confirm the hold of moving names',
            )
          }),
        )
      }
    }
    await Promise.all(calls)
  }

  /**
   * A worker of this node lost `name` to `winner`: with handoff on, its state goes to the
   * winner (`sworm:resolve_conflict`) before it stops.
   */
  async mergeConflict(name: Name, loser: Pid, winner: Pid, meta: unknown): Promise<void> {
    const delegate = delegateOf(meta)
    let merged = false
    if (this.options.handoff && delegate !== undefined && this.node.runtime.isAlive(delegate)) {
      const payload = await this.askDelegate(delegate, true)
      if (payload.state !== undefined) {
        assertSerializable(payload.state.value)
        this.node.runtime.send(winner, {
          type: 'sworm:resolve_conflict',
          state: payload.state.value,
        })
        merged = true
      }
    }
    this.events.emit('conflict', name, loser, winner, merged)
  }

  /** Listens to this node's handoffs and lost conflicts. */
  on<K extends keyof SwormEvents>(
    event: K,
    listener: (...args: SwormEvents[K]) => void,
  ): () => void {
    return this.events.on(event, listener)
  }

  // ------------------------------------------------------------------ groups

  join(group: Name, pid: Pid): Promise<void> {
    return this.registry.join(group, pid)
  }

  leave(group: Name, pid: Pid): Promise<void> {
    return this.registry.leave(group, pid)
  }

  members(group: Name): Pid[] {
    return this.registry.members(group)
  }

  publish(group: Name, msg: unknown): number {
    return this.registry.publish(group, msg)
  }

  multiCall(
    group: Name,
    msg: unknown,
    options?: { timeoutMs?: number },
  ): Promise<MultiCallResult[]> {
    return this.registry.multiCall(group, msg, options)
  }

  /**
   * This node stops running the sworm: it leaves the sworm's directory, and its names move to
   * the nodes that still run it (with handoff when it is on), as on a graceful node stop.
   */
  async stop(): Promise<void> {
    await this.supervisor.leaveAndStop()
    this.unsubscribe()
    await this.registry.stop()
    if (this.node.runtime.isAlive(this.router))
      await this.node.runtime.stop(this.router, 'shutdown')
    swormsOf(this.node)?.delete(this.name)
  }
}

const SWORMS = Symbol('sworm.byName')

/** How long a node waits for the others to confirm a hold before it moves names anyway. */
function holdTimeoutMs(options: ResolvedSwormOptions): number {
  return Math.min(callTimeoutOf(options), 5000)
}

/** The sworm's bound on calls to other nodes (the supervisor's and registry's default). */
function callTimeoutOf(options: ResolvedSwormOptions): number {
  return options.callTimeoutMs ?? 5000
}

/** The delegate a name's registration names in its meta; none for a plain registration. */
function delegateOf(meta: unknown): Pid | undefined {
  return (meta as { delegate?: Pid } | undefined)?.delegate
}

/** The sworm instances of `node`, by sworm name, once one has started there. */
function swormsOf(node: Node): Map<string, SwormInstance> | undefined {
  return node.runtime.services.get(SWORMS) as Map<string, SwormInstance> | undefined
}

/** The fields of `o` named in `keys` that are set (so that `exactOptionalPropertyTypes` holds). */
function defined<T extends object, K extends keyof T>(
  o: T,
  keys: readonly K[],
): { [P in K]?: Exclude<T[P], undefined> } {
  const out: { [P in K]?: Exclude<T[P], undefined> } = {}
  for (const k of keys) {
    const v = o[k]
    if (v !== undefined) out[k] = v as Exclude<T[K], undefined>
  }
  return out
}
