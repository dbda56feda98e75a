// What this node reads of every node's doc, its own included: a view per node, switched to each
// newer generation, and the `winners` table (name key → pid) recomputed from the views of the
// live nodes by the winner rule (`beats`: earliest registration by HLC, then node id).
import type * as Y from 'yjs'
import { nodeOf, type Emitter, type NodeId, type Pid } from '@swormjs/actor'
import { forEachSliced } from '@swormjs/actor/internal'
import { beats } from '@swormjs/cluster/internal'
import { decodeName, encodeName, isStringKey, type Name } from './names.js'
import {
  isLive,
  type Entry,
  type LiveValue,
  type RegistryEvents,
  type UnregisterReason,
  type Value,
} from './types.js'

/** What the replicas need from their registry. */
export interface ReplicasHost {
  readonly self: NodeId
  isUp(node: NodeId): boolean
  /** Emits `register` and `unregister` when a name's winner changes. */
  readonly events: Pick<Emitter<RegistryEvents>, 'emit'>
  /** A registration clock seen in another node's doc: this node's HLC moves past it. */
  observe(clock: number): void
  /** A membership (`memberKey` of `Groups`) is in, or gone from, the doc of a live node. */
  applyMember(memberKey: string, present: boolean): void
  /** This node's live entry for `key`, held by `loser`, does not win: `winner` holds the name. */
  lost(key: string, loser: Pid, winner: Pid): void
}

/** What this node reads of one node's current doc. */
interface View {
  names: Y.Map<Value>
  groups: Y.Map<number>
  info: Y.Map<unknown>
  detach: () => void
}

export class Replicas {
  private readonly host: ReplicasHost
  /** The current doc of every node that runs this registry, this node's included. */
  private readonly views = new Map<NodeId, View>()
  /** The pid each name resolves to now (live nodes only): see `Winners`. */
  private readonly winners = new Winners()
  /**
   * Recomputations under way in slices (the names of a node that went down or was forgotten):
   * while any runs, a winner whose node is down or gone is recomputed when read.
   */
  private settling = 0
  /** Refreshes under way in slices (a node came back up): until they end, `offer` recomputes. */
  private refreshing = 0
  /** Bumped by `clear()`: a recomputation under way stops. */
  private epoch = 0
  /** Nodes whose switch to a newer generation is being compared in slices: the two generations. */
  private readonly switching = new Map<NodeId, { was: Y.Map<Value>; names: Y.Map<Value> }>()

  constructor(host: ReplicasHost) {
    this.host = host
  }

  /** The pid `key` resolves to now. */
  winner(key: string): Pid | undefined {
    const pid = this.winners.get(key)
    if (this.settling === 0 || pid === undefined || !this.stale(pid)) return pid
    this.recompute(key)
    return this.winners.get(key)
  }

  /** The pid the string name `name` resolves to now: one `Map.get`, no key made. */
  winnerOfString(name: string): Pid | undefined {
    const pid = this.winners.getString(name)
    if (this.settling === 0 || pid === undefined || !this.stale(pid)) return pid
    return this.winner(encodeName(name))
  }

  /** Every name that resolves, with its pid. */
  registered(): Array<[Name, Pid]> {
    const out: Array<[Name, Pid]> = []
    for (const key of this.keys()) {
      const pid = this.winner(key)
      if (pid !== undefined) out.push([decodeName(key), pid])
    }
    return out
  }

  /** Every name with its pid and meta for which `predicate` holds. */
  select(predicate: (name: Name, pid: Pid, meta: unknown) => boolean): Entry[] {
    const out: Entry[] = []
    for (const key of this.keys()) {
      const pid = this.winner(key)
      if (pid === undefined) continue
      const meta = this.metaOf(key, pid)
      const name = decodeName(key)
      if (predicate(name, pid, meta)) out.push({ name, pid, meta })
    }
    return out
  }

  /**
   * The names `pid` holds. For a local process, `local` (the keys it registered) is checked
   * against the winners instead of walking them all.
   */
  namesOf(pid: Pid, local: Iterable<string> | undefined): Name[] {
    if (local !== undefined) return [...local].filter((k) => this.winner(k) === pid).map(decodeName)
    const out: Name[] = []
    for (const key of this.keys()) if (this.winner(key) === pid) out.push(decodeName(key))
    return out
  }

