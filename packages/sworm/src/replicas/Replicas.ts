// `replicas: k` (and `persist`) on one node: the copies this node keeps for others (`Copies`,
// behind its `CopyStore`), the replicators of its own delegates, the directory they follow, and
// the store on disk (`persist`) whose names it starts again when the node starts. A name's
// backups are the next `k` nodes of its placement order after its own node; when the directory
// changes (a node joins, leaves or dies), every replicator of this node puts its state on the
// backups it now lacks, in slices.
import type { Logger, NodeId, Pid, RestartPolicy } from '@swormjs/actor'
import { forEachSliced } from '@swormjs/actor/internal'
import type { Node } from '@swormjs/cluster'
import { HybridClock } from '@swormjs/cluster/internal'
import type { Name, Registry } from '@swormjs/registry'
import { AlreadyStarted, type DistributedSupervisor } from '@swormjs/supervisor'
import type { DelegateArgs, DelegateHost, HandoffPayload } from '../Delegate.js'
import type { StoredName, SwormStore } from '../persist/FileStore.js'
import { Copies, CopyStore, bytesOf, decodeState, type GetCopy } from './Copies.js'
import { Replicator } from './Replicator.js'

/** The registry `info` key under which each node publishes its copy store. */
export const COPY_STORE_INFO = 'copies'

/** Names started again from disk at once. */
const RESTORE_IN_FLIGHT = 64
/**
 * Before names come back from disk, the node meets the cluster (so that a name another node
 * adopted while this one was down is seen running there, and not started twice): it waits for a
 * first peer this long, then until every peer it heard of is connected, at most `SETTLE_MS`.
 */
const FIRST_PEER_MS = 1_000
const SETTLE_MS = 5_000
const SETTLE_POLL_MS = 50

/** How often the directory is compared with the last one seen (node events also trigger it). */
const DIRECTORY_CHECK_MS = 500
/**
 * After a node goes down, the backups it held are refilled once this node has started its share
 * of the dead node's names (each of those replicates as it starts), checked this often, and
 * `REFILL_WAIT_MAX_MS` after the change at the latest (see `checkDirectory`).
 */
const REFILL_POLL_MS = 20
const REFILL_WAIT_MAX_MS = 2_000

export interface ReplicasOptions {
  readonly sworm: string
  readonly node: Node
  /** Copies per name (`replicas`). */
  readonly k: number
  readonly maxStateBytes: number
  readonly callTimeoutMs: number
  /** With `persist`: where this node keeps its names on disk. */
  readonly store?: SwormStore
  /** The sworm's restart policy, for the names started again from disk. */
  readonly restart: RestartPolicy
  /**
   * With a shared store: a name whose owner node has been away this long is claimed by the
   * node its hash picks (undefined: no claims, the file store's names are its node's only).
   */
  readonly orphanAfterMs: number | undefined
}

export class Replicas {
  readonly copies: Copies
  /** This node's copy store, published in the registry's info. */
  readonly store: Pid
  private readonly opts: ReplicasOptions
  private readonly logger: Logger
  private readonly clock: HybridClock
  private readonly live = new Set<Replicator>()
  private registry: Registry | undefined
  private supervisor: DistributedSupervisor | undefined
  private directory = ''
  /** The directory changed and the replicators have not been asked to refill yet: since when. */
  private refillSince: number | undefined
  private refillTimer: ReturnType<Node['clock']['setTimeout']> | undefined
  /** Counts the directory's changes: a replicator's backups are found again after one. */
  private generation = 0
  /** The sworm stops here: its names end without leaving the disk (they come back). */
  private stoppingNow = false
  /** Owners of names in a shared store seen away, since when (see `claimOrphans`). */
  private readonly awaySince = new Map<string, number>()
  private orphanTimer: ReturnType<Node['clock']['setTimeout']> | undefined
  private claiming = false
  private warnedFew = false
  private timer: ReturnType<Node['clock']['setTimeout']> | undefined
  private readonly unsubscribe: Array<() => void> = []

  private constructor(opts: ReplicasOptions, copies: Copies, store: Pid) {
    this.opts = opts
    this.copies = copies
    this.store = store
    this.logger = opts.node.logger
    this.clock = new HybridClock(() => opts.node.clock.wallNow())
  }

