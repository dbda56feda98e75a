// This node's own doc, the only one it writes: its entries and memberships, the count of its live
// and dead entries, and compaction into a new generation once the dead outweigh the live.
import type * as Y from 'yjs'
import type { Logger, Pid } from '@swormjs/actor'
import type { ComponentDocs } from '@swormjs/cluster/internal'
import { RegistryStopped } from './errors.js'
import {
  isLive,
  type LiveValue,
  type Tombstone,
  type UnregisterReason,
  type Value,
} from './types.js'

/** What the own doc needs from its registry. */
export interface OwnDocHost {
  /** The registry's name, for errors and logs. */
  readonly registry: string
  readonly logger: Logger
  /** The component docs, through which this node's doc is written and compacted. */
  readonly docs: Pick<ComponentDocs, 'write' | 'compactInSteps' | 'generation'>
  /** Compact once the dead entries pass `max(compactMinDead, live × compactRatio)`. */
  readonly compactMinDead: number
  readonly compactRatio: number
}

/** The maps of this node's current doc. */
interface OwnMaps {
  names: Y.Map<Value>
  groups: Y.Map<number>
}

export class OwnDoc {
  private readonly host: OwnDocHost
  /** The current generation's maps; undefined once the registry stopped. */
  private maps: OwnMaps | undefined
  /**
   * Keys held by each local process (for cleanup on exit): one key as itself, as most processes
   * hold one (a set each cost ~100 bytes and a fifth of a registration's bookkeeping), several
   * as a set.
   */
  private readonly localKeys = new Map<Pid, string | Set<string>>()
  private live = 0
  private dead = 0
  private compactScheduled = false
  /** A compaction is under way (it runs over several turns). */
  private compacting = false

  constructor(host: OwnDocHost) {
    this.host = host
  }

  /** `doc` is now this node's current doc (the first one, or a newer generation). */
  attach(doc: Y.Doc): void {
    this.maps = { names: doc.getMap<Value>('names'), groups: doc.getMap<number>('groups') }
  }

  /** The registry stopped: every further write throws `RegistryStopped`. */
  detach(): void {
    this.maps = undefined
  }

  /** This node's live entry for `key`. */
  entry(key: string): LiveValue | undefined {
    const v = this.maps?.names.get(key)
    return isLive(v) ? v : undefined
  }

  /** True while this node's entry for `key` is live and held by `pid`. */
  holds(key: string, pid: Pid): boolean {
    return this.entry(key)?.p === pid
  }

  /** The keys the local process `pid` registered (some may have been lost or removed since). */
  keysOf(pid: Pid): Iterable<string> | undefined {
    return asKeys(this.localKeys.get(pid))
  }

  /** Writes `value` (a live entry of a local process) under `key`. */
  register(key: string, value: LiveValue): void {
    this.write((names) => {
      if (names.has(key)) this.dead++
      names.set(key, value)
    })
    this.live++
    this.addLocalKey(value.p, key)
    // Registering over a tombstone adds dead weight too.
    this.scheduleCompaction()
  }

  /**
   * Hands `key`'s live entry from its local process to another local one, `value.p`, keeping its
   * registration time (so a conflict is judged as before). The old process's exit leaves it be.
   */
  rebind(key: string, value: LiveValue): void {
    const old = this.entry(key)
    if (old === undefined) return
    this.write((names) => names.set(key, value))
    this.dead++
    this.dropLocalKey(old.p, key)
    this.addLocalKey(value.p, key)
    this.scheduleCompaction()
  }

  /** Notes that local process `pid` holds `key`. */
  private addLocalKey(pid: Pid, key: string): void {
    const keys = this.localKeys.get(pid)
    if (keys === undefined) this.localKeys.set(pid, key)
    else if (typeof keys !== 'string') keys.add(key)
    else if (keys !== key) this.localKeys.set(pid, new Set([keys, key]))
  }

  /** Notes that local process `pid` no longer holds `key`. */
  private dropLocalKey(pid: Pid, key: string): void {
    const keys = this.localKeys.get(pid)
    if (keys === key) this.localKeys.delete(pid)
    else if (typeof keys === 'object') keys.delete(key)
  }

