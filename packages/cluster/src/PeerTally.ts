// What peers did that this node refused (a frame in another node's name, a limit passed):
// counted for `node.stats()`, and logged the first time for each peer only, so that a peer that
// keeps at it cannot flood the log.
import type { NodeId } from '@swormjs/actor'

export class PeerTally {
  /** How many times, over every peer. */
  count = 0
  private readonly logged = new Set<NodeId>()

  /** Counts one more of `peer`'s; true the first time for that peer (the caller logs it). */
  note(peer: NodeId): boolean {
    this.count++
    if (this.logged.has(peer)) return false
    this.logged.add(peer)
    return true
  }
}