  static async start(opts: ReplicasOptions): Promise<Replicas> {
    const copies = new Copies()
    const store = await opts.node.runtime.start(CopyStore, {
      copies,
      timeoutMs: opts.callTimeoutMs,
      protocolOf: (n) => opts.node.protocolOf(n),
    })
    return new Replicas(opts, copies, store)
  }

  /** The registry and supervisor of the sworm run: follow the directory from now on. */
  attach(registry: Registry, supervisor: DistributedSupervisor): void {
    this.registry = registry
    this.supervisor = supervisor
    const { node } = this.opts
    this.unsubscribe.push(
      node.on('nodeUp', () => this.checkDirectory()),
      node.on('nodeDown', () => this.checkDirectory()),
    )
    const tick = (): void => {
      this.checkDirectory()
      this.timer = node.clock.setTimeout(tick, DIRECTORY_CHECK_MS)
    }
    this.timer = node.clock.setTimeout(tick, DIRECTORY_CHECK_MS)
    const every = this.opts.orphanAfterMs
    if (every !== undefined && this.opts.store?.orphans !== undefined) {
      const check = (): void => {
        if (!this.claiming) {
          this.claiming = true
          void this.claimOrphans()
            .catch((err: unknown) =>
              this.logger.error({ sworm: this.opts.sworm, err }, 'claiming orphaned names failed'),
            )
            .finally(() => (this.claiming = false))
        }
        this.orphanTimer = node.clock.setTimeout(check, Math.max(50, every / 4))
      }
      this.orphanTimer = node.clock.setTimeout(check, Math.max(50, every / 4))
    }
  }

  /** What delegates need: a replicator each, and the newest copy of an adopted name. */
  delegateHost(): NonNullable<DelegateHost['replicas']> {
    return {
      replicator: (start, delegate, groups) => this.replicator(start, delegate, groups),
      recover: (key) => this.recover(key),
    }
  }

  /**
   * With `persist`: starts again, on this node, every name its store kept, each from its newest
   * state (in slices, `startsInFlight` at a time); a name running elsewhere already is left to
   * it. Resolves with how many came back.
   */
  async restore(): Promise<number> {
    const store = this.opts.store
    if (store === undefined || this.supervisor === undefined) return 0
    const names = store.load()
    if (names.length === 0) return 0
    await this.meetCluster()
    return this.startAgain(names)
  }

  /** Starts `names` again on this node, `RESTORE_IN_FLIGHT` at a time; how many came back. */
  private async startAgain(names: readonly StoredName[]): Promise<number> {
    const store = this.opts.store
    const supervisor = this.supervisor
    if (store === undefined || supervisor === undefined) return 0
    let back = 0
    let next = 0
    const lane = async (): Promise<void> => {
      while (next < names.length) {
        const n = names[next++]!
        this.clock.observe(n.v)
        let handoff: HandoffPayload = { groups: [], kept: true }
        if (n.state !== undefined) {
          const { state, groups } = decodeState(n.state)
          handoff = { state: { value: state }, groups, kept: true }
        }
        const args: DelegateArgs = { key: n.key, type: n.type, args: n.args }
        try {
          await supervisor.restoreChild(
            { id: n.key, type: n.type, args, restart: this.opts.restart },
            handoff,
          )
          back++
        } catch (e) {
          if (AlreadyStarted.is(e)) {
            await store.drop(n.key)
            continue
          }
          this.logger.error(
            { sworm: this.opts.sworm, name: n.key.slice(1), err: e },
            'a name kept on disk could not be started again',
          )
        }
      }
    }
    await Promise.all(Array.from({ length: RESTORE_IN_FLIGHT }, lane))
    return back
  }

