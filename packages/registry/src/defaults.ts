import { actorDefaults } from '@swormjs/actor'
import { nodeDefaults } from '@swormjs/cluster'

/**
 * The defaults of `RegistryOptions`, written once; the call timeout is the actor runtime's own,
 * and forgetting a down node's docs is the node's.
 */
export const registryDefaults = {
  /**
   * Dead entries (tombstones) this node's doc may hold before it is compacted, at the least:
   * compaction runs once they pass `max(compactMinDead, live × compactRatio)`.
   */
  compactMinDead: 10_000,
  /** Dead entries allowed per live one before compaction (see `compactMinDead`). */
  compactRatio: 1,
  /** Ms after which the replicas of a down node are dropped (60 s). */
  forgetAfterMs: nodeDefaults.forgetAfterMs,
  /**
   * Ms a call to another node's registry may take (remote unregister, `awaitReplication`, the
   * conflict check).
   */
  callTimeoutMs: actorDefaults.callTimeoutMs,
} as const
