// The shapes the observer hands out: an event it recorded, and the JSON snapshot of one node's
// view of the cluster that the page renders (GET /observer/state, and each SSE message).
import type { NodeId } from '@swormjs/actor'

/**
 * Kinds the observer counts (`sworm_<kind>s_total`) besides recording them. Anything else
 * passed to `note` is only recorded.
 */
export type CountedKind = 'handoff' | 'conflict' | 'restart' | 'move' | 'lost'

/** What the layer above reports with `observer.note(...)`. */
export interface ObserverNote {
  /** `handoff`, `conflict`, `restart`, `move` and `lost` are counted; any other kind is only recorded. */
  kind: CountedKind | (string & {})
  /** The sworm it concerns: the `sworm` label of the counters. */
  sworm?: string
  /** The name or child id it concerns. */
  name?: string
  /** A short free text (cut to 300 characters). */
  detail?: string
}

/** One entry of the recent-events ring. */
export interface ObservedEvent {
  /** Wall-clock time it was recorded, ms since the epoch (for people, not for ordering). */
  at: number
  /** `node_up`, `node_down`, `restart`, `move`, `lost`, `conflict`, `handoff`, or a kind given to `note`. */
  kind: string
  /** The node it happened on, by name, when known. */
  node?: string
  /** The sworm (or registry, or supervisor) it concerns, when any. */
  sworm?: string
  /** The name or child id it concerns, when any. */
  name?: string
  /** A short free text. */
  detail?: string
}

/**
 * A node's state as the page shows it: `up`, `unreachable` (silent: suspected, not acted on),
 * `leaving` (said it is going), `down` (lost: a crash, a cut, a timeout), `left` (went
 * gracefully), `known` (heard of, not connected yet).
 */
export type NodeState = 'up' | 'unreachable' | 'leaving' | 'down' | 'left' | 'known'

/** One row of the nodes table: every node this node has ever seen, itself included. */
export interface NodeRow {
  /** The node's incarnation id. */
  id: NodeId
  /** Its human name. */
  name: string
  /** Its cluster URL (`ws://host:port`); its observer page is at the same host and port over http. */
  url: string
  /** Its state as this node sees it. */
  state: NodeState
  /** True for the node that serves this state. */
  self: boolean
  /** Processes running there; only known for this node (`null` for the others). */
  processes: number | null
  /** Children of the observed supervisors running there; `null` when no supervisor is observed. */
  workers: number | null
}

/** The workers of one sworm (or a plain supervisor) per node. */
export interface WorkerGroup {
  /** The sworm's name, or the supervisor's name when it is not part of a sworm. */
  name: string
  /** `sworm` for a sworm's supervisor, `supervisor` for a plain one. */
  kind: 'sworm' | 'supervisor'
  /** Children per node id, for the nodes that run this supervisor and are up. */
  byNode: Record<string, number>
  /** Children on all those nodes together. */
  total: number
}

/** A snapshot of one node's view, as JSON. */
export interface ObserverState {
  /** The node serving it. */
  node: {
    /** Its incarnation id. */
    id: NodeId
    /** Its human name. */
    name: string
    /** Its cluster URL. */
    url: string
  }
  /** Wall-clock time of the snapshot, ms since the epoch. */
  at: number
  /** Every node this node has seen, itself first, then by name. */
  nodes: NodeRow[]
  /** The workers of each observed sworm and supervisor, by name. */
  workers: WorkerGroup[]
  /** Newest first; at most the last 200. */
  events: ObservedEvent[]
  /** Counts of this node: the first two now, the message counters since it started. */
  totals: {
    /** Processes alive on this node now. */
    processes: number
    /** Calls from this node waiting for a reply now. */
    pendingCalls: number
    /** Messages handled by this node's processes (local and remote senders alike). */
    messagesHandled: number
    /** Messages that came in over the mesh. */
    messagesIn: number
    /** Messages that went out over the mesh. */
    messagesOut: number
  }
  /** Per second, over the last few seconds (0 until two samples a second apart exist). */
  rates: {
    /** Messages handled by this node's processes, per second. */
    messagesHandled: number
    /** Messages in over the mesh, per second. */
    messagesIn: number
    /** Messages out over the mesh, per second. */
    messagesOut: number
  }
  /** Event-loop delay over the last completed window (5 s), in ms. */
  eventLoopDelayMs: {
    /** The mean delay, in ms. */
    mean: number
    /** The 99th percentile, in ms. */
    p99: number
    /** The largest delay, in ms. */
    max: number
  }
}