  /**
   * With a shared store: the names of nodes away for `orphanAfterMs` (as this node saw them)
   * that hash to this node are claimed (a conditional update: one node wins each) and started.
   */
  private async claimOrphans(): Promise<void> {
    const store = this.opts.store
    const after = this.opts.orphanAfterMs
    if (store?.orphans === undefined || store.claim === undefined || after === undefined) return
    const { node } = this.opts
    const supervisor = this.supervisor
    if (supervisor === undefined || node.isStopping) return
    const now = node.clock.now()
    const names = new Map(node.members().map((m) => [m.id, m.name]))
    const live = supervisor.members().map((id) => names.get(id) ?? id)
    if (!live.includes(node.name)) live.push(node.name)
    const orphans = await store.orphans(live)
    const gone = new Set(orphans.map((o) => o.owner))
    for (const owner of [...this.awaySince.keys()])
      if (!gone.has(owner)) this.awaySince.delete(owner)
    const claimed: StoredName[] = []
    for (const o of orphans) {
      const since = this.awaySince.get(o.owner)
      if (since === undefined) {
        this.awaySince.set(o.owner, now)
        continue
      }
      if (now - since < after) continue
      if (supervisor.placementOrder(o.key, 1)[0] !== node.id) continue
      const name = await store.claim(o.key, o.owner)
      if (name !== undefined) claimed.push(name)
    }
    if (claimed.length === 0) return
    const back = await this.startAgain(claimed)
    this.logger.info(
      { sworm: this.opts.sworm, names: back },
      'names of nodes that did not come back started here',
    )
  }

  /** Waits until this node has met the cluster, or found nobody (see `SETTLE_MS`). */
  private async meetCluster(): Promise<void> {
    const { node } = this.opts
    const start = node.clock.now()
    for (;;) {
      const waited = node.clock.now() - start
      const others = node.members().filter((m) => m.id !== node.id)
      const up = others.filter((m) => m.status === 'up')
      if (up.length > 0 && others.every((m) => m.status !== 'known')) return
      if (up.length === 0 && waited >= FIRST_PEER_MS) return
      if (waited >= SETTLE_MS) return
      await new Promise<void>((r) => node.clock.setTimeout(() => r(), SETTLE_POLL_MS))
    }
  }

  async stop(): Promise<void> {
    for (const u of this.unsubscribe) u()
    this.opts.node.clock.clearTimeout(this.timer)
    this.opts.node.clock.clearTimeout(this.orphanTimer)
    this.opts.node.clock.clearTimeout(this.refillTimer)
    this.live.clear()
    this.copies.clear()
    await this.opts.store?.close()
  }

  /** A name of this node now runs on another node, which kept it on its disk: forget it here. */
  moved(key: string): void {
    void this.opts.store?.drop(key).catch(() => undefined)
  }

  /** The sworm stops on this node (its names that cannot move end, and stay on disk). */
  markStopping(): void {
    this.stoppingNow = true
  }

  private stopping(): boolean {
    return this.stoppingNow || this.opts.node.isStopping
  }

  /** Sizes for stats and tests. */
  stats(): { copies: number; copyBytes: number; replicators: number } {
    return { copies: this.copies.size, copyBytes: this.copies.bytes, replicators: this.live.size }
  }

  private replicator(start: DelegateArgs, delegate: Pid, groups: () => Name[]): Replicator {
    const { sworm, node, maxStateBytes, callTimeoutMs, store } = this.opts
    const key = start.key
    const live = this.live
    let cached: { generation: number; out: Array<[NodeId, Pid]> } | undefined
    const r = new Replicator({
      sworm,
      key,
      runtime: node.runtime,
      logger: node.logger,
      self: delegate,
      backups: (fresh) => {
        // Kept until the directory changes (`checkDirectory`), one of them is down, or a put
        // fails: every replicated answer asks, and finding them reads every member's doc and
        // hashes the name per node.
        if (
          fresh !== true &&
          cached !== undefined &&
          cached.generation === this.generation &&
          cached.out.every(([n]) => node.isUp(n))
        ) {
          return cached.out
        }
        const out = this.backups(key)
        // Fewer than k (a node's copy store not seen yet, or fewer nodes): found again next time.
        cached = out.length < this.opts.k ? undefined : { generation: this.generation, out }
        return out
      },
      storeOf: (n) => this.storeOf(n),
      protocolOf: (n) => node.protocolOf(n),
      version: () => this.clock.now(),
      groups,
      maxStateBytes,
      callTimeoutMs,
      ...(store === undefined
        ? {}
        : {
            persist: {
              put: (v: number, state: Uint8Array | undefined) =>
                store.put({
                  key,
                  v,
                  type: start.type,
                  args: start.args,
                  ...(state === undefined ? {} : { state }),
                }),
              ended: () => (this.stopping() ? Promise.resolve() : store.drop(key)),
            },
          }),
    })
    live.add(r)
    // A replicator lives as long as its delegate.
    node.runtime.monitor(() => {
      live.delete(r)
      r.detach()
    }, delegate)
    return r
  }

