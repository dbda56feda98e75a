// Follows the sworms of the observed node through `sworm`'s public API: those running, and each
// one that starts later (`SwormInstance.onStart`). Their registries and supervisors reach the
// tracker through its sources; their handoffs and merges become events here.
import { describeName } from '@swormjs/registry'
import { SwormInstance } from '@swormjs/sworm'
import type { Node } from '@swormjs/cluster'
import type { ObserverNote } from './state.js'

/** What the follower needs of the tracker. */
export interface FollowerHost {
  /** Records an event of a sworm (the counted kinds move their counters). */
  note(note: ObserverNote): void
  /** Asks the sources again, so that a sworm started or stopped shows at once. */
  refresh(): void
}

export class SwormFollower {
  private readonly host: FollowerHost
  /** The sworms followed, with what stops listening to each. */
  private readonly followed = new Map<SwormInstance, Array<() => void>>()
  private readonly offStart: () => void

  constructor(node: Node, host: FollowerHost) {
    this.host = host
    for (const sworm of SwormInstance.all(node)) this.follow(sworm)
    this.offStart = SwormInstance.onStart(node, (sworm) => {
      this.follow(sworm)
      host.refresh()
    })
  }

  close(): void {
    this.offStart()
    for (const offs of this.followed.values()) for (const off of offs) off()
    this.followed.clear()
  }

  private follow(sworm: SwormInstance): void {
    if (this.followed.has(sworm)) return
    const name = sworm.name
    // Conflicts are counted from the sworm (its registry's are left alone); a merge is worth a
    // line of its own in the recent events.
    this.followed.set(sworm, [
      sworm.on('handoff', (n, withState) =>
        this.host.note({
          kind: 'handoff',
          sworm: name,
          name: describeName(n),
          detail: withState ? 'with state' : 'without state',
        }),
      ),
      sworm.on('conflict', (n, loser, winner, merged) => {
        // Told on the loser's node only: counted once over the cluster.
        this.host.note({
          kind: 'conflict',
          sworm: name,
          name: describeName(n),
          detail: `${loser} lost the name to ${winner}`,
        })
        if (!merged) return
        this.host.note({
          kind: 'merge',
          sworm: name,
          name: describeName(n),
          detail: "the loser's state went to the winner",
        })
      }),
      sworm.on('stop', () => {
        for (const off of this.followed.get(sworm) ?? []) off()
        this.followed.delete(sworm)
        this.host.refresh()
      }),
    ])
  }
}
