// Where children go and where they run, read from the members' docs: the live members and the
// actor types each runs, the quorum over the known members, the distribution, `place`, `locate`.
import type * as Y from 'yjs'
import type { NodeId, Pid } from '@swormjs/actor'
import { beats } from '@swormjs/cluster/internal'
import { NoAliveNodes, QuorumNotMet, UnknownActorType } from './errors.js'
import { rendezvous } from './hash.js'
import type { ChildInfo, Distribution } from './types.js'
import type { DocChild } from './records.js'

/** What placement reads from its supervisor: this node, the members' docs, and its own state. */
export interface PlacementHost {
  /** The supervisor's name, for errors. */
  readonly name: string
  /** This node. */
  readonly self: NodeId
  isUp(node: NodeId): boolean
  /**
   * True when a frame came from `node` within the downing bound (see `Failover.watchQuorum`):
   * only such members count for the quorum.
   */
  heardLately(node: NodeId): boolean
  /** Members with a doc of this supervisor. */
  owners(): NodeId[]
  docOf(node: NodeId): Y.Doc | undefined
  /** False while this node leaves or has no quorum: it is placed nothing then. */
  takesChildren(): boolean
}

/** A child seen running on a live member, with its start clock. */
export interface Located {
  node: NodeId
  pid: Pid
  clock: number
}

export class Placement {
  private readonly host: PlacementHost
  private readonly distribution: Distribution
  private readonly quorumSize: number | undefined
  /**
   * Members ever seen, by address (for quorum), less those that left or stopped their
   * supervisor and those forgotten while this side had a quorum. By address, so that a node
   * restarted with a new incarnation counts once.
   */
  private readonly known = new Set<string>()
  /**
   * Addresses of members forgotten (down for `forgetAfterMs`) while this side had no quorum:
   * they still count, and leave `known` once this side has a quorum again.
   */
  private readonly forgotten = new Set<string>()
  /** While `memoized` runs: what it reads once (see `Memo`). */
  private memo: Memo | undefined
  /** The memo of this synchronous step's `memoizedInStep` calls: it goes at the next microtask. */
  private stepMemo: Memo | undefined

  constructor(host: PlacementHost, distribution: Distribution, quorumSize: number | undefined) {
    this.host = host
    this.distribution = distribution
    this.quorumSize = quorumSize
  }

  // ------------------------------------------------------------------ members

  /** A member's doc arrived: it counts for the quorum from now on. */
  noteMember(doc: Y.Doc): void {
    if (isClient(doc)) return // runs no children: no say in the quorum
    const url = urlOf(doc)
    if (url === undefined) return
    this.known.add(url)
    this.forgotten.delete(url)
  }

  /** A member left: it no longer counts for the quorum. */
  memberLeft(node: NodeId): void {
    const url = urlOf(this.host.docOf(node))
    if (url === undefined) return
    this.known.delete(url)
    this.forgotten.delete(url)
  }

  /**
   * A member's doc went: `dropped` (it stopped its supervisor) or `forgotten` (down for
   * `forgetAfterMs`). A member that stopped its supervisor is no longer one. A forgotten one
   * leaves the count too, as every node that saw it down forgets it after the same bound, but
   * only while this side has a quorum without it: a minority side of a long split keeps
   * counting the other side, so forgetting it never gives the minority a quorum.
   */
  memberDetached(doc: Y.Doc, why: 'dropped' | 'forgotten'): void {
    const url = urlOf(doc)
    if (url === undefined) return
    if (why === 'dropped') {
      this.known.delete(url)
      this.forgotten.delete(url)
      return
    }
    this.forgotten.add(url)
    this.settleForgotten()
  }

  /** Member `node`'s children (read once per node in a `memoized` step). */
  childrenOf(node: NodeId): Y.Map<DocChild> | undefined {
    const maps = this.memo?.maps
    if (maps === undefined) return this.host.docOf(node)?.getMap<DocChild>('children')
    if (maps.has(node)) return maps.get(node)
    const children = this.host.docOf(node)?.getMap<DocChild>('children')
    maps.set(node, children)
    return children
  }

  isLive(node: NodeId): boolean {
    return node === this.host.self || this.host.isUp(node)
  }

  /**
   * Live members whose children count as running: leaving or suspended ones included (their
   * children run until they have stopped), unlike placement's `liveMembers`.
   */
  runningMembers(): NodeId[] {
    return this.host.owners().filter((node) => this.isLive(node))
  }

