// A cluster-wide name registry with process groups (Horde.Registry with Swarm's groups). Each
// node writes only its own doc; every node reads all of them and picks, per name, the same
// winner: the earliest registration by hybrid logical clock, then the smaller node id.
// docs/INTERNALS.md ("The registry") gives the layout, the rule and why it converges.
// This file is the facade (the public API, events, lifecycle); the state lives in `OwnDoc`
// (this node's doc), `Replicas` (every node's doc and the winners), `Groups`, and `conflicts`.
import {
  actorDefaults,
  AlreadyRegistered,
  BadArgument,
  Emitter,
  Listenable,
  NoProc,
  nodeOf,
  type NodeId,
  type Pid,
} from '@swormjs/actor'
import { nextTurn, turnSpentOn } from '@swormjs/actor/internal'
import type { Node } from '@swormjs/cluster'
import { ComponentDocs, HybridClock } from '@swormjs/cluster/internal'
import { loseConflict, type ConflictHost } from './conflicts.js'
import { registryDefaults } from './defaults.js'
import { RegistryStopped, NotOwner } from './errors.js'
import { Groups, memberKey } from './Groups.js'
import { decodeName, describeName, encodeName, type Name } from './names.js'
import { OwnDoc } from './OwnDoc.js'
import { RegistryServer, type ServerHost, type ServerRequest } from './RegistryServer.js'
import { Replicas } from './Replicas.js'
import type {
  Entry,
  LiveValue,
  MultiCallOptions,
  MultiCallResult,
  RegisterOptions,
  RegistryEvents,
  RegistryOptions,
  UnregisterReason,
} from './types.js'

/**
 * A registry instance on one node. Start one per node with `Registry.start(node, 'Rooms')`;
 * instances of the same name on different nodes form one registry. Stop it with `stop()`, or
 * let `await using` do it.
 * @example
 * const rooms = await Registry.start(node, 'rooms')
 * await rooms.register('room:42', pid, { topic: 'tea' })
 * rooms.whereis('room:42') // pid, on every node
 */
export class Registry extends Listenable<RegistryEvents> implements AsyncDisposable {
  /** The registry's name: instances of the same name on different nodes are one registry. */
  readonly name: string
  /** The node this instance runs on. */
  readonly node: Node
  private readonly callTimeoutMs: number
  private readonly clock: HybridClock
  protected readonly events: Emitter<RegistryEvents>
  /** Every node's doc, followed across generations. */
  private readonly cdocs: ComponentDocs
  private readonly own: OwnDoc
  private readonly replicas: Replicas
  private readonly groups: Groups
  private readonly conflictHost: ConflictHost
  private readonly unsubscribe: Array<() => void> = []
  private server!: Pid
  private stopped = false
  /** Local processes kept in their groups past their exit (`retainGroups`): whether exited. */
  private readonly retained = new Map<Pid, boolean>()

