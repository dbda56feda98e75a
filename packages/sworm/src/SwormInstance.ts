// A sworm on one node: its registry (names and groups) and its distributed supervisor (one
// delegate per name), both named after the sworm. Every static of a `Sworm` class is a method
// here, bound to the node the call runs in.
import {
  AlreadyRegistered,
  BadArgument,
  InitFailed,
  NotFound,
  type ActorClassLike,
  type CallOptions,
  type Pid,
} from '@sworm/actor'
import type { Node } from '@sworm/cluster'
import {
  Registry,
  describeName,
  encodeName,
  type MultiCallResult,
  type Name,
} from '@sworm/registry'
import { AlreadyStarted, DistributedSupervisor } from '@sworm/supervisor'
import type { ResolvedSwormOptions } from './config.js'
import { Delegate, INSTANCES, type DelegateArgs, type InstanceLookup } from './Delegate.js'

/** The actor types a sworm's workers may have, by stable name (the same on every node). */
export type ActorTypes = Record<string, ActorClassLike<never>>

export class SwormInstance {
  readonly name: string
  readonly node: Node
  readonly options: ResolvedSwormOptions
  readonly registry: Registry
  readonly supervisor: DistributedSupervisor
  private readonly actors: ActorTypes
  private readonly typeNames = new Map<unknown, string>()

  private constructor(
    name: string,
    node: Node,
    options: ResolvedSwormOptions,
    actors: ActorTypes,
    registry: Registry,
    supervisor: DistributedSupervisor,
  ) {
    this.name = name
    this.node = node
    this.options = options
    this.actors = actors
    this.registry = registry
    this.supervisor = supervisor
    for (const [typeName, cls] of Object.entries(actors)) this.typeNames.set(cls, typeName)
  }

  /** Starts sworm `name` on `node`: its registry and supervisor, under the sworm's name. */
  static async start(
    node: Node,
    name: string,
    actors: ActorTypes,
    options: ResolvedSwormOptions,
  ): Promise<SwormInstance> {
    const services = node.runtime.services
    let instances = services.get(SWORMS) as Map<string, SwormInstance> | undefined
    if (instances === undefined) {
      const map = new Map<string, SwormInstance>()
      instances = map
      services.set(SWORMS, map)
      const lookup: InstanceLookup = (sworm) => map.get(sworm)
      services.set(INSTANCES, lookup)
    }
    if (instances.has(name)) throw new BadArgument(`sworm ${name} already runs on this node`)
    const registry = await Registry.start(node, `sworm.${name}`, {
      ...(options.compactMinDead !== undefined ? { compactMinDead: options.compactMinDead } : {}),
      ...(options.forgetAfterMs !== undefined ? { forgetAfterMs: options.forgetAfterMs } : {}),
      ...(options.callTimeoutMs !== undefined ? { callTimeoutMs: options.callTimeoutMs } : {}),
    })
    const supervisor = await DistributedSupervisor.start(node, `sworm.${name}`, {
      actors: { Delegate },
      distribution: options.distribution,
      redistribution: options.redistribution,
      handoffTimeoutMs: options.handoffTimeoutMs,
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
    const inst = new SwormInstance(name, node, options, actors, registry, supervisor)
    instances.set(name, inst)
    return inst
  }

  /** The instance of sworm `name` on `node`, if it runs there. */
  static of(node: Node, name: string): SwormInstance | undefined {
    return (node.runtime.services.get(SWORMS) as Map<string, SwormInstance> | undefined)?.get(name)
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
    const delegateArgs: DelegateArgs = { sworm: this.name, name, type: typeName, args }
    try {
      await this.supervisor.startChild({
        id: encodeName(name),
        type: 'Delegate',
        args: delegateArgs,
        restart: this.options.restart,
      })
    } catch (e) {
      throw this.registrationError(name, e)
    }
    const pid = this.registry.whereis(name)
    if (pid === undefined) throw new NotFound(`${describeName(name)} (its worker ended at once)`)
    return pid
  }

  private registrationError(name: Name, e: unknown): unknown {
    if (AlreadyStarted.is(e) || AlreadyRegistered.is(e)) {
      const holder = this.registry.whereis(name) ?? ((e as unknown as { pid?: string }).pid as Pid)
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
    const pid = this.registry.whereis(name)
    if (pid === undefined) throw new NotFound(describeName(name))
    const meta = this.registry.meta(name) as { delegate?: Pid } | undefined
    if (meta?.delegate !== undefined) {
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

  private resolve(name: Name): Pid {
    const pid = this.registry.whereis(name)
    if (pid === undefined) throw new NotFound(`no process is registered as ${describeName(name)}`)
    return pid
  }

  /** Sends to the process under `name`; a name nobody holds is a `NotFound` error, not a silent drop. */
  send(name: Name, msg: unknown): void {
    this.node.runtime.send(this.resolve(name), msg)
  }

  call<R = unknown>(name: Name, msg: unknown, options?: CallOptions): Promise<R> {
    try {
      return this.node.runtime.call<R>(this.resolve(name), msg, options)
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)))
    }
  }

  cast(name: Name, msg: unknown): void {
    this.node.runtime.cast(this.resolve(name), msg)
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

  /** Stops this node's part of the sworm: its workers stop (they are not moved). */
  async stop(): Promise<void> {
    await this.supervisor.stop()
    await this.registry.stop()
    ;(this.node.runtime.services.get(SWORMS) as Map<string, SwormInstance> | undefined)?.delete(
      this.name,
    )
  }
}

const SWORMS = Symbol('sworm.byName')

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
