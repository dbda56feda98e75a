import { actorDefaults } from '@swormjs/actor'
import { nodeDefaults } from '@swormjs/cluster'

/**
 * The defaults of the distributed supervisor, written once (the options' TSDoc says them): the
 * layers above import them instead of repeating the numbers. Call and shutdown times are actor's.
 */
export const supervisorDefaults = {
  /** Where a child goes. */
  distribution: 'hash',
  /** Children stay on their node until it leaves or dies. */
  redistribution: 'passive',
  /**
   * `active` redistribution moves at most `maxMovesPerRound` children of a node per round, a
   * round every `intervalMs` until none is left to move (Akka rebalances in rounds too: 10% of
   * shards at most, every 10 s); a join then holds few names at a time.
   */
  rebalance: {
    /** Children one node moves per round, at most. */
    maxMovesPerRound: 1000,
    /** Milliseconds between two rounds. */
    intervalMs: 500,
  },
  /** Restarts of one child allowed in `maxSeconds` before it is given up. */
  maxRestarts: actorDefaults.maxRestarts,
  /** The window of `maxRestarts`, in seconds. */
  maxSeconds: actorDefaults.maxSeconds,
  /** Children one node runs at most: no limit. */
  maxChildren: Infinity,
  /** How long a child may take to stop before it is killed. */
  shutdownMs: actorDefaults.shutdownMs,
  /** Timeout of calls to other nodes (start, terminate, exec). */
  callTimeoutMs: actorDefaults.callTimeoutMs,
  /** `quorum`: how long the children of a node seen down wait before they are adopted. */
  quorumAdoptDelayMs: 10_000,
  /**
   * `quorum`: how long a node that fenced itself after a pause waits before it trusts its view
   * of the quorum again. The peers that took it down closed their sockets during the pause, so
   * their closes arrive in its first turns after it: two heartbeat intervals cover them.
   */
  fenceConfirmMs: 2 * nodeDefaults.heartbeatIntervalMs,
  /** How long the `beforeMove` hook may take. */
  handoffTimeoutMs: 5000,
  /** Forget the doc of a node down this long. */
  forgetAfterMs: nodeDefaults.forgetAfterMs,
  /** Compact this node's doc once this many removals piled up (or more than live children). */
  compactMinDead: 10_000,
  /** Two copies of one child after a split heals: the earliest start stays. */
  duplicates: 'earliest',
  /**
   * Children one node moves (leave, redistribution) or adopts at once; the rest wait their
   * turn. Each is a call to a server that starts one child at a time: thousands queued at once
   * would time out one by one while the queue drains, and the first steps of thousands of
   * moves would run as one long synchronous step. A few hundred keep the servers busy.
   */
  startsInFlight: 256,
  /**
   * A node's own `startChild` calls in flight to any one node: a window that starts at
   * `initial`, grows by one per start answered within `slowFraction` of `callTimeoutMs`, and
   * halves (at most once per round trip) when one took longer (StartWindows.ts). The rest wait their
   * turn on the caller, in order, and their `callTimeoutMs` counts from when they are sent. Ten
   * thousand starts asked at once from several nodes then reach each node as a stream it keeps
   * up with, instead of timing out at the back of its queue: the timeout still finds a node
   * that does not answer, not one busy with the callers' own earlier starts.
   */
  startWindow: {
    /** Starts in flight to one node at first. */
    initial: 8,
    /** The window never shrinks below this many. */
    min: 4,
    /** Nor grows past this many. */
    max: 256,
    /** A start answered within this fraction of `callTimeoutMs` counts as fast. */
    slowFraction: 0.1,
  },
} as const
