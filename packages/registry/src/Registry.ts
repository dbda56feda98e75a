// A cluster-wide name registry with process groups (Horde.Registry with Swarm's groups). Each
// node writes only its own doc; every node reads all of them and picks, per name, the same
// winner: the earliest registration by hybrid logical clock, then the smaller node id.
// docs/INTERNALS.md ("The registry") gives the layout, the rule and why it converges.
import type * as Y from 'yjs'
import {
  actorDefaults,
  AlreadyRegistered,
  BadArgument,
  Emitter,
  NoProc,
  nodeOf,
  withTimeout,
  type ExitReason,
  type NodeId,
  type Pid,
} from '@sworm/actor'
import type { Node } from '@sworm/cluster'
import { beats, ComponentDocs, HybridClock } from '@sworm/cluster/internal'
import { registryDefaults } from './defaults.js'
import { NotOwner, RegistryStopped } from './errors.js'
import { decodeName, describeName, encodeName, type Name } from './names.js'
import { RegistryServer, type ServerHost, type ServerRequest } from './RegistryServer.js'

/** Why a name stopped resolving to a process. */
export type UnregisterReason = 'exit' | 'unregister' | 'nodedown' | 'name_conflict'

/** Options of a registry. */
export interface RegistryOptions {
  /** Compact this node's doc once its dead entries pass `max(compactMinDead, live × compactRatio)`. Default 10,000. */
  compactMinDead?: number
  /** Default 1. */
  compactRatio?: number
  /** Drop the replicas of a node that has been down this long (its names are hidden at once). Default 60,000. */
  forgetAfterMs?: number
  /** Timeout of calls to other nodes' registries (remote unregister, `awaitReplication`). Default 5000. */
  callTimeoutMs?: number
  /** Extra entries of this node's `info` for the layers above (say, the pid of a router process), read with `infoOf`. */
  info?: Record<string, unknown>
  /**
   * Runs on the loser's node when a name conflict is settled, after the name resolves to the
   * winner and before the loser is made to exit (sworm hands the loser's state to the winner
   * here). Bounded by `callTimeoutMs`; a failure is logged and the loser exits all the same.
   */
  beforeConflictExit?: (name: Name, loser: Pid, winner: Pid, meta: unknown) => Promise<void>
}

/** Options of `register`. */
export interface RegisterOptions {
  /** Resolve only once every live member that runs this registry has the name. Default false. */
  awaitReplication?: boolean
}

/** One registered name, as `select` returns it. */
export interface Entry {
  name: Name
  pid: Pid
  meta: unknown
}

/** What a member of a group answered to `multiCall`. */
export type MultiCallResult =
  { pid: Pid; ok: true; value: unknown } | { pid: Pid; ok: false; error: unknown }

export interface RegistryEvents extends Record<string, unknown[]> {
  register: [name: Name, pid: Pid, meta: unknown]
  unregister: [name: Name, pid: Pid, reason: UnregisterReason]
}

/** A live entry in a node's doc. */
interface LiveValue {
  p: Pid
  c: number
  m?: unknown
}
/** A removed entry: why, who, and for conflicts the winner. Kept until compaction. */
interface Tombstone {
  x: UnregisterReason
  p: Pid
  w?: Pid
}
type Value = LiveValue | Tombstone

/** What this node reads of one node's current doc. */
interface View {
  doc: Y.Doc
  names: Y.Map<Value>
  groups: Y.Map<number>
  info: Y.Map<unknown>
  detach: () => void
}

const isLive = (v: Value | undefined): v is LiveValue => v !== undefined && !('x' in v)
const GROUP_SEP = '\u0000'

/**
 * A registry instance on one node. Start one per node with `Registry.start(node, 'Rooms')`;
 * instances of the same name on different nodes form one registry.
 * @example
 * const rooms = await Registry.start(node, 'rooms')
 * await rooms.register('room:42', pid, { topic: 'tea' })
 * rooms.whereis('room:42') // pid, on every node
 */