  /**
   * How many names resolve now. For a few turns after a node goes down (while its names are
   * recomputed in slices), it may still count some of them.
   */
  get count(): number {
    return this.winners.size
  }

  /** How many nodes' docs this node follows, its own included. */
  get nodes(): number {
    return this.views.size
  }

  /** The meta of `key`'s entry held by `pid`, read in the doc of `pid`'s node. */
  metaOf(key: string, pid: Pid): unknown {
    const v = this.views.get(nodeOf(pid))?.names.get(key)
    return isLive(v) ? v.m : undefined
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

  /** The registry server of `node`, while it is live and runs this registry. */
  serverOf(node: NodeId): Pid | undefined {
    if (!this.isLiveNode(node)) return undefined
    const server = this.views.get(node)?.info.get('server')
    return typeof server === 'string' ? (server as Pid) : undefined
  }

  /** Every other node whose doc this node follows (up or not). */
  others(): NodeId[] {
    return [...this.views.keys()].filter((node) => node !== this.host.self)
  }

  /** `doc` is now `owner`'s current doc (a first one, or a newer generation). */
  attach(owner: NodeId, doc: Y.Doc): void {
    const names = doc.getMap<Value>('names')
    const groups = doc.getMap<number>('groups')
    const info = doc.getMap<unknown>('info')
    const previous = this.views.get(owner)
    let detach = (): void => {}
    if (owner !== this.host.self) {
      const onNames = (event: Y.YMapEvent<Value>): void => {
        if (this.views.get(owner)?.names !== names) return
        for (const key of event.keysChanged as Set<string>) {
          const v = names.get(key)
          if (isLive(v)) this.host.observe(v.c)
          this.offer(owner, key, v)
        }
      }
      const onGroups = (event: Y.YMapEvent<number>): void => {
        if (this.views.get(owner)?.groups !== groups || !this.isLiveNode(owner)) return
        for (const mk of event.keysChanged as Set<string>) this.host.applyMember(mk, groups.has(mk))
      }
      names.observe(onNames)
      groups.observe(onGroups)
      detach = () => {
        names.unobserve(onNames)
        groups.unobserve(onGroups)
      }
    }
    this.views.set(owner, { names, groups, info, detach })
    previous?.detach()
    // Names and members as they now stand; only real changes emit events.
    const switching = this.switching.get(owner)
    this.switching.delete(owner)
    if (previous === undefined || switching !== undefined) {
      // A first doc, or a newer one while the last switch is still being compared: all of it,
      // and all of the generation that switch came from.
      const keys = new Set<string>(names.keys())
      if (previous !== undefined) for (const k of previous.names.keys()) keys.add(k)
      if (switching !== undefined) for (const k of switching.was.keys()) keys.add(k)
      for (const key of keys) {
        const v = names.get(key)
        if (isLive(v)) this.host.observe(v.c)
        this.recompute(key)
      }
    } else {
      this.compareInSlices(owner, previous.names, names)
    }
    if (owner !== this.host.self && this.isLiveNode(owner)) {
      if (previous !== undefined)
        for (const mk of previous.groups.keys()) this.host.applyMember(mk, groups.has(mk))
      for (const mk of groups.keys()) this.host.applyMember(mk, true)
    }
  }

  /** `node`'s doc is gone (its registry stopped, or it was down too long): its names go. */
  forget(node: NodeId): void {
    const v = this.views.get(node)
    if (v === undefined) return
    this.views.delete(node)
    v.detach()
    this.settle(v)
  }

  nodeDown(node: NodeId): void {
    const v = this.views.get(node)
    if (v !== undefined) this.settle(v)
  }

  nodeUp(node: NodeId): void {
    const v = this.views.get(node)
    if (v !== undefined) this.refresh(v, true)
  }

  /**
   * This node has just written `value`, a live entry of its own, under `key`, which resolved to
   * nothing (its caller read `winner` in the same step): it wins, and nothing is read back from
   * any node's doc. While a sliced refresh, switch or settle runs, `winners` may lag the docs,
   * so the name is recomputed from them as any other change.
   */
  claimed(key: string, value: LiveValue): void {
    if (
      this.refreshing > 0 ||
      this.switching.size > 0 ||
      this.settling > 0 ||
      this.winners.get(key) !== undefined
    ) {
      this.recompute(key)
      return
    }
    this.decide(key, undefined, value.p, this.host.self, value)
  }

  /** Recomputes who holds `key` from the docs of live nodes; emits the change; reports a loss. */
  recompute(key: string): void {
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
    this.decide(key, this.winners.get(key), bestPid, best.node as NodeId)
  }

  /**
   * `owner`'s doc now holds `v` for `key` (an update from another node): reads only the new
   * entry and the current winner's, not every node's doc. A full `recompute` per changed name
   * read each node's doc, so applying a name cost every node one map read per node of the
   * cluster: work that grew with the cluster for every name. Falls back to it when
   * the winner's own entry changed, when the winner's node is not live, and while a sliced
   * refresh or switch is under way (then `winners` may not yet hold a live entry it will hold).
   */
  private offer(owner: NodeId, key: string, v: Value | undefined): void {
    const old = this.winners.get(key)
    const holder = old === undefined ? undefined : nodeOf(old)
    if (holder === owner) return this.recompute(key)
    if (this.refreshing > 0 || this.switching.size > 0) return this.recompute(key)
    // An entry that does not count (gone, or on a node that is down) changed: the winner stands.
    if (!isLive(v) || !this.isLiveNode(owner)) return
    if (holder === undefined) return this.decide(key, old, v.p, owner, v)
    const w = this.views.get(holder)?.names.get(key)
    if (!this.isLiveNode(holder) || !isLive(w) || w.p !== old) return this.recompute(key)
    if (beats({ clock: v.c, node: owner }, { clock: w.c, node: holder }))
      this.decide(key, old, v.p, owner, v)
  }

  /**
   * `key` resolves to `next` (held in `node`'s doc) where it resolved to `old`: emits the change.
   * `entry`: `next`'s entry, when the caller holds it (else it is read from `node`'s doc).
   */
  private decide(
    key: string,
    old: Pid | undefined,
    next: Pid | undefined,
    node: NodeId,
    entry?: LiveValue,
  ): void {
    if (old !== next) {
      if (next === undefined) this.winners.delete(key)
      else this.winners.set(key, next)
      if (old !== undefined)
        this.host.events.emit('unregister', decodeName(key), old, this.whyGone(key, old, next))
      if (next !== undefined) {
        const v = entry ?? this.views.get(node)?.names.get(key)
        this.host.events.emit('register', decodeName(key), next, isLive(v) ? v.m : undefined)
      }
    }
    // A live entry of ours that is not the winner lost a conflict: this node settles it.
    const mine =
      node === this.host.self && entry !== undefined
        ? entry
        : this.views.get(this.host.self)?.names.get(key)
    if (next !== undefined && isLive(mine) && mine.p !== next) this.host.lost(key, mine.p, next)
  }

  /** The registry stopped: no view, no name. */
  clear(): void {
    this.epoch++
    this.switching.clear()
    for (const v of this.views.values()) v.detach()
    this.views.clear()
    this.winners.clear()
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
   * Recomputes every name of a node's doc, in slices as `settle` does (a node that comes back
   * with 100,000 names held the loop for some 170 ms), and adds (or removes) its group members.
   * A small doc is done in the caller's turn: the first slice runs at once.
   */
  private refresh(v: View, members: boolean): void {
    const epoch = this.epoch
    this.refreshing++
    void forEachSliced([...v.names.keys()], (key) => {
      if (this.epoch !== epoch) return true
      this.recompute(key)
      return false
    }).finally(() => this.refreshing--)
    for (const mk of v.groups.keys()) this.host.applyMember(mk, members)
  }

  /**
   * A node went down, or its doc went: its members leave their groups at once, and its names
   * are recomputed in slices (thousands of names, each with its events, held the loop for
   * tens of ms). Meanwhile `winner` recomputes on read any name whose winner's node is down or
   * gone, so that a read (or a registration, which reads first) never sees one of its names.
   */
  private settle(v: View): void {
    for (const mk of v.groups.keys()) this.host.applyMember(mk, false)
    const epoch = this.epoch
    this.settling++
    void forEachSliced([...v.names.keys()], (key) => {
      if (this.epoch !== epoch) return true
      this.recompute(key)
      return false
    }).finally(() => this.settling--)
  }

  /**
   * `owner` switched from the generation holding `was` to the one holding `names` (a
   * compaction): the keys whose entry differs between the two are recomputed, found in slices.
   * A compaction copies the live entries as they are, and a replica that followed the old
   * generation up to the switch finds none that differs; but comparing 10,000 entries or more,
   * in code that runs once per compaction and is never warm, took 20-70 ms. The old generation
   * stays readable after its doc is dropped.
   */
  private compareInSlices(owner: NodeId, was: Y.Map<Value>, names: Y.Map<Value>): void {
    const pass = { was, names }
    this.switching.set(owner, pass)
    const current = (): boolean => this.switching.get(owner) === pass
    const differs = (key: string, v: Value | undefined): void => {
      if (sameEntry(was.get(key), v)) return
      if (isLive(v)) this.host.observe(v.c)
      this.recompute(key)
    }
    const gone = (key: string, v: Value | undefined): void => {
      if (isLive(v) && !names.has(key)) this.recompute(key)
    }
    void forEachSliced(names.entries(), ([key, v]) => {
      if (!current()) return true
      differs(key, v)
      return false
    })
      .then(() =>
        forEachSliced(was.entries(), ([key, v]) => {
          if (!current()) return true
          gone(key, v)
          return false
        }),
      )
      .finally(() => {
        if (current()) this.switching.delete(owner)
      })
  }

  /** True when `pid`'s node is down or its doc is gone: a winner of its is out of date. */
  private stale(pid: Pid): boolean {
    const node = nodeOf(pid)
    return !this.views.has(node) || !this.isLiveNode(node)
  }

  /** The keys that resolve now, as a snapshot (reading a winner may recompute it). */
  private keys(): string[] {
    return this.winners.keys()
  }

  private isLiveNode(node: NodeId): boolean {
    return node === this.host.self || this.host.isUp(node)
  }
}

/** True when two entries of a key decide its winner alike: both live with one pid and clock, or neither live. */
function sameEntry(a: Value | undefined, b: Value | undefined): boolean {
  if (!isLive(a) || !isLive(b)) return !isLive(a) && !isLive(b)
  return a.p === b.p && a.c === b.c
}

/**
 * Name key → the pid it resolves to, in two maps: string names by the name itself, so that
 * `whereis('room:42')`, the lookup behind every message sent by name, is one `Map.get` with the
 * caller's string (making and hashing an `'s' + name` key per lookup took it from about 180 to
 * 450 ns over 100,000 names here); other names (JSON data) by their key. The keys
 * (`encodeName`) stay what the docs hold.
 */
class Winners {
  private readonly strings = new Map<string, Pid>()
  private readonly others = new Map<string, Pid>()

