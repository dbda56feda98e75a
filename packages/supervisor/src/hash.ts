// Placement by rendezvous (highest random weight) hashing: each child goes to the member whose
// hash of (child id, node id) is largest. Adding or removing one of N members moves only the
// children that member wins or held: about 1/N of them. Every node computes the same answer
// from the same member list, with no coordination.

/** 32-bit FNV-1a of a string, with a final avalanche so that near-equal inputs spread. */
export function hash32(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** The member that rendezvous hashing gives `id` to; undefined when there is none. */
export function rendezvous<T extends string>(id: string, members: readonly T[]): T | undefined {
  let best: T | undefined
  let bestScore = -1
  for (const m of members) {
    const score = hash32(`${id}\u0000${m}`)
    if (score > bestScore || (score === bestScore && best !== undefined && m < best)) {
      best = m
      bestScore = score
    }
  }
  return best
}
