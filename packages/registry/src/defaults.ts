// The defaults of the registry, written once; the call timeout is the actor runtime's own.
import { actorDefaults } from '@sworm/actor'

export const registryDefaults = {
  /** Compact this node's doc once its dead entries pass `max(compactMinDead, live × compactRatio)`. */
  compactMinDead: 10_000,
  /** See `compactMinDead`. */
  compactRatio: 1,
  /** Drop the replicas of a node that has been down this long. */
  forgetAfterMs: 60_000,
  /** Timeout of calls to other nodes' registries (remote unregister, `awaitReplication`, the conflict check). */
  callTimeoutMs: actorDefaults.callTimeoutMs,
} as const
