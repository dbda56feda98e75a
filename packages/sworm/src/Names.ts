// The names of a sworm on one node, as its users register them: a worker started under a name
// (through the supervisor, which starts its delegate where the name hashes to), or a running
// process registered as is; and what a failed registration tells its caller.
import type { RegisterOptions } from './typed.js'
import {
  AlreadyRegistered,
  BadArgument,
  InitFailed,
  NotFound,
  type ActorClassLike,
  type Clock,
  type Pid,
  type RestartPolicy,
} from '@swormjs/actor'
import { describeName, encodeName, type Name, type Registry } from '@swormjs/registry'
import { AlreadyStarted, type DistributedSupervisor, type Started } from '@swormjs/supervisor'
import { delegateOf, type DelegateArgs, type FirstMessage, type FirstReply } from './Delegate.js'

/** What the names need of their sworm instance. */
export interface NamesHost {
  /** The sworm's name, for messages. */
  readonly sworm: string
  readonly registry: Pick<Registry, 'register' | 'unregister' | 'whereis' | 'resolve' | 'on'>
  readonly supervisor: Pick<DistributedSupervisor, 'startChildWithInfo' | 'terminateChild'>
  readonly clock: Clock
  /** The sworm's actor types by name. */
  readonly types: ReadonlyMap<string, ActorClassLike<never>>
  readonly restart: RestartPolicy
  /** How long to wait for a delegate that is still starting to register its worker. */
  readonly callTimeoutMs: number
  /** Undefined when the node is ready; else a wait until it is (see `Node.ready`). */
  untilReady(signal: AbortSignal | undefined): Promise<void> | undefined
}

export class Names {
  private readonly host: NamesHost
  /** The name of each actor type, to tell the delegate (on whichever node) what to start. */
  private readonly typeNames = new Map<ActorClassLike<never>, string>()

  constructor(host: NamesHost) {
    this.host = host
    for (const [typeName, cls] of host.types) this.typeNames.set(cls, typeName)
  }

  /** See `SwormInstance.registerName`. */
  async register(
    name: Name,
    typeOrPid: ActorClassLike<never> | Pid,
    args: unknown,
    options: RegisterOptions = {},
  ): Promise<Pid> {
    return (await this.start(name, typeOrPid, args, options, undefined)).pid
  }

  /**
   * Starts `name` with `first` as its worker's first message (a name started on demand): the
   * worker's answer when it is a call. `AlreadyRegistered` when the name runs already (then
   * `first` was not delivered).
   */
  async registerFirst(
    name: Name,
    Type: ActorClassLike<never>,
    args: unknown,
    first: FirstMessage,
  ): Promise<{ pid: Pid; reply?: FirstReply }> {
    return this.start(name, Type, args, {}, first)
  }

  private async start(
    name: Name,
    typeOrPid: ActorClassLike<never> | Pid,
    args: unknown,
    options: RegisterOptions,
    first: FirstMessage | undefined,
  ): Promise<{ pid: Pid; reply?: FirstReply }> {
    const { registry, supervisor } = this.host
    if (typeof typeOrPid === 'string') {
      await registry.register(name, typeOrPid)
      return { pid: typeOrPid }
    }
    const typeName = this.typeNames.get(typeOrPid)
    if (typeName === undefined) {
      throw notAnActor(typeOrPid, this.host.sworm)
    }
    await this.host.untilReady(options.signal)
    const holder = registry.whereis(name)
    if (holder !== undefined) throw new AlreadyRegistered(describeName(name), holder)
    const key = encodeName(name)
    const delegateArgs: DelegateArgs = { key, type: typeName, args }
    let started: Started
    try {
      started = await supervisor.startChildWithInfo(
        // Placed by the worker's type: only on nodes that run it (each starts it in a delegate).
        { id: key, type: typeName, args: delegateArgs, restart: this.host.restart },
        first === undefined ? options : { ...options, handoff: { groups: [], first } },
      )
    } catch (e) {
      throw await this.registrationError(name, e)
    }
    // The delegate's init returns the worker it started and registered: the start chain's answer.
    // Its reply travelled behind the registration, so a worker that is gone already shows here.
    const info = started.info as Pid | { pid: Pid; reply: FirstReply }
    const pid = typeof info === 'string' ? info : info.pid
    if (registry.whereis(name) !== pid) {
      throw new NotFound(`${describeName(name)} (its worker ended at once)`)
    }
    return typeof info === 'string' ? { pid } : info
  }

  /** The name the singleton of `Type` runs under: `singleton:` and its name in `actors`. */
  singletonName(Type: ActorClassLike<never>): string {
    const typeName = this.typeNames.get(Type)
    if (typeName === undefined) {
      throw notAnActor(Type, this.host.sworm)
    }
    return `singleton:${typeName}`
  }

  /** See `SwormInstance.whereisOrRegisterName`. */
  async whereisOrRegister(
    name: Name,
    Type: ActorClassLike<never>,
    args: unknown,
    options: RegisterOptions = {},
  ): Promise<Pid> {
    const pid = this.host.registry.whereis(name)
    if (pid !== undefined) return pid
    try {
      return await this.register(name, Type, args, options)
    } catch (e) {
      if (AlreadyRegistered.is(e)) return e.pid as Pid
      throw e
    }
  }

  /** See `SwormInstance.unregisterName`. */
  async unregister(name: Name): Promise<void> {
    const { registry, supervisor } = this.host
    const entry = registry.resolve(name)
    if (entry === undefined) throw new NotFound(describeName(name))
    if (delegateOf(entry.meta) !== undefined) {
      await supervisor.terminateChild(encodeName(name))
      return
    }
    await registry.unregister(name)
  }

  private async registrationError(name: Name, e: unknown): Promise<unknown> {
    if (AlreadyStarted.is(e) || AlreadyRegistered.is(e)) {
      // The holder is the worker: a delegate that is still starting registers it in a moment.
      const holder =
        this.host.registry.whereis(name) ??
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
    const { clock, registry } = this.host
    return new Promise((resolve) => {
      const timer = clock.setTimeout(() => {
        off()
        resolve(undefined)
      }, this.host.callTimeoutMs)
      const off = registry.on('register', (n, pid) => {
        if (encodeName(n) !== key) return
        clock.clearTimeout(timer)
        off()
        resolve(pid)
      })
    })
  }
}

/** The error for a worker class that is not one of sworm `sworm`'s `actors`. */
export function notAnActor(Type: { name: string }, sworm: string): BadArgument {
  return new BadArgument(
    `${Type.name} is not one of sworm ${sworm}'s actors: add it to its static actors`,
  )
}