  private constructor(node: Node, name: string, options: RegistryOptions) {
    super()
    this.node = node
    this.name = name
    this.clock = new HybridClock(() => node.clock.wallNow())
    this.callTimeoutMs = options.callTimeoutMs ?? registryDefaults.callTimeoutMs
    this.events = new Emitter<RegistryEvents>((e, ev) =>
      node.logger.error({ err: e, event: ev, registry: name }, 'registry listener threw'),
    )
    this.cdocs = new ComponentDocs(
      node,
      `registry/${name}/`,
      {
        attach: (owner, doc) => {
          if (owner === node.id) this.own.attach(doc)
          this.replicas.attach(owner, doc)
        },
        detach: (owner) => this.replicas.forget(owner),
      },
      { forgetAfterMs: options.forgetAfterMs ?? registryDefaults.forgetAfterMs },
    )
    this.own = new OwnDoc({
      registry: name,
      logger: node.logger,
      docs: this.cdocs,
      compactMinDead: options.compactMinDead ?? registryDefaults.compactMinDead,
      compactRatio: options.compactRatio ?? registryDefaults.compactRatio,
    })
    this.groups = new Groups({
      runtime: node.runtime,
      writeJoin: (mk) => this.own.join(mk),
      writeLeave: (mk) => this.own.leave(mk),
      callServer: (owner, request) => this.callServer(owner, request),
    })
    this.conflictHost = {
      registry: name,
      logger: node.logger,
      clock: node.clock,
      callTimeoutMs: this.callTimeoutMs,
      beforeConflictExit: options.beforeConflictExit,
      stillLoses: (key, loser, winner) =>
        !this.stopped && this.own.holds(key, loser) && this.replicas.winner(key) === winner,
      askHolds: (key, winner) =>
        this.callServer<boolean>(nodeOf(winner), { op: 'holds', key, pid: winner }),
      tombstone: (key, winner) => this.own.remove(key, 'name_conflict', winner)?.m,
      exit: (pid, reason) => node.runtime.exit(pid, reason),
    }
    this.replicas = new Replicas({
      self: node.id,
      isUp: (n) => node.isUp(n),
      events: this.events,
      observe: (c) => this.clock.observe(c),
      applyMember: (mk, present) => this.groups.apply(mk, present),
      lost: (key, loser, winner) => loseConflict(this.conflictHost, key, loser, winner),
    })
  }

  /** Starts the registry `name` on `node` (once per node and name). */
  static async start(node: Node, name: string, options: RegistryOptions = {}): Promise<Registry> {
    if (name === '' || name.includes('/')) throw new BadArgument(`bad registry name '${name}'`)
    const reg = new Registry(node, name, options)
    await reg.begin(options.info ?? {})
    return reg
  }

  private async begin(info: Record<string, unknown>): Promise<void> {
    const rt = this.node.runtime
    const host: ServerHost = {
      unregisterLocal: (key, reason) => this.unregisterLocal(key, reason),
      joinLocal: (g, pid) => this.groups.joinLocal(g, pid),
      leaveLocal: (g, pid) => this.groups.leaveLocal(g, pid),
      holds: (key, pid) => this.own.holds(key, pid),
    }
    this.server = await rt.start(RegistryServer, host, { name: `sworm.registry.${this.name}` })
    this.cdocs.start((own) => {
      for (const [k, v] of Object.entries(info)) own.set(k, v)
      own.set('server', this.server)
    })
    this.unsubscribe.push(
      this.node.on('nodeDown', (info) => this.replicas.nodeDown(info.id)),
      this.node.on('nodeUp', (info) => this.replicas.nodeUp(info.id)),
      rt.onExit((pid) => this.onExit(pid)),
    )
  }

  // ------------------------------------------------------------------ names

  /**
   * Registers `name` for `pid`, a live process of this node. Resolves when `whereis` on this
   * node returns it (with `awaitReplication`, once every live member has it). Rejects with
   * `AlreadyRegistered` (carrying the holder) when the name is held anywhere this node sees,
   * `NoProc` when `pid` is not alive, `BadArgument` when it is a process of another node.
   * @example
   * const pid = await node.runtime.start(Room, 'lobby')
   * await rooms.register({ room: 'lobby' }, pid, { topic: 'general' })
   * rooms.whereis({ room: 'lobby' }) // pid, on every node once replicated
   */
  async register(
    name: Name,
    pid: Pid,
    meta?: unknown,
    options: RegisterOptions = {},
  ): Promise<void> {
    // Names registered in a loop, each awaited, are a chain of microtasks that never lets the
    // event loop turn: ten thousand of them held the node (its timers, sockets and heartbeats)
    // for a second, and sent their doc updates as one, at the end. Once the turn's shared slice
    // is spent (`turnMs`), a registration waits for the next turn, so the loop runs in slices
    // and its updates go out (and are applied by the others) as it goes. (`registerKey`, the
    // sworm delegates' path, does not: a node taking in a move registers thousands of names
    // from its scheduler's slices, and a turn more for each made a leave 5-8 % slower.)
    if (turnSpentOn(this.node.runtime.clock)) await nextTurn()
    return this.registerKey(encodeName(name), pid, meta, options)
  }

