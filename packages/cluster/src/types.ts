// The types of what a node tells about other nodes: shared by the node and its peer table.
import type { NodeId } from '@swormjs/actor'

/** What a node knows of another node. */
export interface NodeInfo {
  id: NodeId
  name: string
  url: string
  /**
   * `known`: heard of through gossip, not connected yet. `unreachable`: connected and up, but
   * silent for longer than its heartbeats make likely; suspected only, nothing is done about it
   * until it is `down` (or speaks again and is `up`).
   */
  status: 'up' | 'unreachable' | 'leaving' | 'down' | 'left' | 'known'
}

/** Why a peer was marked down. */
export type DownReason = 'closed' | 'timeout' | 'leave' | 'protocol'

export interface NodeEvents extends Record<string, unknown[]> {
  nodeUp: [node: NodeInfo]
  nodeDown: [node: NodeInfo, reason: DownReason]
  /** A node that is up went silent: it is suspected, and still counts as up. */
  unreachable: [node: NodeInfo]
  /** An unreachable node was heard from again before it was down. */
  reachable: [node: NodeInfo]
  /**
   * This node itself was paused (its event loop did not run) for `silentMs`: long enough
   * (`acceptableHeartbeatPauseMs` + `downAfterUnreachableMs`) for its peers to have taken it
   * down meanwhile. Emitted before the node handles any message after the pause; a `quorum`
   * supervisor fences itself on it.
   */
  paused: [silentMs: number]
}
