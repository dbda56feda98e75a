// The supervisor's public types: its options, its events, a child as `whichChildren` reports it.
// The parts import them from here, not from the facade, so that no import runs back to it.
import type { ActorClassLike, ExitReason, NodeId, Pid } from '@swormjs/actor'
import type { ChildRecord } from './records.js'

/** Where a child goes: by hash, by hash with a quorum, or by a function of yours. */
export type Distribution =
  'hash' | 'quorum' | ((childId: string, members: readonly NodeId[]) => NodeId | undefined)

/** A function `exec` can run on a child's node: it must be registered under the same name everywhere. */
export type ExecFn = (child: { id: string; pid: Pid }, args: unknown) => unknown

/** Hooks for the layer above (sworm): hand-off before a child moves, state to its next start. */
export interface SupervisorHooks {
  /** Before a child moves away (leave, redistribution): its state, or undefined. Bounded by `handoffTimeoutMs`. */
  beforeMove?(id: string, pid: Pid): Promise<unknown>
  /**
   * A child moved here with a hand-off state while this node runs its id already (two copies of
   * it met after a split): the moved copy's state, for the running child `pid`. The move then
   * ends with `AlreadyStarted`, as it did before the hook.
   */
  movedOntoRunning?(id: string, pid: Pid, handoff: unknown): void
  /** A child of this node now runs on another node: its start there was answered. */
  moved?(id: string): void
}

/** Options of a distributed supervisor (the same on every node that runs it, but `actors` may differ). */
export interface DistributedSupervisorOptions {
  /** The actor types this node can run, by stable name. */
  actors: Record<string, ActorClassLike<never>>
  /**
   * False: this node runs none of the supervisor's children (a client of it). It starts,
   * terminates and finds children on the members that do, and counts for no quorum. Default true.
   */
  hosts?: boolean
  /**
   * Move `temporary` children on a graceful leave too (with the hand-off hook), as the others.
   * Default false: they stop with their node, as OTP stops a temporary child with its
   * supervisor (logged). Either way they are never restarted after an exit or adopted after a
   * crash. A sworm sets it when `handoff` is on: a Swarm user expects a registered process with
   * handoff to follow a leave, whatever its restart policy.
   */
  moveTemporary?: boolean
  /** Default `hash`. */
  distribution?: Distribution
  /** `passive` (default): children stay until their node leaves or dies. `active`: they move to a node that joins and now wins them. */
  redistribution?: 'passive' | 'active'
  /**
   * Bounds of `active` redistribution: each node moves at most `maxMovesPerRound` children per
   * round, a round every `intervalMs`, until none is left to move. Default 1000 and 500 ms.
   */
  rebalance?: RebalanceOptions
  /** Restarts of one child allowed in `maxSeconds` before it is given up. Default 3. */
  maxRestarts?: number
  /** Default 5. */
  maxSeconds?: number
  /** Children this node runs at most. Default: no limit. */
  maxChildren?: number
  /** Default `shutdownMs` of children. Default 5000. */
  shutdownMs?: number
  /**
   * Timeout of calls to other nodes (start, terminate, exec). Default 5000. A start counts it
   * from when it is sent: it may first wait its turn behind this node's other starts to the same
   * node (`StartWindows`).
   */
  callTimeoutMs?: number
  /**
   * `quorum`: wait this long before adopting the children of a node seen down, so that a
   * minority side has stopped its children (their `shutdownMs`, 5 s by default). A minority node
   * stops them once it has not heard from a quorum for the downing bound (a lease, whatever its
   * own detector forgave: see "Quorum" in docs/INTERNALS.md), about when the others could first
   * take it down; this delay is the margin on top. Default 10,000.
   */
  quorumAdoptDelayMs?: number
  /**
   * `quorum`: members needed. Default: a majority of the known members, counted by address:
   * every member seen, less those that left or stopped their supervisor, and less those
   * forgotten (down for `forgetAfterMs`) while this side had a quorum. So a node that crashed and
   * was replaced at a new address stops counting `forgetAfterMs` after the crash, on every node
   * alike, while a minority side of a split that outlasts `forgetAfterMs` keeps counting the
   * other side and stays without a quorum. See "Quorum" in docs/INTERNALS.md.
   */
  quorumSize?: number
  /** Functions `exec` may run on another node, by name. */
  functions?: Record<string, ExecFn>
  /** How long `beforeMove` may take. Default 5000. */
  handoffTimeoutMs?: number
  /** Hooks for the layer above (sworm sets them): hand-off before a move, and after. */
  hooks?: SupervisorHooks
  /**
   * Forget the doc of a node down this long. With `quorum`, a forgotten member then leaves the
   * count of known members, once this side has a quorum (see `quorumSize`). Default 60,000.
   */
  forgetAfterMs?: number
  /** Compact this node's doc once this many removals piled up (or more than live children). Default 10,000. */
  compactMinDead?: number
  /**
   * Two copies of one child seen after a split heals: `earliest` (default) stops the later
   * start; `keep` leaves both to the layer above (sworm: the registry's verdict on the name
   * counts, and the loser ends with `{ shutdown: 'name_conflict' }`).
   */
  duplicates?: 'earliest' | 'keep'
}

/** A child as `whichChildren` reports it. */
export interface ChildInfo {
  /** The child's id, unique across the cluster. */
  id: string
  /** Its current process. */
  pid: Pid
  /** The node it runs on. */
  node: NodeId
  /** Its actor type, by the name in `actors`. */
  type: string
  /** Its restart policy (default `permanent`). */
  restart: ChildRecord['restart']
}

/** Bounds of `active` redistribution (see `DistributedSupervisorOptions.rebalance`). */
export interface RebalanceOptions {
  /** Children one node moves per round, at most (≥ 1). */
  maxMovesPerRound: number
  /** The wait between two rounds, in ms. */
  intervalMs: number
}

/** The events of a `DistributedSupervisor`, about the children of this node. */
export interface SupervisorEvents extends Record<string, unknown[]> {
  /** A round of `active` redistribution ended here: `moved` children went, `left` wait for the next. */
  rebalanced: [moved: number, left: number]
  /** A child was started on this node by `startChild` (or `restoreChild`). */
  started: [id: string, pid: Pid]
  /** A child of this node ended with `reason` and was restarted as `pid`. */
  restarted: [id: string, pid: Pid, reason: ExitReason]
  /** Started here after it ran on `from` (adopted from a dead node, moved by a leave or a redistribution). */
  moved: [id: string, pid: Pid, from: string]
  /** Given up: too many restarts, or no node could run it. */
  lost: [id: string, reason: string]
}

/** Options of `startChild` and `startChildWithInfo`. */
export interface StartOptions {
  /**
   * Gives the wait up: the start rejects with `AbortError`. A start still waiting for its slot
   * is never sent; one sent already may still run (as after a timeout): `whichChildren` tells.
   */
  signal?: AbortSignal
  /**
   * Given to the child's `init` as `start.handoff` on this start only: not kept in the doc, so a
   * restart or an adoption never sees it again (the sworm sends the message that started a name
   * on demand this way, so that it is the worker's first).
   */
  handoff?: unknown
}