  /**
   * `register` for a caller that already holds the name's key (`encodeName(name)`), so that a
   * name is encoded once on its way to the doc (the sworm's delegate: its child id is the key).
   */
  async registerKey(
    key: string,
    pid: Pid,
    meta?: unknown,
    options: RegisterOptions = {},
  ): Promise<void> {
    this.assertRunning()
    const rt = this.node.runtime
    if (!rt.isLocal(pid) || !rt.isAlive(pid)) {
      throw rt.isLocal(pid)
        ? new NoProc(pid)
        : new BadArgument(`register takes a process of this node; ${pid} is not one`)
    }
    const holder = this.replicas.winner(key)
    if (holder !== undefined) throw new AlreadyRegistered(describeName(decodeName(key)), holder)
    const value: LiveValue =
      meta === undefined
        ? { p: pid, c: this.clock.now() }
        : { p: pid, c: this.clock.now(), m: meta }
    this.own.register(key, value)
    this.replicas.claimed(key, value)
    if (options.awaitReplication) await this.awaitReplication()
  }

  /**
   * Hands the name under `key`, held by local process `from`, to local process `to` (with
   * `meta`), in one write: the name never resolves to nothing on the way. The sworm's delegate
   * takes its worker's name while the worker sleeps (passivation), and gives it back. Throws
   * `NotOwner` unless `from` holds it here, `NoProc` unless `to` is a live local process.
   */
  rebindKey(key: string, from: Pid, to: Pid, meta?: unknown): void {
    this.assertRunning()
    const rt = this.node.runtime
    if (!rt.isLocal(to) || !rt.isAlive(to)) throw new NoProc(to)
    const v = this.own.entry(key)
    if (v === undefined || v.p !== from) throw new NotOwner(describeName(decodeName(key)))
    this.own.rebind(key, meta === undefined ? { p: to, c: v.c } : { p: to, c: v.c, m: meta })
    this.replicas.recompute(key)
  }

  /**
   * Removes `name`. A name held by a process of another node is removed by that node (asked over
   * the mesh). Resolves false when the name was not registered.
   */
  async unregister(name: Name): Promise<boolean> {
    // As `register`: a loop of them runs in slices.
    if (turnSpentOn(this.node.runtime.clock)) await nextTurn()
    this.assertRunning()
    const key = encodeName(name)
    const holder = this.replicas.winner(key)
    if (holder === undefined) return false
    const owner = nodeOf(holder)
    if (owner === this.node.id) return this.unregisterLocal(key, 'unregister')
    return this.callServer<boolean>(owner, { op: 'unregister', key }) ?? false
  }

  /** The process `name` resolves to: a local read, O(1). Undefined when absent or its node is down. */
  whereis(name: Name): Pid | undefined {
    return typeof name === 'string'
      ? this.replicas.winnerOfString(name)
      : this.replicas.winner(encodeName(name))
  }

  /** Every registered name with its process. */
  registered(): Array<[Name, Pid]> {
    return this.replicas.registered()
  }

  /** How many names resolve now (kept as a count, not walked). */
  count(): number {
    return this.replicas.count
  }

  /** The pid under `name` and its meta, in one lookup. */
  resolve(name: Name):
    | {
        /** The process the name resolves to. */
        pid: Pid
        /** Its meta; `undefined` if none. */
        meta: unknown
      }
    | undefined {
    const key = encodeName(name)
    const pid = this.replicas.winner(key)
    if (pid === undefined) return undefined
    return { pid, meta: this.replicas.metaOf(key, pid) }
  }

  /** The meta a name was registered with (or last updated to). */
  meta(name: Name): unknown {
    return this.resolve(name)?.meta
  }