export class Registry {
  readonly name: string
  readonly node: Node
  private readonly prefix: string
  private readonly opts: Required<Omit<RegistryOptions, 'info' | 'beforeConflictExit'>>
  private readonly clock: HybridClock
  private readonly events: Emitter<RegistryEvents>
  /** Every node's doc, followed across generations. */
  private readonly cdocs: ComponentDocs
  /** The current doc of every node that runs this registry, this node's included. */
  private readonly views = new Map<NodeId, View>()
  /** Name key → the pid it resolves to now (live nodes only). */
  private readonly winners = new Map<string, Pid>()
  /** Keys held by each local process (for cleanup on exit). */
  private readonly localKeys = new Map<Pid, Set<string>>()
  /** Group key → members (live nodes only). */
  private readonly groupMembers = new Map<string, Set<Pid>>()
  /** Groups each local process joined. */
  private readonly localGroups = new Map<Pid, Set<string>>()
  private readonly unsubscribe: Array<() => void> = []
  private server!: Pid
  private ownLive = 0
  private ownDead = 0
  private compactScheduled = false
  private stopped = false
  private readonly info: Record<string, unknown>
  private readonly beforeConflictExit: RegistryOptions['beforeConflictExit']

  private constructor(node: Node, name: string, options: RegistryOptions) {
    this.node = node
    this.name = name
    this.clock = new HybridClock(() => node.clock.wallNow())
    this.prefix = `registry/${name}/`
    this.opts = {
      compactMinDead: options.compactMinDead ?? registryDefaults.compactMinDead,
      compactRatio: options.compactRatio ?? registryDefaults.compactRatio,
      forgetAfterMs: options.forgetAfterMs ?? registryDefaults.forgetAfterMs,
      callTimeoutMs: options.callTimeoutMs ?? registryDefaults.callTimeoutMs,
    }
    this.info = options.info ?? {}
    this.beforeConflictExit = options.beforeConflictExit
    this.events = new Emitter<RegistryEvents>((e, ev) =>
      node.logger.error({ err: e, event: ev, registry: name }, 'registry listener threw'),
    )
    this.cdocs = new ComponentDocs(
      node,
      this.prefix,
      {
        attach: (owner, doc) => this.onAttach(owner, doc),
        detach: (owner) => this.forgetView(owner),
      },
      { forgetAfterMs: this.opts.forgetAfterMs },
    )
  }

  /** Starts the registry `name` on `node` (once per node and name). */
  static async start(node: Node, name: string, options: RegistryOptions = {}): Promise<Registry> {
    if (name === '' || name.includes('/')) throw new BadArgument(`bad registry name '${name}'`)
    const reg = new Registry(node, name, options)
    await reg.begin()
    return reg
  }

  private async begin(): Promise<void> {
    const rt = this.node.runtime
    const host: ServerHost = {
      unregisterLocal: (key, reason) => this.unregisterLocal(key, reason),
      joinLocal: (g, pid) => this.joinLocal(g, pid),
      leaveLocal: (g, pid) => this.leaveLocal(g, pid),
      holds: (key, pid) => {
        const v = this.views.get(this.node.id)?.names.get(key)
        return isLive(v) && v.p === pid
      },
    }
    this.server = await rt.start(RegistryServer, host, { name: `sworm.registry.${this.name}` })
    this.cdocs.start((info) => {
      for (const [k, v] of Object.entries(this.info)) info.set(k, v)
      info.set('server', this.server)
    })
    this.unsubscribe.push(
      this.node.on('nodeDown', (info) => this.onNodeDown(info.id)),
      this.node.on('nodeUp', (info) => this.onNodeUp(info.id)),
      rt.onExit((pid) => this.onExit(pid)),
    )
  }

  // ------------------------------------------------------------------ names

