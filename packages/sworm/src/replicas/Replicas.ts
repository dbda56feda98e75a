// `replicas: k` on one node: the copies this node keeps for others (`Copies`, behind its
// `CopyStore`), the replicators of its own delegates, and the directory they follow. A name's
// backups are the next `k` nodes of its placement order after its own node; when the directory
// changes (a node joins, leaves or dies), every replicator of this node puts its state on the
// backups it now lacks, in slices.
import { forEachSliced } from '@sworm/actor/internal'
import { type Logger, type NodeId, type Pid } from '@sworm/actor'
import { decodeValue, type Node } from '@sworm/cluster'
import { HybridClock } from '@sworm/cluster/internal'
import type { Name, Registry } from '@sworm/registry'
import type { DistributedSupervisor } from '@sworm/supervisor'
import type { DelegateHost, HandoffPayload } from '../Delegate.js'
import { Copies, CopyStore, type GetCopy } from './Copies.js'
import { Replicator } from './Replicator.js'

/** The registry `info` key under which each node publishes its copy store. */
export const COPY_STORE_INFO = 'copies'

/** How often the directory is compared with the last one seen (node events also trigger it). */
const DIRECTORY_CHECK_MS = 500

export interface ReplicasOptions {
  readonly sworm: string
  readonly node: Node
  /** Copies per name (`replicas`). */
  readonly k: number
  readonly maxStateBytes: number
  readonly callTimeoutMs: number
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
  }

  /** What delegates need: a replicator each, and the newest copy of an adopted name. */
  delegateHost(): NonNullable<DelegateHost['replicas']> {
    return {
      replicator: (key, delegate, groups) => this.replicator(key, delegate, groups),
      recover: (key) => this.recover(key),
    }
  }

  stop(): void {
    for (const u of this.unsubscribe) u()
    this.opts.node.clock.clearTimeout(this.timer)
    this.live.clear()
    this.copies.clear()
  }

  /** Sizes for stats and tests. */
  stats(): { copies: number; copyBytes: number; replicators: number } {
    return { copies: this.copies.size, copyBytes: this.copies.bytes, replicators: this.live.size }
  }

  private replicator(key: string, delegate: Pid, groups: () => Name[]): Replicator {
    const { sworm, node, maxStateBytes, callTimeoutMs } = this.opts
    const live = this.live
    const r = new Replicator({
      sworm,
      key,
      runtime: node.runtime,
      logger: node.logger,
      self: delegate,
      backups: () => this.backups(key),
      storeOf: (n) => this.storeOf(n),
      version: () => this.clock.now(),
      groups,
      maxStateBytes,
      callTimeoutMs,
    })
    live.add(r)
    // A replicator lives as long as its delegate.
    node.runtime.monitor(() => live.delete(r), delegate)
    return r
  }

  /** The copy stores of `key`'s backups: the next `k` nodes of its placement order but this one. */
  private backups(key: string): Array<[NodeId, Pid]> {
    const { node, k } = this.opts
    const order = this.supervisor?.placementOrder(key, k + 1) ?? []
    const out: Array<[NodeId, Pid]> = []
    for (const n of order) {
      if (n === node.id) continue
      const store = this.storeOf(n)
      if (store !== undefined) out.push([n, store])
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
    const { node, callTimeoutMs } = this.opts
    let best = this.copies.take(key)
    if (best === undefined) {
      const others = [...(this.registry?.infoOf(COPY_STORE_INFO) ?? [])].filter(
        ([n, s]) => n !== node.id && typeof s === 'string',
      )
      const ask: GetCopy = { get: key }
      const answers = await Promise.allSettled(
        others.map(([, store]) =>
          node.runtime.call<{ v: number; b: Uint8Array } | null>(store as Pid, ask, {
            timeoutMs: callTimeoutMs,
          }),
        ),
      )
      for (const a of answers) {
        if (a.status !== 'fulfilled' || a.value === null) continue
        if (best === undefined || a.value.v > best.v) {
          best = { v: a.value.v, bytes: a.value.b }
        }
      }
    }
    if (best === undefined) return undefined
    this.clock.observe(best.v)
    const { s, g } = decodeValue(best.bytes) as { s: unknown; g: Name[] }
    return { state: { value: s }, groups: g }
  }

  /** The directory changed: every replicator puts its state on the backups it lacks. */
  private checkDirectory(): void {
    const members = this.supervisor?.members().join(',') ?? ''
    if (members === this.directory) return
    this.directory = members
    void forEachSliced([...this.live], (r) => {
      r.refresh()
      return false
    })
  }
}