  /** Replaces a name's meta. Only the node of the holding process may: `NotOwner` elsewhere. */
  updateMeta(name: Name, meta: unknown): void {
    this.assertRunning()
    const key = encodeName(name)
    const pid = this.replicas.winner(key)
    if (pid === undefined) throw new BadArgument(`${describeName(name)} is not registered`)
    if (nodeOf(pid) !== this.node.id) throw new NotOwner(describeName(name))
    this.own.updateMeta(key, meta)
  }

  /** Every name with its pid and meta for which `predicate` holds. */
  select(predicate: (name: Name, pid: Pid, meta: unknown) => boolean = () => true): Entry[] {
    return this.replicas.select(predicate)
  }

  /**
   * `match(predicate)`: `[name, pid]` of every name whose name, pid and meta satisfy
   * `predicate`. `match(name, predicate?)`, as Horde's: `[pid, meta]` of `name` when its meta
   * satisfies `predicate`, else `[]`.
   */
  match(predicate: (name: Name, pid: Pid, meta: unknown) => boolean): Array<[Name, Pid]>
  match(name: Name, predicate?: (meta: unknown) => boolean): Array<[Pid, unknown]>
  match(
    what: Name | ((name: Name, pid: Pid, meta: unknown) => boolean),
    predicate: (meta: unknown) => boolean = () => true,
  ): Array<[Name, Pid]> | Array<[Pid, unknown]> {
    if (typeof what === 'function')
      return this.select(what).map((e): [Name, Pid] => [e.name, e.pid])
    const pid = this.whereis(what)
    if (pid === undefined) return []
    const meta = this.meta(what)
    return predicate(meta) ? [[pid, meta]] : []
  }

  /** `info[key]` of every live node that runs this registry (this one included), by node. */
  infoOf(key: string): Map<NodeId, unknown> {
    return this.replicas.infoOf(key)
  }

  /** The names `pid` holds. */
  keysOf(pid: Pid): Name[] {
    return this.replicas.namesOf(pid, this.own.keysOf(pid))
  }

  // ------------------------------------------------------------------ groups

  /** Adds `pid` to `group` (idempotent). A process of another node is added by its node. */
  async join(group: Name, pid: Pid): Promise<void> {
    // As `register`: a loop of them runs in slices.
    if (turnSpentOn(this.node.runtime.clock)) await nextTurn()
    this.assertRunning()
    await this.groups.join(encodeName(group), pid)
  }

  /** Removes `pid` from `group` (idempotent). */
  async leave(group: Name, pid: Pid): Promise<void> {
    if (turnSpentOn(this.node.runtime.clock)) await nextTurn()
    this.assertRunning()
    await this.groups.leave(encodeName(group), pid)
  }

  /** The members of `group` on live nodes. */
  members(group: Name): Pid[] {
    return this.groups.membersOf(encodeName(group))
  }

  /** The groups `pid`, a process of this node, has joined. */
  groupsOf(pid: Pid): Name[] {
    return this.groups.joinedBy(pid).map(decodeName)
  }

  /** Sends `msg` to every member of `group`; returns how many it was sent to. */
  publish(group: Name, msg: unknown): number {
    return this.groups.publish(encodeName(group), msg)
  }

  /**
   * Calls every member of `group` at once; each member's reply or failure, none dropped.
   * `timeoutMs` bounds each call. Default 5000.
   */
  async multiCall(
    group: Name,
    msg: unknown,
    options: MultiCallOptions = {},
  ): Promise<MultiCallResult[]> {
    const timeoutMs = options.timeoutMs ?? actorDefaults.callTimeoutMs
    return this.groups.multiCall(encodeName(group), msg, timeoutMs, options.signal)
  }

  // ------------------------------------------------------------------ this node's doc, lifecycle

  /**
   * Publishes this node's entries as a new generation holding only live ones, then drops the
   * old: memory stays proportional to live names however many came and went. The copy runs in
   * short steps over several turns; resolves once the new generation is published.
   */
  compact(): Promise<void> {
    return this.own.compact()
  }

