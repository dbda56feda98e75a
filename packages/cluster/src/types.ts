// The types of what a node tells about other nodes: shared by the node and its peer table.
import type { NodeId } from '@swormjs/actor'

/** What a node knows of another node. */
export interface NodeInfo {
  /** The node's incarnation id (a fresh one at every start). */
  id: NodeId
  /** Its human name, as set by `NodeOptions.name`. */
  name: string
  /** The URL other nodes dial it at (`ws://host:port` or `wss://`). */
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

/** The events of a `Node`, each with its listeners' arguments. */
export interface NodeEvents extends Record<string, unknown[]> {
  /** A node connected and caught up: its docs are replicated here. */
  nodeUp: [node: NodeInfo]
  /**
   * A node is down: its socket closed (`closed`), it stayed silent too long (`timeout`), it
   * left (`leave`), or it broke the protocol (`protocol`). Its pids now fail with `noconnection`.
   */
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
