// `class Rooms extends Sworm {}`: a sworm's static API, bound to the node the call runs in:
// inside a process, that process's node (through `currentProcess`, across awaits); outside,
// the one node started in this OS process. `Rooms.on(node)` is the instance twin for code that
// holds several nodes (tests).
import {
  BadArgument,
  currentProcess,
  type CallOptions,
  type NodeId,
  type Pid,
} from '@swormjs/actor'
import type { Node, NodeInfo } from '@swormjs/cluster'
import {
  describeName,
  type MultiCallOptions,
  type MultiCallResult,
  type Name,
} from '@swormjs/registry'
import type { SwormOptions } from './config.js'
import { NoNodeContext, SwormNotRunning } from './errors.js'
import { notAnActor } from './Names.js'
import { nodeOfRuntime, startedNodes } from './nodes.js'
import { SwormInstance, type ActorTypes } from './SwormInstance.js'
import {
  swormRef,
  type Activation,
  type ArgsParam,
  type ExecFunction,
  type RegisterOptions,
  type SwormRef,
  type WorkerClass,
} from './typed.js'

/**
 * Base class of sworms. Declare one per kind of named process, list the worker types in
 * `static actors`, and run it on nodes with `startNode({ children: [Rooms] })`.
 * @example
 * class Rooms extends Sworm {
 *   static override options = { handoff: true }
 *   static override actors = { ChatRoom }
 * }
 * await startNode({ port: 4001, cookie, children: [Rooms] })
 * const pid = await Rooms.registerName('room:42', ChatRoom, { topic: 'tea' })
 */
export class Sworm {
  /** Options; the config file (`sworm.config.json`, or `SWORM_CONFIG`) wins over them. */
  static options: SwormOptions = {}
  /** The worker types, by stable name (the same on every node). */
  static actors: ActorTypes = {}
  /**
   * `onDemand`: a `call`, `cast` or `send` to a name nobody holds starts it first (once in the
   * cluster, however many nodes send at once: as `whereisOrRegisterName`), then is delivered to
   * it, as Orleans, Dapr and Effect start an entity on its first message. What the name runs is
   * `activate(name)`'s answer. Default `explicit`: such a message is `NotFound`.
   */
  static activation: 'explicit' | 'onDemand' = 'explicit'
  /**
   * Functions `exec` runs on the node that runs a name, with its worker, by stable name (the
   * same on every node, as `actors`).
   */
  static functions: Record<string, ExecFunction> = {}

  /**
   * With `activation = 'onDemand'`: what a name runs when a message comes to it and nobody
   * holds it; undefined leaves it `NotFound`. Default: the sworm's one actor type, without args
   * (a sworm of several types must say which).
   * @example
   * static override activate(name: Name): Activation | undefined {
   *   if (typeof name !== 'string' || !name.startsWith('room:')) return undefined
   *   return { type: ChatRoom, args: { topic: '' } }
   * }
   */
  static activate(name: Name): Activation | undefined {
    const types = Object.values(this.actors)
    if (types.length === 1) return { type: types[0]! }
    throw new BadArgument(
      `sworm ${this.name} has ${types.length} actor types: its static activate(name) must say which one ${describeName(name)} runs`,
    )
  }

  /** This sworm's instance on `node` (every static has its twin there). */
  static on(node: Node): SwormInstance {
    const inst = SwormInstance.of(node, this.name)
    if (inst === undefined) throw new SwormNotRunning(this.name, node.name)
    return inst
  }

  /** The instance of the node this call runs in. */
  static bound(): SwormInstance {
    return this.on(currentNode())
  }

  /**
   * Starts a worker of `Type` under `name`, on the node the name hashes to, and resolves with
   * its pid. `args` are what `Type`'s `init` takes (checked by the compiler; left out when it
   * takes none). With a pid instead of a type, registers that running process (not moved, not
   * restarted). Rejects with `AlreadyRegistered` (carrying the holder) when the name is taken,
   * and `UnknownActorType` when `Type` is not in `static actors`.
   * @example
   * const pid = await Rooms.registerName('room:42', ChatRoom, { topic: 'tea' })
   */
  static registerName<T extends WorkerClass>(
    name: Name,
    Type: T,
    ...args: ArgsParam<T>
  ): Promise<Pid>
  static registerName(name: Name, pid: Pid): Promise<Pid>
  static registerName(
    name: Name,
    typeOrPid: WorkerClass | Pid,
    args?: unknown,
    options?: RegisterOptions,
  ): Promise<Pid> {
    return this.bound().registerName(name, typeOrPid as WorkerClass, args as never, options)
  }

  /**
   * The pid under `name`, or a worker of `Type` started there: never two, even when several
   * nodes ask at once. `args` as for `registerName`.
   * @example
   * const pid = await Rooms.whereisOrRegisterName('room:42', ChatRoom, { topic: 'tea' })
   */
  static whereisOrRegisterName<T extends WorkerClass>(
    name: Name,
    Type: T,
    ...args: ArgsParam<T>
  ): Promise<Pid> {
    return this.bound().whereisOrRegisterName(name, Type, ...args)
  }

  /** Stops the worker under `name` (or removes a plain registration); `NotFound` when absent. */
  static unregisterName(name: Name): Promise<void> {
    return this.bound().unregisterName(name)
  }

  /** The pid registered under `name` now, as this node sees it, or undefined. */
  static whereis(name: Name): Pid | undefined {
    return this.bound().whereis(name)
  }

