// The types of what a node tells about other nodes: shared by the node and its peer table.
import type { NodeId } from '@sworm/actor'

/** What a node knows of another node. */
export interface NodeInfo {
  id: NodeId
  name: string
  url: string
  /** `known`: heard of through gossip, not connected yet. */
  status: 'up' | 'leaving' | 'down' | 'left' | 'known'
}

/** Why a peer was marked down. */
export type DownReason = 'closed' | 'timeout' | 'leave' | 'protocol'

export interface NodeEvents extends Record<string, unknown[]> {
  nodeUp: [node: NodeInfo]
  nodeDown: [node: NodeInfo, reason: DownReason]
}
