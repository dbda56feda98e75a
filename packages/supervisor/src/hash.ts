// Placement by rendezvous (highest random weight) hashing: each child goes to the member whose
// hash of (child id, node id) is largest. Adding or removing one of N members moves only the
// children that member wins or held: about 1/N of them. Every node computes the same answer
// from the same member list, with no coordination, and so must every release: a rolling
// upgrade mixes them, and nodes that hashed differently would place one child on two nodes.
// The score is `hash32(id + '\u0000' + member)`; the tests hold it to fixed values.

const FNV_OFFSET = 0x811c9dc5
const FNV_PRIME = 0x01000193

/** FNV-1a over the characters of `s`, going on from state `h`. */
function fnv(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, FNV_PRIME)
  }
  return h
}

/** The final avalanche, so that near-equal inputs spread. */
function avalanche(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** 32-bit FNV-1a of a string, with a final avalanche so that near-equal inputs spread. */
export function hash32(s: string): number {
  return avalanche(fnv(FNV_OFFSET, s))
}

/**
 * The member that rendezvous hashing gives `id` to; undefined when there is none. The id's part
 * of each score is hashed once and carried on through each member's name: the same scores as
 * hashing each joined string, without making the strings (a failover scores every orphan).
 */
export function rendezvous<T extends string>(id: string, members: readonly T[]): T | undefined {
  // The id and the separator (char 0: `h ^= 0` leaves h as it is).
  const prefix = Math.imul(fnv(FNV_OFFSET, id), FNV_PRIME)
  let best: T | undefined
  let bestScore = -1
  for (const m of members) {
    const score = avalanche(fnv(prefix, m))
    if (score > bestScore || (score === bestScore && best !== undefined && m < best)) {
      best = m
      bestScore = score
    }
  }
  return best
}