  /** Sizes for metrics and tests: live names here, dead weight in this node's doc, generation. */
  stats(): {
    /** Names that resolve now, cluster-wide. */
    names: number
    /** Live entries in this node's doc. */
    ownLive: number
    /** Dead entries (tombstones) in this node's doc, until the next compaction. */
    ownDead: number
    /** The generation of this node's doc: it grows by one at each compaction. */
    generation: number
    /** Nodes whose docs of this registry this node follows, itself included. */
    nodes: number
  } {
    return { names: this.replicas.count, ...this.own.stats(), nodes: this.replicas.nodes }
  }

  private unregisterLocal(key: string, reason: UnregisterReason): boolean {
    if (this.own.remove(key, reason) === undefined) return false
    this.replicas.recompute(key)
    return true
  }

  /**
   * Keeps local process `pid` in its groups after it exits, until `releaseGroups(pid)`: a worker
   * that moves to another node, so that for a moment its groups list it and its successor
   * rather than neither (a message to it is forwarded, and a publish skips it once the
   * successor is listed). Its names go at its exit as usual.
   */
  retainGroups(pid: Pid): void {
    if (this.stopped || !this.node.runtime.isLocal(pid)) return
    this.retained.set(pid, false)
  }

  /** Ends `retainGroups(pid)`: if `pid` exited meanwhile, its memberships go now. */
  releaseGroups(pid: Pid): void {
    const exited = this.retained.get(pid)
    if (exited === undefined) return
    this.retained.delete(pid)
    if (!exited || this.stopped) return
    const groups = this.groups.takeLocal(pid)
    if (groups !== undefined) this.dropLocal(pid, [], groups)
  }

  /** A local process exited: its names and memberships go, in one write. */
  private onExit(pid: Pid): void {
    const keys = this.own.takeKeys(pid)
    const retained = this.retained.has(pid)
    if (retained) this.retained.set(pid, true)
    const groups = retained ? undefined : this.groups.takeLocal(pid)
    if (keys === undefined && groups === undefined) return
    if (this.stopped) return
    this.dropLocal(pid, keys ?? [], groups ?? [])
  }

  /** Drops names `keys` and the memberships in `groups` of local process `pid`, in one write. */
  private dropLocal(pid: Pid, keys: Iterable<string>, groups: Iterable<string>): void {
    const groupKeys = [...groups]
    const memberKeys = groupKeys.map((g) => memberKey(g, pid))
    const removed = this.own.exited(pid, keys, memberKeys)
    for (const key of removed) this.replicas.recompute(key)
    this.groups.removeMemberships(pid, groupKeys)
  }

  /** Calls the registry server of `node`; undefined when that node is down or runs no server. */
  private callServer<T>(node: NodeId, request: ServerRequest): Promise<T> | undefined {
    const server = this.replicas.serverOf(node)
    if (server === undefined) return undefined
    return this.node.runtime.call<T>(server, request, { timeoutMs: this.callTimeoutMs })
  }

  /** Resolves once every live node running this registry has applied this node's writes. */
  private async awaitReplication(): Promise<void> {
    const calls: Array<Promise<unknown>> = []
    for (const node of this.replicas.others()) {
      const call = this.callServer(node, { op: 'sync' })
      if (call !== undefined) calls.push(call)
    }
    await Promise.all(calls)
  }

  /** Stops this node's part of the registry: its names and memberships go, everywhere. */
  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    for (const u of this.unsubscribe) u()
    this.replicas.clear()
    this.own.detach()
    this.groups.clear()
    this.cdocs.stop(true)
    if (this.node.runtime.isAlive(this.server))
      await this.node.runtime.stop(this.server, 'shutdown')
  }

  /** `stop()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop()
  }

  private assertRunning(): void {
    if (this.stopped) throw new RegistryStopped(this.name)
  }
}