  /**
   * The node that runs `name` now (its id, name and URL), as this node sees it, or undefined
   * when no process holds the name (supervisorring's `find`).
   * @example
   * Rooms.find('room:42')?.name // 'node-b'
   */
  static find(name: Name): NodeInfo | undefined {
    return this.bound().find(name)
  }

  /**
   * Runs function `fnName` of `static functions` on the node that runs `name`, given the name
   * and its worker's pid, and resolves with what it returns (supervisorring's `exec`): code that
   * must run beside the worker (read its process info, touch a local resource). Rejects with
   * `NotFound` when no process holds the name, `BadArgument` for an unknown function.
   * @example
   * static override functions = { where: ({ pid }) => process.pid }
   * const osPid = await Rooms.exec<number>('room:42', 'where')
   */
  static exec<T = unknown>(
    name: Name,
    fnName: string,
    args?: unknown,
    options?: { timeoutMs?: number },
  ): Promise<T> {
    return this.bound().exec<T>(name, fnName, args, options)
  }

  /** Every name of this sworm with its pid, as this node sees them. */
  static registered(): Array<[Name, Pid]> {
    return this.bound().registered()
  }

  /** The live nodes that run this sworm and take names now (its directory). */
  static nodes(): NodeId[] {
    return this.bound().nodes()
  }

  /**
   * A handle on `name` typed by its worker class: `call`, `cast` and `send` take the messages
   * `Type`'s handlers take, and `call` resolves with what its `handleCall` answers. `Type` is
   * for the compiler only: the name is resolved at each use.
   * @example
   * const room = Rooms.ref('room:42', ChatRoom)
   * const count: number = await room.call({ post: 'hello' })
   */
  static ref<T extends WorkerClass>(name: Name, _Type: T): SwormRef<T> {
    return swormRef<T>(() => this.bound(), name)
  }

  /**
   * Runs one worker of `Type` in the whole cluster (a singleton, as Akka's cluster singleton):
   * under the name `singleton:<its name in actors>`, on the node that name hashes to (a
   * `distribution` function chooses another), moved with handoff when that node leaves and
   * started again elsewhere when it crashes (from its newest state, with `replicas`). Every node
   * may call it at start: the first starts it, the others get its pid. During a split each side
   * may run one until the heal (one survives, with the other's state merged); with
   * `distribution: 'quorum'` never two.
   * @example
   * await Jobs.startSingleton(Scheduler, { everyMs: 60_000 })
   * await Jobs.singleton(Scheduler).call('status')
   */
  static startSingleton<T extends WorkerClass>(Type: T, ...args: ArgsParam<T>): Promise<Pid> {
    return this.bound().startSingleton(Type, ...args)
  }

  /** A typed handle on the singleton of `Type` (see `startSingleton` and `ref`). */
  static singleton<T extends WorkerClass>(Type: T): SwormRef<T> {
    return swormRef<T>(() => this.bound(), `singleton:${actorName(this, Type)}`)
  }

  /**
   * Sends `msg` to the process under `name` (its `handleInfo`). Throws `NotFound` when no
   * process holds the name. While the name moves, the message waits for its next process.
   */
  static send(name: Name, msg: unknown): void {
    this.bound().send(name, msg)
  }

  /**
   * Calls the process under `name` and resolves with its reply (`R` is not checked: `ref` gives
   * a typed call). Rejects with `NotFound` when no process holds the name, `CallTimeout` after
   * `timeoutMs` (default 5 s), `NoConnection` or `Exited` when it went away first.
   * @example
   * const n = await Rooms.call<number>('room:42', 'count')
   */
  static call<R = unknown>(name: Name, msg: unknown, options?: CallOptions): Promise<R> {
    return this.bound().call<R>(name, msg, options)
  }

  /** Casts `msg` to the process under `name` (its `handleCast`); `NotFound` as for `send`. */
  static cast(name: Name, msg: unknown): void {
    this.bound().cast(name, msg)
  }

  /** Adds `pid` to `group` (idempotent), cluster-wide. */
  static join(group: Name, pid: Pid): Promise<void> {
    return this.bound().join(group, pid)
  }

  /** Removes `pid` from `group`. */
  static leave(group: Name, pid: Pid): Promise<void> {
    return this.bound().leave(group, pid)
  }

  /** The members of `group`, as this node sees them. */
  static members(group: Name): Pid[] {
    return this.bound().members(group)
  }

  /** Sends `msg` to every member of `group`; returns how many it went to. */
  static publish(group: Name, msg: unknown): number {
    return this.bound().publish(group, msg)
  }

  /** Calls every member of `group` at once: one result per member, a reply or its error. */
  static multiCall(
    group: Name,
    msg: unknown,
    options?: MultiCallOptions,
  ): Promise<MultiCallResult[]> {
    return this.bound().multiCall(group, msg, options)
  }
}

/** A sworm class: `Sworm` or a subclass. */
export type SwormClass = typeof Sworm

/** The node a static call binds to. */
export function currentNode(): Node {
  const cur = currentProcess()
  if (cur !== undefined) {
    const node = nodeOfRuntime(cur.runtime)
    if (node !== undefined) return node
  }
  const nodes = startedNodes()
  if (nodes.length === 1) return nodes[0]!
  throw new NoNodeContext(
    nodes.length === 0
      ? 'no node is started in this process: call startNode first'
      : `${nodes.length} nodes run in this process and the call is not made from a process of one: use Rooms.on(node)`,
  )
}

/** The name `Type` has in `sworm`'s `actors` (`BadArgument` when it has none). */
function actorName(sworm: SwormClass, Type: WorkerClass): string {
  for (const [name, cls] of Object.entries(sworm.actors)) if (cls === Type) return name
  throw notAnActor(Type, sworm.name)
}