  get size(): number {
    return this.strings.size + this.others.size
  }

  get(key: string): Pid | undefined {
    return isStringKey(key) ? this.strings.get(key.slice(1)) : this.others.get(key)
  }

  getString(name: string): Pid | undefined {
    return this.strings.get(name)
  }

  set(key: string, pid: Pid): void {
    if (!isStringKey(key)) {
      this.others.set(key, pid)
      return
    }
    const name = key.slice(1)
    // A name seen before keeps the key it was first stored under (Map.set keeps it).
    if (this.strings.has(name)) this.strings.set(name, pid)
    else this.strings.set(flat(name), pid)
  }

  delete(key: string): void {
    if (isStringKey(key)) this.strings.delete(key.slice(1))
    else this.others.delete(key)
  }

  clear(): void {
    this.strings.clear()
    this.others.clear()
  }

  /** Every key, as a snapshot. */
  keys(): string[] {
    const out: string[] = []
    for (const name of this.strings.keys()) out.push(encodeName(name))
    for (const key of this.others.keys()) out.push(key)
    return out
  }
}

/**
 * `s` as a string of its own. V8 makes `key.slice(1)` of 13 characters or more a view into
 * `key` (a sliced string), and a `Map` holding such views as keys compares each lookup through
 * the view: `whereis` of a 20-character name took 2-4 times as long as over keys of their own
 * (about 220-620 against 90-150 ns over 100,000 names here). A JSON round trip makes a plain
 * copy, about 0.3 µs once per name.
 */
function flat(s: string): string {
  return s.length < 13 ? s : (JSON.parse(JSON.stringify(s)) as string)
}
