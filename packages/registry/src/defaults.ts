// The defaults of the registry, written once; the call timeout is the actor runtime's own, and
// forgetting a down node's docs is the node's.
import { actorDefaults } from '@swormjs/actor'
import { nodeDefaults } from '@swormjs/cluster'

export const registryDefaults = {
  /** Compact this node's doc once its dead entries pass `max(compactMinDead, live × compactRatio)`. */
  compactMinDead: 10_000,
  /** See `compactMinDead`. */
  compactRatio: 1,
  /** Drop the replicas of a node that has been down this long. */
  forgetAfterMs: nodeDefaults.forgetAfterMs,
  /** Timeout of calls to other nodes' registries (remote unregister, `awaitReplication`, the conflict check). */
  callTimeoutMs: actorDefaults.callTimeoutMs,
} as const