  /** The copy stores of `key`'s backups: the next `k` nodes of its placement order but this one. */
  private backups(key: string): Array<[NodeId, Pid]> {
    const { node, k } = this.opts
    const order = this.supervisor?.placementOrder(key, k + 1) ?? []
    // Read once per call: every replicated answer asks for the backups.
    const stores = this.registry?.infoOf(COPY_STORE_INFO)
    const out: Array<[NodeId, Pid]> = []
    for (const n of order) {
      if (n === node.id) continue
      const store = stores?.get(n)
      if (typeof store === 'string') out.push([n, store as Pid])
      if (out.length === k) break
    }
    if (out.length < k && !this.warnedFew && order.length > 0) {
      this.warnedFew = true
      this.logger.warn(
        { sworm: this.opts.sworm, replicas: k, others: out.length },
        'fewer other nodes than replicas: one copy on each of them',
      )
    }
    return out
  }

  private storeOf(node: NodeId): Pid | undefined {
    const store = this.registry?.infoOf(COPY_STORE_INFO).get(node)
    return typeof store === 'string' ? (store as Pid) : undefined
  }

  /**
   * The newest copy of `key`: this node's (it is the first backup, so the adopter, while the
   * directory holds still), else the newest any other node holds.
   */
  private async recover(key: string): Promise<HandoffPayload | undefined> {
    const { node, callTimeoutMs, store, k } = this.opts
    let best = this.copies.take(key)
    if (store?.read !== undefined) {
      // A shared store holds the newest acknowledged state of every name (it is written before
      // the copies are): nothing newer is anywhere else.
      const stored = await store.read(key)
      if (stored?.state !== undefined && (best === undefined || stored.v > best.v)) {
        best = { v: stored.v, bytes: stored.state }
      }
    } else if (best === undefined && k > 0) {
      const others = [...(this.registry?.infoOf(COPY_STORE_INFO) ?? [])].filter(
        ([n, s]) => n !== node.id && typeof s === 'string',
      )
      const ask: GetCopy = { get: key }
      const answers = await Promise.allSettled(
        others.map(([, copyStore]) =>
          node.runtime.call<{ v: number; b: string | Uint8Array } | null>(copyStore as Pid, ask, {
            timeoutMs: callTimeoutMs,
          }),
        ),
      )
      for (const a of answers) {
        if (a.status !== 'fulfilled' || a.value === null) continue
        const bytes = bytesOf(a.value.b)
        if (bytes !== undefined && (best === undefined || a.value.v > best.v)) {
          best = { v: a.value.v, bytes }
        }
      }
    }
    if (best === undefined) return undefined
    this.clock.observe(best.v)
    const { state, groups } = decodeState(best.bytes)
    return { state: { value: state }, groups }
  }

  /**
   * The directory changed: every replicator puts its state on the backups it lacks. While this
   * node adopts the names of a node that went down, that waits (`REFILL_WAIT_MAX_MS` at most):
   * the names that were down come back first. A refill is a put per name whose backup was on the
   * dead node (a third of a 3-node cluster's), and the two competed for one thread: with 10,000
   * names, the adopted ones answered about 1 s after a `kill -9`. Meanwhile those names have
   * their primary and no backup, as they had from the crash on.
   */
  private checkDirectory(): void {
    const { node } = this.opts
    const members = this.supervisor?.members().join(',') ?? ''
    if (members !== this.directory) {
      this.directory = members
      this.generation++
      this.refillSince ??= node.clock.now()
    }
    if (this.refillSince === undefined || this.refillTimer !== undefined) return
    const adopting = (this.supervisor?.stats().adopting ?? 0) > 0
    if (adopting && node.clock.now() - this.refillSince < REFILL_WAIT_MAX_MS) {
      this.refillTimer = node.clock.setTimeout(() => {
        this.refillTimer = undefined
        this.checkDirectory()
      }, REFILL_POLL_MS)
      return
    }
    this.refillSince = undefined
    void forEachSliced([...this.live], (r) => {
      r.refresh()
      return false
    })
  }
}