  /**
   * Runs `work`, which places many children in one synchronous step: the live members and
   * their children's maps are read once for all of them, as nothing can change them before the
   * step ends.
   */
  memoized(work: () => void): void {
    this.memo = { members: new Map(), maps: new Map() }
    try {
      work()
    } finally {
      this.memo = undefined
    }
  }

  /**
   * Runs `work` as `memoized` does, and shares the memo with every other `memoizedInStep` call
   * of this synchronous step: the items of one slice of a sliced loop (the orphans of a node that
   * went down, thousands of them, each placed by hash) read the live members once per slice, not
   * once each. The memo goes at the next microtask, when the slice yields; code between two calls
   * of one step is the loop's own, which changes no membership.
   */
  memoizedInStep<T>(work: () => T): T {
    if (this.stepMemo === undefined) {
      this.stepMemo = { members: new Map(), maps: new Map() }
      queueMicrotask(() => {
        this.stepMemo = undefined
      })
    }
    const outer = this.memo
    this.memo = outer ?? this.stepMemo
    try {
      return work()
    } finally {
      this.memo = outer
    }
  }

  /** Live members, not leaving, sorted (those that run `type` if given). */
  liveMembers(type?: string): NodeId[] {
    const kept = this.memo?.members.get(type)
    if (kept !== undefined) return kept
    const out: NodeId[] = []
    for (const node of this.host.owners()) {
      if (!this.isLive(node)) continue
      const info = this.host.docOf(node)?.getMap<unknown>('info')
      if (info === undefined || info.get('leaving') === true || info.get('client') === true) {
        continue
      }
      if (node === this.host.self && !this.host.takesChildren()) continue
      if (type !== undefined && !this.knowsType(node, type)) continue
      out.push(node)
    }
    out.sort()
    this.memo?.members.set(type, out)
    return out
  }

  /** Whether member `node` runs actor type `type` (its `info.actors`). */
  private knowsType(node: NodeId, type: string): boolean {
    const actors = this.host.docOf(node)?.getMap<unknown>('info').get('actors')
    return Array.isArray(actors) && actors.includes(type)
  }

  /** The server of member `node`, which starts, stops and reaches its children. */
  serverOf(node: NodeId): Pid {
    const server = this.host.docOf(node)?.getMap<unknown>('info').get('server')
    if (typeof server !== 'string') {
      throw new NoAliveNodes(`node ${node} runs no server of ${this.host.name}`)
    }
    return server as Pid
  }

  // ------------------------------------------------------------------ children

  /** The live member that takes child `id`: throws `UnknownActorType` or `NoAliveNodes`. */
  place(id: string, type?: string): NodeId {
    const target = this.placeOrNone(id, type)
    if (target !== undefined) return target
    if (this.liveMembers(type).length === 0) {
      const anyKnows = type === undefined || this.host.owners().some((n) => this.knowsType(n, type))
      if (!anyKnows) throw new UnknownActorType(type ?? '')
      throw new NoAliveNodes(`no live member runs actor type ${type}`)
    }
    throw new NoAliveNodes(`the distribution gave no live member for ${id}`)
  }

  /**
   * The live member that takes child `id`, or undefined where `place` throws: for a loop over
   * many children (the last node's leave, where none has anywhere to go), no error is made for
   * each one.
   */
  placeOrNone(id: string, type?: string): NodeId | undefined {
    const members = this.liveMembers(type)
    if (members.length === 0) return undefined
    const d = this.distribution
    const target = typeof d === 'function' ? d(id, members) : rendezvous(id, members)
    return target !== undefined && members.includes(target) ? target : undefined
  }

  /**
   * The live members in the order they would take `id`: the one `place` picks, then the one it
   * would pick without that one, and so on (for rendezvous hashing, by falling score). At most
   * `count` of them. A node that goes down leaves the others' order as it was, so the first of
   * the rest is the one that adopts `id` when the first goes down.
   */
  placementOrder(id: string, count: number, type?: string): NodeId[] {
    const left = [...this.liveMembers(type)]
    const out: NodeId[] = []
    const d = this.distribution
    while (out.length < count && left.length > 0) {
      const next = typeof d === 'function' ? d(id, left) : rendezvous(id, left)
      const at = next === undefined ? -1 : left.indexOf(next)
      if (at < 0) break
      out.push(next!)
      left.splice(at, 1)
    }
    return out
  }