  /**
   * Registers `name` for `pid`, a live process of this node. Resolves when `whereis` on this
   * node returns it (with `awaitReplication`, once every live member has it). Rejects with
   * `AlreadyRegistered` (carrying the holder) when the name is held anywhere this node sees.
   */
  async register(
    name: Name,
    pid: Pid,
    meta?: unknown,
    options: RegisterOptions = {},
  ): Promise<void> {
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
    const holder = this.winners.get(key)
    if (holder !== undefined) throw new AlreadyRegistered(describeName(decodeName(key)), holder)
    const value: LiveValue =
      meta === undefined
        ? { p: pid, c: this.clock.now() }
        : { p: pid, c: this.clock.now(), m: meta }
    this.writeOwn((names) => {
      if (names.has(key)) this.ownDead++
      names.set(key, value)
    })
    this.ownLive++
    let keys = this.localKeys.get(pid)
    if (keys === undefined) {
      keys = new Set()
      this.localKeys.set(pid, keys)
    }
    keys.add(key)
    this.recompute(key)
    // Registering over a tombstone adds dead weight too.
    this.scheduleCompaction()
    if (options.awaitReplication) await this.awaitReplication()
  }

  /**
   * Removes `name`. A name held by a process of another node is removed by that node (asked over
   * the mesh). Resolves false when the name was not registered.
   */
  async unregister(name: Name): Promise<boolean> {
    this.assertRunning()
    const key = encodeName(name)
    const holder = this.winners.get(key)
    if (holder === undefined) return false
    const owner = nodeOf(holder)
    if (owner === this.node.id) return this.unregisterLocal(key, 'unregister')
    const server = this.serverOf(owner)
    if (server === undefined) return false
    const request: ServerRequest = { op: 'unregister', key }
    return this.node.runtime.call<boolean>(server, request, { timeoutMs: this.opts.callTimeoutMs })
  }

  /** The process `name` resolves to: a local read, O(1). Undefined when absent or its node is down. */
  whereis(name: Name): Pid | undefined {
    return this.winners.get(encodeName(name))
  }

  /** Every registered name with its process. */
  registered(): Array<[Name, Pid]> {
    const out: Array<[Name, Pid]> = []
    for (const [key, pid] of this.winners) out.push([decodeName(key), pid])
    return out
  }

  /** How many names resolve now (kept as a count, not walked). */
  count(): number {
    return this.winners.size
  }

  /** The pid under `name` and its meta, in one lookup. */
  resolve(name: Name): { pid: Pid; meta: unknown } | undefined {
    const key = encodeName(name)
    const pid = this.winners.get(key)
    if (pid === undefined) return undefined
    const v = this.views.get(nodeOf(pid))?.names.get(key)
    return { pid, meta: isLive(v) ? v.m : undefined }
  }

  /** The meta a name was registered with (or last updated to). */
  meta(name: Name): unknown {
    return this.resolve(name)?.meta
  }

  /** Replaces a name's meta. Only the node of the holding process may: `NotOwner` elsewhere. */
  updateMeta(name: Name, meta: unknown): void {
    this.assertRunning()
    const key = encodeName(name)
    const pid = this.winners.get(key)
    if (pid === undefined) throw new BadArgument(`${describeName(name)} is not registered`)
    if (nodeOf(pid) !== this.node.id) throw new NotOwner(describeName(name))
    this.writeOwn((names) => {
      const v = names.get(key)
      if (!isLive(v)) return
      names.set(key, meta === undefined ? { p: v.p, c: v.c } : { p: v.p, c: v.c, m: meta })
      this.ownDead++
    })
    this.scheduleCompaction()
  }

