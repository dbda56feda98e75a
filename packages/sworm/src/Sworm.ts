// `class Rooms extends Sworm {}`: a sworm's static API, bound to the node the call runs in:
// inside a process, that process's node (through `currentProcess`, across awaits); outside,
// the one node started in this OS process. `Rooms.on(node)` is the instance twin for code that
// holds several nodes (tests).
import {
  currentProcess,
  type ActorClassLike,
  type CallOptions,
  type NodeId,
  type Pid,
} from '@sworm/actor'
import type { Node } from '@sworm/cluster'
import type { MultiCallResult, Name } from '@sworm/registry'
import type { SwormOptions } from './config.js'
import { NoNodeContext, SwormNotRunning } from './errors.js'
import { nodeOfRuntime, startedNodes } from './nodes.js'
import { SwormInstance, type ActorTypes } from './SwormInstance.js'

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

  static registerName(
    name: Name,
    typeOrPid: ActorClassLike<never> | Pid,
    args?: unknown,
  ): Promise<Pid> {
    return this.bound().registerName(name, typeOrPid, args)
  }
  static whereisOrRegisterName(
    name: Name,
    Type: ActorClassLike<never>,
    args?: unknown,
  ): Promise<Pid> {
    return this.bound().whereisOrRegisterName(name, Type, args)
  }
  static unregisterName(name: Name): Promise<void> {
    return this.bound().unregisterName(name)
  }
  static whereis(name: Name): Pid | undefined {
    return this.bound().whereis(name)
  }
  static registered(): Array<[Name, Pid]> {
    return this.bound().registered()
  }
  /** The live nodes that run this sworm and take names now (its directory). */
  static nodes(): NodeId[] {
    return this.bound().nodes()
  }

  static send(name: Name, msg: unknown): void {
    this.bound().send(name, msg)
  }
  static call<R = unknown>(name: Name, msg: unknown, options?: CallOptions): Promise<R> {
    return this.bound().call<R>(name, msg, options)
  }
  static cast(name: Name, msg: unknown): void {
    this.bound().cast(name, msg)
  }
  static join(group: Name, pid: Pid): Promise<void> {
    return this.bound().join(group, pid)
  }
  static leave(group: Name, pid: Pid): Promise<void> {
    return this.bound().leave(group, pid)
  }
  static members(group: Name): Pid[] {
    return this.bound().members(group)
  }
  static publish(group: Name, msg: unknown): number {
    return this.bound().publish(group, msg)
  }
  static multiCall(
    group: Name,
    msg: unknown,
    options?: { timeoutMs?: number },
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