  /** Where `id` runs now on a live member (the earliest start if two copies are seen). */
  locate(id: string): Located | undefined {
    let best: Located | undefined
    const memo = this.memo
    if (memo !== undefined) {
      // In a memoized step (a slice of an orphan scan, of a start window): each live member's
      // children map read once for all of them.
      memo.children ??= this.liveChildren()
      for (const [node, children] of memo.children) best = earliest(best, node, children.get(id))
      return best
    }
    for (const node of this.host.owners()) {
      if (!this.isLive(node)) continue
      best = earliest(best, node, this.childrenOf(node)?.get(id))
    }
    return best
  }

  /** The children's map of each live member. */
  private liveChildren(): Array<[NodeId, Y.Map<DocChild>]> {
    const out: Array<[NodeId, Y.Map<DocChild>]> = []
    for (const node of this.host.owners()) {
      if (!this.isLive(node)) continue
      const children = this.childrenOf(node)
      if (children !== undefined) out.push([node, children])
    }
    return out
  }

  /** Every child running on a live member. */
  running(): ChildInfo[] {
    const out: ChildInfo[] = []
    for (const node of this.runningMembers()) {
      const children = this.childrenOf(node)
      if (children === undefined) continue
      for (const [id, c] of children) out.push({ id, pid: c.p, node, type: c.t, restart: c.r })
    }
    return out
  }

  // ------------------------------------------------------------------ quorum

  /** Known member addresses with a live member behind them. */
  private liveKnown(): number {
    return this.knownAmong(
      this.host
        .owners()
        .filter(
          (node) =>
            node === this.host.self || (this.host.isUp(node) && this.host.heardLately(node)),
        ),
    )
  }

  /** How many known member addresses `nodes` stand for. */
  private knownAmong(nodes: readonly NodeId[]): number {
    const urls = new Set<string>()
    for (const node of nodes) {
      const url = urlOf(this.host.docOf(node))
      if (url !== undefined && this.known.has(url)) urls.add(url)
    }
    return urls.size
  }

  private needed(): number {
    return this.quorumSize ?? Math.floor(this.known.size / 2) + 1
  }

  hasQuorum(): boolean {
    if (this.distribution !== 'quorum') return true
    this.settleForgotten()
    return this.quorumOverKnown()
  }

  /** True when `nodes` (this one included, if it should count) are a quorum of the known members. */
  isQuorum(nodes: readonly NodeId[]): boolean {
    return this.knownAmong(nodes) >= this.needed()
  }

  private quorumOverKnown(): boolean {
    return this.liveKnown() >= this.needed()
  }

  /**
   * Takes the forgotten members out of `known` once this side has a quorum with them still
   * counted, so that forgetting never turns a side without a quorum into one with it. An
   * address a live member has again (a restart at the same address) stays.
   */
  private settleForgotten(): void {
    if (this.forgotten.size === 0 || !this.quorumOverKnown()) return
    const current = new Set<string>()
    for (const node of this.host.owners()) {
      const url = urlOf(this.host.docOf(node))
      if (url !== undefined) current.add(url)
    }
    for (const url of this.forgotten) if (!current.has(url)) this.known.delete(url)
    this.forgotten.clear()
  }

  assertQuorum(): void {
    if (!this.hasQuorum()) throw new QuorumNotMet(this.liveKnown(), this.known.size)
  }
}

/** Whether a member's doc says it runs no children (`hosts: false`). */
function isClient(doc: Y.Doc): boolean {
  return doc.getMap<unknown>('info').get('client') === true
}

/** The address a member's doc gives. */
function urlOf(doc: Y.Doc | undefined): string | undefined {
  const url = doc?.getMap<unknown>('info').get('url')
  return typeof url === 'string' ? url : undefined
}

/**
 * What a `memoized` step reads once: the live members by type, each member's children map, and
 * those of the live members together (for `locate`). The maps are the docs' own, so a child
 * recorded during the step is seen.
 */
interface Memo {
  readonly members: Map<string | undefined, NodeId[]>
  readonly maps: Map<NodeId, Y.Map<DocChild> | undefined>
  children?: Array<[NodeId, Y.Map<DocChild>]>
}

/** `best`, or the copy `c` on `node` where it started earlier (the duplicate rule). */
function earliest(
  best: Located | undefined,
  node: NodeId,
  c: DocChild | undefined,
): Located | undefined {
  if (c === undefined) return best
  return best === undefined || beats({ clock: c.c, node }, best)
    ? { node, pid: c.p, clock: c.c }
    : best
}
