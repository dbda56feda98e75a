// A `Map` split into 32 maps by a cheap hash of the key, for the tables that grow with the number
// of names or processes on a node (the process table, the registry's winners and local keys).
//
// V8 grows a `Map` by allocating a table twice the size and moving every entry into it, in one
// synchronous step inside the `set` that crossed the bound. On a 2-core machine that step took
// 25-39 ms at 131,072 entries, 48 ms at 262,144 and 94-127 ms at 524,288, and a node that owns
// that many names crosses it in several tables at once (the process table by pid and by serial,
// the doc's own map, the winners, the local keys): a stall of 130 ms or more at the 262,144th
// registration. Split 32 ways, one `set` moves at most a 20th of the entries. A table stays one
// `Map` until it holds `SPLIT_AT` entries (below).
//
// The maps are not the same size: map i takes a share of the keys in proportion to 2^(i/32), so
// their sizes spread evenly over one doubling, and while the whole grows from n to 2n entries
// each map doubles once, one after the other, every n/32 inserts. Equal maps would all double
// within a few inserts of each other, and a batch of inserts in one step would pay for all of
// them: the same stall as one map. The total work of growing is the same as a plain `Map`'s.
//
// The hash reads the key's length and at most five of its characters (the last four and the
// middle one), so it costs a few ns whatever the key's length. Keys that agree on all of those
// land in one map: that is no worse than a plain `Map`. Iteration goes map by map, so it is not
// in insertion order.

/** How many maps. */
const SHARDS = 32
/** The hash's top `SLOT_BITS` bits pick a slot; each slot belongs to one map. */
const SLOT_BITS = 12
/** The golden-ratio multiplier of Fibonacci hashing: its top bits mix every bit of the input. */
const MIX = 0x9e3779b1

/** Slot → map: map i owns a run of slots in proportion to 2^(i/32). */
const slots = ((): Uint8Array => {
  const weights = Array.from({ length: SHARDS }, (_, i) => 2 ** (i / SHARDS))
  const total = weights.reduce((a, b) => a + b, 0)
  const out = new Uint8Array(1 << SLOT_BITS)
  let shard = 0
  let upTo = (weights[0]! / total) * out.length
  for (let slot = 0; slot < out.length; slot++) {
    while (slot >= upTo && shard < SHARDS - 1) upTo += (weights[++shard]! / total) * out.length
    out[slot] = shard
  }
  return out
})()

/** Which of the maps holds `key`: 0 .. SHARDS - 1 (0 for a key that is neither, from untyped code). */
export function shardOf(key: string | number): number {
  let h = 0
  if (typeof key === 'number') h = Math.imul(key | 0, MIX)
  else if (typeof key === 'string') {
    const n = key.length
    h = n
    for (let i = n > 4 ? n - 4 : 0; i < n; i++) h = Math.imul(h ^ key.charCodeAt(i), MIX)
    // The middle character: names that share a suffix ("user:42:inbox") differ there. For an
    // empty key `charCodeAt` gives NaN, which `^` reads as 0.
    h = Math.imul(h ^ key.charCodeAt(n >> 1), MIX)
  }
  return slots[h >>> (32 - SLOT_BITS)]!
}

/**
 * A table of up to `SPLIT_AT` entries stays one plain `Map` (no hash of ours on each lookup, which
 * costs 20-30 ns here); the insert that reaches `SPLIT_AT` moves it into the 32 maps, a step of
 * about what growing that one map would have cost.
 */
const SPLIT_AT = 1 << 13

/** The part of `Map`'s interface the tables use; iteration is map by map. */
export class ShardedMap<K extends string | number, V> {
  /** All the entries while there are fewer than `SPLIT_AT`; then undefined. */
  private single: Map<K, V> | undefined = new Map<K, V>()
  private shards: Array<Map<K, V>> = []

  get size(): number {
    if (this.single !== undefined) return this.single.size
    let n = 0
    for (const m of this.shards) n += m.size
    return n
  }

  get(key: K): V | undefined {
    return (this.single ?? this.shards[shardOf(key)]!).get(key)
  }

  has(key: K): boolean {
    return (this.single ?? this.shards[shardOf(key)]!).has(key)
  }

  set(key: K, value: V): this {
    const single = this.single
    if (single === undefined) this.shards[shardOf(key)]!.set(key, value)
    else if (single.size < SPLIT_AT - 1 || single.has(key)) single.set(key, value)
    else {
      this.shards = Array.from({ length: SHARDS }, () => new Map<K, V>())
      this.single = undefined
      for (const [k, v] of single) this.shards[shardOf(k)]!.set(k, v)
      this.shards[shardOf(key)]!.set(key, value)
    }
    return this
  }

  delete(key: K): boolean {
    return (this.single ?? this.shards[shardOf(key)]!).delete(key)
  }

  /** Empties the table; it is one `Map` again until it grows. */
  clear(): void {
    this.single = new Map<K, V>()
    this.shards = []
  }

  // Iteration over a split table goes through an array of all the entries (a snapshot: what is
  // added or deleted meanwhile does not show), built from each map's own iterator: a generator
  // handing them out one by one cost 20-25 ms over 10,000 children in one step. Callers neither
  // add nor delete while they iterate.
  entries(): IterableIterator<[K, V]> {
    if (this.single !== undefined) return this.single.entries()
    const out: Array<[K, V]> = []
    for (const m of this.shards) for (const e of m) out.push(e)
    return out[Symbol.iterator]()
  }

  keys(): IterableIterator<K> {
    if (this.single !== undefined) return this.single.keys()
    const out: K[] = []
    for (const m of this.shards) for (const k of m.keys()) out.push(k)
    return out[Symbol.iterator]()
  }

  values(): IterableIterator<V> {
    if (this.single !== undefined) return this.single.values()
    const out: V[] = []
    for (const m of this.shards) for (const v of m.values()) out.push(v)
    return out[Symbol.iterator]()
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries()
  }

  /** The size of each map (one while the table is small), for a test of the spread. */
  shardSizes(): number[] {
    return this.single !== undefined ? [this.single.size] : this.shards.map((m) => m.size)
  }
}

/**
 * A set kept as a `ShardedMap`, for a set that grows large in a few cases only (a process's
 * links: a supervisor linked to 100,000 children). Start with a plain `Set` and move to this
 * one with `grown` once it is big, so that the many small sets cost nothing more.
 */
export class ShardedSet<K extends string | number> {
  private readonly map = new ShardedMap<K, true>()

  /** `set` itself once it holds `SPLIT_AT` keys or more (as a new `ShardedSet`), else `set`. */
  static grown<K extends string | number>(set: Set<K> | ShardedSet<K>): Set<K> | ShardedSet<K> {
    if (!(set instanceof Set) || set.size < SPLIT_AT) return set
    const out = new ShardedSet<K>()
    for (const k of set) out.add(k)
    return out
  }

  get size(): number {
    return this.map.size
  }

  has(key: K): boolean {
    return this.map.has(key)
  }

  add(key: K): this {
    this.map.set(key, true)
    return this
  }

  delete(key: K): boolean {
    return this.map.delete(key)
  }

  [Symbol.iterator](): IterableIterator<K> {
    return this.map.keys()
  }
}