  /** Every name with its pid and meta for which `predicate` holds. */
  select(predicate: (name: Name, pid: Pid, meta: unknown) => boolean = () => true): Entry[] {
    const out: Entry[] = []
    for (const [key, pid] of this.winners) {
      const v = this.views.get(nodeOf(pid))?.names.get(key)
      const meta = isLive(v) ? v.m : undefined
      const name = decodeName(key)
      if (predicate(name, pid, meta)) out.push({ name, pid, meta })
    }
    return out
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

  /** The groups `pid`, a process of this node, has joined. */
  groupsOf(pid: Pid): Name[] {
    return [...(this.localGroups.get(pid) ?? [])].map(decodeName)
  }

  /** `info[key]` of every live node that runs this registry (this one included), by node. */
  infoOf(key: string): Map<NodeId, unknown> {
    const out = new Map<NodeId, unknown>()
    for (const [node, view] of this.views) {
      if (!this.isLiveNode(node)) continue
      const v = view.info.get(key)
      if (v !== undefined) out.set(node, v)
    }
    return out
  }

  /** The names `pid` holds. */
  keysOf(pid: Pid): Name[] {
    const local = this.localKeys.get(pid)
    if (local !== undefined)
      return [...local].filter((k) => this.winners.get(k) === pid).map(decodeName)
    const out: Name[] = []
    for (const [key, holder] of this.winners) if (holder === pid) out.push(decodeName(key))
    return out
  }

  /** Listens to `register` / `unregister`, for local and remote changes alike. */
  on<K extends keyof RegistryEvents>(
    event: K,
    listener: (...args: RegistryEvents[K]) => void,
  ): () => void {
    return this.events.on(event, listener)
  }

  // ------------------------------------------------------------------ groups

  /** Adds `pid` to `group` (idempotent). A process of another node is added by its node. */
  async join(group: Name, pid: Pid): Promise<void> {
    this.assertRunning()
    const gkey = encodeName(group)
    if (this.node.runtime.isLocal(pid)) {
      if (!this.node.runtime.isAlive(pid)) throw new NoProc(pid)
      this.joinLocal(gkey, pid)
      return
    }
    await this.askOwner(pid, { op: 'join', group: gkey, pid })
  }

  /** Removes `pid` from `group` (idempotent). */
  async leave(group: Name, pid: Pid): Promise<void> {
    this.assertRunning()
    const gkey = encodeName(group)
    if (this.node.runtime.isLocal(pid)) {
      this.leaveLocal(gkey, pid)
      return
    }
    await this.askOwner(pid, { op: 'leave', group: gkey, pid })
  }

  /** The members of `group` on live nodes. */
  members(group: Name): Pid[] {
    return [...(this.groupMembers.get(encodeName(group)) ?? [])]
  }

  /** Sends `msg` to every member of `group`; returns how many it was sent to. */
  publish(group: Name, msg: unknown): number {
    const members = this.members(group)
    for (const pid of members) this.node.runtime.send(pid, msg)
    return members.length
  }

  /** Calls every member of `group` at once; each member's reply or failure, none dropped. Default timeout 5000. */
  async multiCall(
    group: Name,
    msg: unknown,
    options: { timeoutMs?: number } = {},
  ): Promise<MultiCallResult[]> {
    const members = this.members(group)
    const timeoutMs = options.timeoutMs ?? actorDefaults.callTimeoutMs
    return Promise.all(
      members.map((pid) =>
        this.node.runtime.call(pid, msg, { timeoutMs }).then(
          (value): MultiCallResult => ({ pid, ok: true, value }),
          (error: unknown): MultiCallResult => ({ pid, ok: false, error }),
        ),
      ),
    )
  }

  private joinLocal(gkey: string, pid: Pid): void {
    if (!this.node.runtime.isAlive(pid)) throw new NoProc(pid)
    const mine = this.localGroups.get(pid)
    if (mine?.has(gkey)) return
    this.writeOwn((_names, groups) => groups.set(gkey + GROUP_SEP + pid, 1))
    if (mine === undefined) this.localGroups.set(pid, new Set([gkey]))
    else mine.add(gkey)
    this.addMember(gkey, pid)
  }

  private leaveLocal(gkey: string, pid: Pid): void {
    const mine = this.localGroups.get(pid)
    if (mine === undefined || !mine.delete(gkey)) return
    if (mine.size === 0) this.localGroups.delete(pid)
    this.writeOwn((_names, groups) => groups.delete(gkey + GROUP_SEP + pid))
    this.ownDead++
    this.removeMember(gkey, pid)
    this.scheduleCompaction()
  }

  private addMember(gkey: string, pid: Pid): void {
    let set = this.groupMembers.get(gkey)
    if (set === undefined) {
      set = new Set()
      this.groupMembers.set(gkey, set)
    }
    set.add(pid)
  }

  private removeMember(gkey: string, pid: Pid): void {
    const set = this.groupMembers.get(gkey)
    if (set === undefined) return
    set.delete(pid)
    if (set.size === 0) this.groupMembers.delete(gkey)
  }

  private async askOwner(pid: Pid, request: ServerRequest): Promise<void> {
    const server = this.serverOf(nodeOf(pid))
    if (server === undefined) throw new NoProc(pid)
    await this.node.runtime.call(server, request, { timeoutMs: this.opts.callTimeoutMs })
  }

  // ------------------------------------------------------------------ the winner rule

  /** Recomputes who holds `key` from the docs of live nodes; emits the change; settles conflicts. */
  private recompute(key: string): void {
    let bestPid: Pid | undefined
    let best = { clock: 0, node: '' }
    for (const [node, d] of this.views) {
      if (!this.isLiveNode(node)) continue
      const v = d.names.get(key)
      if (!isLive(v)) continue
      const contender = { clock: v.c, node }
      if (bestPid === undefined || beats(contender, best)) {
        bestPid = v.p
        best = contender
      }
    }
    const bestNode = best.node
    const old = this.winners.get(key)
    if (old !== bestPid) {
      if (bestPid === undefined) this.winners.delete(key)
      else this.winners.set(key, bestPid)
      if (old !== undefined)
        this.events.emit('unregister', decodeName(key), old, this.whyGone(key, old, bestPid))
      if (bestPid !== undefined) {
        const v = this.views.get(bestNode as NodeId)?.names.get(key)
        this.events.emit('register', decodeName(key), bestPid, isLive(v) ? v.m : undefined)
      }
    }
    // A live entry of ours that is not the winner lost a conflict: this node settles it.
    const mine = this.views.get(this.node.id)?.names.get(key)
    if (bestPid !== undefined && isLive(mine) && mine.p !== bestPid) {
      const loser = mine.p
      const winner = bestPid
      queueMicrotask(() => this.loseConflict(key, loser, winner))
    }
  }

  private whyGone(key: string, old: Pid, next: Pid | undefined): UnregisterReason {
    const owner = nodeOf(old)
    if (!this.isLiveNode(owner)) return 'nodedown'
    const v = this.views.get(owner)?.names.get(key)
    if (v !== undefined && !isLive(v) && v.p === old) return v.x
    if (next !== undefined) return 'name_conflict'
    return 'unregister'
  }

  /**
   * Our replica of the winner's doc may lag behind its owner: just after a partition heals, the
   * node is up again before its updates arrive, and a winner that exited meanwhile still looks
   * live. Its owner, the only writer of its entry, confirms it before the loser is made to exit;
   * if it does not, the update on its way recomputes the key.
   */
  private loseConflict(key: string, loser: Pid, winner: Pid): void {
    if (!this.stillLoses(key, loser, winner)) return
    const server = this.serverOf(nodeOf(winner))
    if (server === undefined) return
    const request: ServerRequest = { op: 'holds', key, pid: winner }
    this.node.runtime.call<boolean>(server, request, { timeoutMs: this.opts.callTimeoutMs }).then(
      (holds) => {
        if (holds && this.stillLoses(key, loser, winner)) this.settleConflict(key, loser, winner)
      },
      (err: unknown) =>
        this.node.logger.warn(
          { err, registry: this.name, name: describeName(decodeName(key)), loser, winner },
          'name conflict: could not confirm the winner with its node; the loser keeps running',
        ),
    )
  }

  private stillLoses(key: string, loser: Pid, winner: Pid): boolean {
    if (this.stopped) return false
    const mine = this.views.get(this.node.id)?.names.get(key)
    return isLive(mine) && mine.p === loser && this.winners.get(key) === winner
  }

  private settleConflict(key: string, loser: Pid, winner: Pid): void {
    const mine = this.views.get(this.node.id)?.names.get(key)
    const meta = isLive(mine) ? mine.m : undefined
    this.writeOwn((names) => names.set(key, { x: 'name_conflict', p: loser, w: winner }))
    this.ownLive--
    this.ownDead++
    this.localKeys.get(loser)?.delete(key)
    this.node.logger.info(
      { registry: this.name, name: describeName(decodeName(key)), loser, winner },
      'name conflict: the later registration exits',
    )
    const reason: ExitReason = { name_conflict: winner }
    this.scheduleCompaction()
    const hook = this.beforeConflictExit
    if (hook === undefined) {
      this.node.runtime.exit(loser, reason)
      return
    }
    const name = decodeName(key)
    withTimeout(
      this.node.clock,
      hook(name, loser, winner, meta),
      this.opts.callTimeoutMs,
      'the conflict hook',
    )
      .catch((err: unknown) =>
        this.node.logger.warn(
          { err, registry: this.name, name: describeName(name), loser, winner },
          'name conflict: the hook failed; the loser exits all the same',
        ),
      )
      .finally(() => this.node.runtime.exit(loser, reason))
  }

  private unregisterLocal(key: string, reason: UnregisterReason): boolean {
    const v = this.views.get(this.node.id)?.names.get(key)
    if (!isLive(v)) return false
    this.writeOwn((names) => names.set(key, { x: reason, p: v.p }))
    this.ownLive--
    this.ownDead++
    this.localKeys.get(v.p)?.delete(key)
    this.recompute(key)
    this.scheduleCompaction()
    return true
  }

  private onExit(pid: Pid): void {
    const keys = this.localKeys.get(pid)
    const groups = this.localGroups.get(pid)
    if (keys === undefined && groups === undefined) return
    this.localKeys.delete(pid)
    this.localGroups.delete(pid)
    if (this.stopped) return
    const removed: string[] = []
    this.writeOwn((names, groupMap) => {
      for (const key of keys ?? []) {
        const v = names.get(key)
        if (!isLive(v) || v.p !== pid) continue
        names.set(key, { x: 'exit', p: pid })
        removed.push(key)
      }
      for (const g of groups ?? []) groupMap.delete(g + GROUP_SEP + pid)
    })
    this.ownLive -= removed.length
    this.ownDead += removed.length + (groups?.size ?? 0)
    for (const key of removed) this.recompute(key)
    for (const g of groups ?? []) this.removeMember(g, pid)
    this.scheduleCompaction()
  }

  // ------------------------------------------------------------------ docs of other nodes

  /** `doc` is now `owner`'s current doc (a first one, or a newer generation). */
  private onAttach(owner: NodeId, doc: Y.Doc): void {
    const names = doc.getMap<Value>('names')
    const groups = doc.getMap<number>('groups')
    const info = doc.getMap<unknown>('info')
    const previous = this.views.get(owner)
    let detach = (): void => {}
    if (owner !== this.node.id) {
      const onNames = (event: Y.YMapEvent<Value>): void => {
        if (this.views.get(owner)?.names !== names) return
        for (const key of event.keysChanged as Set<string>) {
          const v = names.get(key)
          if (isLive(v)) this.clock.observe(v.c)
          this.recompute(key)
        }
      }
      const onGroups = (event: Y.YMapEvent<number>): void => {
        if (this.views.get(owner)?.groups !== groups || !this.isLiveNode(owner)) return
        for (const gk of event.keysChanged as Set<string>) this.applyGroupKey(gk, groups.has(gk))
      }
      names.observe(onNames)
      groups.observe(onGroups)
      detach = () => {
        names.unobserve(onNames)
        groups.unobserve(onGroups)
      }
    }
    this.views.set(owner, { doc, names, groups, info, detach })
    previous?.detach()
    // Names and members as they now stand; only real changes emit events.
    const keys = new Set<string>(names.keys())
    if (previous !== undefined) for (const k of previous.names.keys()) keys.add(k)
    for (const key of keys) {
      const v = names.get(key)
      if (isLive(v)) this.clock.observe(v.c)
      this.recompute(key)
    }
    if (owner !== this.node.id && this.isLiveNode(owner)) {
      if (previous !== undefined)
        for (const gk of previous.groups.keys()) this.applyGroupKey(gk, groups.has(gk))
      for (const gk of groups.keys()) this.applyGroupKey(gk, true)
    }
  }

  private applyGroupKey(gk: string, present: boolean): void {
    const sep = gk.lastIndexOf(GROUP_SEP)
    if (sep < 0) return
    const gkey = gk.slice(0, sep)
    const pid = gk.slice(sep + 1) as Pid
    if (present) this.addMember(gkey, pid)
    else this.removeMember(gkey, pid)
  }

  private onNodeDown(node: NodeId): void {
    const v = this.views.get(node)
    if (v !== undefined) this.refresh(v, false)
  }

  private onNodeUp(node: NodeId): void {
    const v = this.views.get(node)
    if (v !== undefined) this.refresh(v, true)
  }

  /** `node`'s doc is gone (its registry stopped, or it was down too long): its names go. */
  private forgetView(node: NodeId): void {
    const v = this.views.get(node)
    if (v === undefined) return
    this.views.delete(node)
    v.detach()
    this.refresh(v, false)
  }

  /** Recomputes every name of a node's doc, and adds (or removes) its group members. */
  private refresh(v: View, members: boolean): void {
    for (const key of v.names.keys()) this.recompute(key)
    for (const gk of v.groups.keys()) this.applyGroupKey(gk, members)
  }

  private isLiveNode(node: NodeId): boolean {
    return node === this.node.id || this.node.isUp(node)
  }

  private serverOf(node: NodeId): Pid | undefined {
    if (!this.isLiveNode(node)) return undefined
    const server = this.views.get(node)?.info.get('server')
    return typeof server === 'string' ? (server as Pid) : undefined
  }

  /** Resolves once every live node running this registry has applied this node's writes. */
  private async awaitReplication(): Promise<void> {
    const request: ServerRequest = { op: 'sync' }
    const calls: Array<Promise<unknown>> = []
    for (const node of this.views.keys()) {
      if (node === this.node.id) continue
      const server = this.serverOf(node)
      if (server !== undefined) {
        calls.push(this.node.runtime.call(server, request, { timeoutMs: this.opts.callTimeoutMs }))
      }
    }
    await Promise.all(calls)
  }

  // ------------------------------------------------------------------ this node's doc

  private writeOwn(fn: (names: Y.Map<Value>, groups: Y.Map<number>) => void): void {
    const own = this.views.get(this.node.id)
    if (own === undefined) throw new RegistryStopped(this.name)
    this.cdocs.write(() => fn(own.names, own.groups))
  }

  private scheduleCompaction(): void {
    if (this.compactScheduled) return
    if (this.ownDead <= Math.max(this.opts.compactMinDead, this.ownLive * this.opts.compactRatio))
      return
    this.compactScheduled = true
    setImmediate(() => {
      this.compactScheduled = false
      if (!this.stopped) this.compact()
    })
  }

  /**
   * Publishes this node's entries as a new generation holding only live ones, then drops the
   * old: memory stays proportional to live names however many came and went.
   */
  compact(): void {
    const own = this.views.get(this.node.id)
    if (own === undefined) return
    const live: Array<[string, LiveValue]> = []
    for (const [key, v] of own.names) if (isLive(v)) live.push([key, v])
    const groupKeys = [...own.groups.keys()]
    this.cdocs.compact((d) => {
      const names = d.getMap<Value>('names')
      const groups = d.getMap<number>('groups')
      for (const [key, v] of live) names.set(key, v)
      for (const gk of groupKeys) groups.set(gk, 1)
    })
    this.ownLive = live.length
    this.ownDead = 0
    this.node.logger.debug(
      { registry: this.name, gen: this.cdocs.generation, live: live.length },
      'registry doc compacted',
    )
  }

  /** Sizes for metrics and tests: live names here, dead weight in this node's doc, generation. */
  stats(): { names: number; ownLive: number; ownDead: number; generation: number; nodes: number } {
    return {
      names: this.winners.size,
      ownLive: this.ownLive,
      ownDead: this.ownDead,
      generation: this.cdocs.generation,
      nodes: this.views.size,
    }
  }

  // ------------------------------------------------------------------ lifecycle

  /** Stops this node's part of the registry: its names and memberships go, everywhere. */
  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    for (const u of this.unsubscribe) u()
    for (const v of this.views.values()) v.detach()
    this.views.clear()
    this.winners.clear()
    this.groupMembers.clear()
    this.cdocs.stop(true)
    if (this.node.runtime.isAlive(this.server))
      await this.node.runtime.stop(this.server, 'shutdown')
  }

  private assertRunning(): void {
    if (this.stopped) throw new RegistryStopped(this.name)
  }
}