  /** Replaces the meta of `key`'s live entry (nothing when it is not live). */
  updateMeta(key: string, meta: unknown): void {
    this.write((names) => {
      const v = names.get(key)
      if (!isLive(v)) return
      names.set(key, meta === undefined ? { p: v.p, c: v.c } : { p: v.p, c: v.c, m: meta })
      this.dead++
    })
    this.scheduleCompaction()
  }

  /**
   * Replaces `key`'s live entry by a tombstone saying why (and, for a conflict, who won).
   * Returns the entry removed; undefined, and nothing written, when none was live.
   */
  remove(key: string, reason: UnregisterReason, winner?: Pid): LiveValue | undefined {
    const v = this.entry(key)
    if (v === undefined) return undefined
    const tombstone: Tombstone =
      winner === undefined ? { x: reason, p: v.p } : { x: reason, p: v.p, w: winner }
    this.write((names) => names.set(key, tombstone))
    this.live--
    this.dead++
    this.dropLocalKey(v.p, key)
    this.scheduleCompaction()
    return v
  }

  /** Writes a membership (`memberKey` of `Groups`) of a local process. */
  join(memberKey: string): void {
    this.write((_names, groups) => groups.set(memberKey, 1))
  }

  /** Deletes a membership of a local process. */
  leave(memberKey: string): void {
    this.write((_names, groups) => groups.delete(memberKey))
    this.dead++
    this.scheduleCompaction()
  }

  /** Forgets the keys of `pid`, a local process that exited, and returns them. */
  takeKeys(pid: Pid): Iterable<string> | undefined {
    const keys = this.localKeys.get(pid)
    this.localKeys.delete(pid)
    return asKeys(keys)
  }

  /**
   * `pid` exited: tombstones the `keys` it still held and deletes its `memberKeys`, in one
   * transaction. Returns the keys it held.
   */
  exited(pid: Pid, keys: Iterable<string>, memberKeys: readonly string[]): string[] {
    const removed: string[] = []
    this.write((names, groups) => {
      for (const key of keys) {
        const v = names.get(key)
        if (!isLive(v) || v.p !== pid) continue
        names.set(key, { x: 'exit', p: pid })
        removed.push(key)
      }
      for (const mk of memberKeys) groups.delete(mk)
    })
    this.live -= removed.length
    this.dead += removed.length + memberKeys.length
    this.scheduleCompaction()
    return removed
  }

  /**
   * Publishes this node's entries as a new generation holding only live ones, then drops the
   * old: memory stays proportional to live names however many came and went. The copy runs in
   * steps over several turns (`ComponentDocs.compactInSteps`), writes go on meanwhile; resolves
   * once the new generation is published (at once when a compaction is already under way).
   */
  async compact(): Promise<void> {
    if (this.maps === undefined || this.compacting) return
    this.compacting = true
    try {
      const dead = await this.host.docs.compactInSteps({
        names: (v) => isLive(v as Value),
        groups: () => true,
      })
      if (dead === undefined) return
      this.dead = dead
      this.host.logger.debug(
        { registry: this.host.registry, gen: this.host.docs.generation, live: this.live },
        'registry doc compacted',
      )
    } finally {
      this.compacting = false
    }
    // What piled up meanwhile may call for the next one.
    this.scheduleCompaction()
  }

  /** Live entries, dead weight and generation of this node's doc. */
  stats(): { ownLive: number; ownDead: number; generation: number } {
    return { ownLive: this.live, ownDead: this.dead, generation: this.host.docs.generation }
  }

  private write(fn: (names: Y.Map<Value>, groups: Y.Map<number>) => void): void {
    const own = this.maps
    if (own === undefined) throw new RegistryStopped(this.host.registry)
    this.host.docs.write(() => fn(own.names, own.groups))
  }

  private scheduleCompaction(): void {
    if (this.compactScheduled || this.compacting || this.maps === undefined) return
    if (this.dead <= Math.max(this.host.compactMinDead, this.live * this.host.compactRatio)) return
    this.compactScheduled = true
    setImmediate(() => {
      this.compactScheduled = false
      this.compact().catch((err: unknown) =>
        this.host.logger.error({ registry: this.host.registry, err }, 'compaction failed'),
      )
    })
  }
}

/** A process's keys as `localKeys` holds them (one key as itself), as keys to iterate. */
function asKeys(keys: string | Set<string> | undefined): Iterable<string> | undefined {
  return typeof keys === 'string' ? [keys] : keys
}
