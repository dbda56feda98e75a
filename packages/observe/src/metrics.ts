// The Prometheus metrics of one node, in a prom-client registry of its own (several nodes may
// share an OS process, as in tests, so the global default registry would mix them up). Gauges
// and counters read live values in `collect`, when scraped; the event counters move as the
// tracker records events.
import {
  Counter,
  Gauge,
  Histogram,
  Registry as PromRegistry,
  collectDefaultMetrics,
} from 'prom-client'
import type { Node } from '@swormjs/cluster'
import type { Tracker } from './Tracker.js'
import type { CountedKind } from './state.js'

/** What `createMetrics` returns: the registry, and what stops its listeners. */
export interface NodeMetrics {
  registry: PromRegistry
  close(): void
}

/** Buckets of the call latency histogram, in seconds: 50 µs to 10 s. */
const CALL_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
  5, 10,
]

/** Every metric; each also carries the label `node` (the node's name). */
export function createMetrics(
  node: Node,
  tracker: Tracker,
  options: { processMetrics: boolean } = { processMetrics: false },
): NodeMetrics {
  const registry = new PromRegistry()
  registry.setDefaultLabels({ node: node.name })
  if (options.processMetrics) collectDefaultMetrics({ register: registry })
  const registers = [registry]

  // A counter whose value is a running total kept elsewhere (runtime and cluster stats).
  const total = (name: string, help: string, read: () => number): void => {
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset()
        this.inc(read())
      },
    })
  }

  new Gauge({
    name: 'sworm_nodes_up',
    help: 'Nodes up as this node sees them, itself included.',
    registers,
    collect() {
      this.set(node.isStopping ? node.nodes().length : node.nodes().length + 1)
    },
  })
  new Gauge({
    name: 'sworm_nodes_known',
    help: 'Nodes this node has ever heard of (any state), itself included.',
    registers,
    collect() {
      this.set(node.members().length)
    },
  })
  new Gauge({
    name: 'sworm_processes',
    help: 'Processes running on this node.',
    registers,
    collect() {
      this.set(node.runtime.processCount)
    },
  })
  new Gauge({
    name: 'sworm_pending_calls',
    help: 'Calls made by this node still waiting for their reply.',
    registers,
    collect() {
      this.set(node.runtime.stats().pendingCalls)
    },
  })
  total('sworm_processes_spawned_total', 'Processes started on this node.', () => {
    return node.runtime.stats().spawned
  })
  total('sworm_processes_exited_total', 'Processes of this node that ended.', () => {
    return node.runtime.stats().exited
  })
  total(
    'sworm_messages_handled_total',
    "Messages handled by this node's processes, from local and remote senders.",
    () => node.runtime.stats().messages,
  )
  total(
    'sworm_messages_in_total',
    'Messages (sends, casts, calls; not replies) from processes of other nodes, received over the mesh.',
    () => {
      return node.stats().messagesIn
    },
  )
  total(
    'sworm_messages_out_total',
    'Messages (sends, casts, calls; not replies) to processes of other nodes, sent over the mesh.',
    () => {
      return node.stats().messagesOut
    },
  )
  total(
    'sworm_messages_dropped_total',
    'Messages to a node that was not reachable, dropped as in Erlang.',
    () => node.stats().dropped,
  )
  total('sworm_doc_updates_in_total', 'Replicated doc updates received from other nodes.', () => {
    return node.docs.updatesIn
  })
  total('sworm_doc_updates_out_total', 'Replicated doc updates sent to other nodes.', () => {
    return node.docs.updatesOut
  })

  const calls = new Histogram({
    name: 'sworm_call_duration_seconds',
    help: 'Time from call to reply (or failure) of calls made by this node, by outcome (ok: a reply; error: a failure, a timeout, a lost process or node).',
    labelNames: ['outcome'] as const,
    buckets: CALL_BUCKETS,
    registers,
  })
  // Both series exist from the start, so that rate() sees the first call of each.
  calls.zero({ outcome: 'ok' })
  calls.zero({ outcome: 'error' })
  const offCalls = node.runtime.onCallSettled((ms, ok) => {
    calls.observe({ outcome: ok ? 'ok' : 'error' }, ms / 1000)
  })

  /** A gauge per followed registry or supervisor, read from each at every scrape. */
  const perComponent = <L extends 'registry' | 'supervisor', C extends { name: string }>(
    label: L,
    name: string,
    help: string,
    each: () => Iterable<C>,
    read: (c: C) => number,
  ): void => {
    new Gauge({
      name,
      help,
      labelNames: [label],
      registers,
      collect() {
        this.reset()
        for (const c of each()) this.set({ [label]: c.name } as Record<L, string>, read(c))
      },
    })
  }
  const registries = () => [...tracker.registries()].map((t) => t.registry)
  const supervisors = () => [...tracker.supervisors()].map((t) => t.supervisor)
  perComponent(
    'registry',
    'sworm_registered_names',
    'Names a registry resolves, cluster-wide, as this node sees them.',
    registries,
    (r) => r.count(),
  )
  perComponent(
    'registry',
    'sworm_registered_names_local',
    "Live names held by this node's processes, per registry.",
    registries,
    (r) => r.stats().ownLive,
  )
  perComponent(
    'supervisor',
    'sworm_supervisor_children',
    'Children of a distributed supervisor running on live members, cluster-wide, as this node sees them.',
    supervisors,
    (s) => s.countChildren().active,
  )
  perComponent(
    'supervisor',
    'sworm_supervisor_children_local',
    'Children of a distributed supervisor running on this node.',
    supervisors,
    (s) => s.stats().local,
  )
  perComponent(
    'supervisor',
    'sworm_supervisor_adopting',
    'Children of down members this node is adopting now (found, not yet started): above 0 during its share of a failover.',
    supervisors,
    (s) => s.stats().adopting,
  )

  const events: Record<CountedKind, Counter<'sworm'>> = {
    handoff: eventCounter(
      registers,
      tracker,
      'sworm_handoffs_total',
      'Hand-offs of state reported by the sworm layer.',
    ),
    conflict: eventCounter(
      registers,
      tracker,
      'sworm_conflicts_total',
      "Name conflicts this node's processes lost (the sum over nodes counts each conflict once), and conflicts the sworm layer reported.",
    ),
    restart: eventCounter(
      registers,
      tracker,
      'sworm_restarts_total',
      'Children restarted on this node by a distributed supervisor (or reported by the sworm layer).',
    ),
    move: eventCounter(
      registers,
      tracker,
      'sworm_moves_total',
      'Children started on this node after running elsewhere (adopted, moved by a leave or a redistribution).',
    ),
    lost: eventCounter(
      registers,
      tracker,
      'sworm_children_lost_total',
      'Children given up on this node: too many restarts, or no node could run them.',
    ),
  }
  const offEvents = tracker.onEvent((e, counted) => {
    if (counted !== undefined) events[counted].inc({ sworm: e.sworm ?? '' })
  })

  new Gauge({
    name: 'sworm_event_loop_delay_p99_seconds',
    help: '99th percentile of the event-loop delay over the last 5 s window: every process of the node waits this long when the loop is blocked.',
    registers,
    collect() {
      this.set(tracker.eventLoopDelay().p99 / 1000)
    },
  })
  new Gauge({
    name: 'sworm_event_loop_delay_mean_seconds',
    help: 'Mean event-loop delay over the last 5 s window.',
    registers,
    collect() {
      this.set(tracker.eventLoopDelay().mean / 1000)
    },
  })

  new Gauge({
    name: 'sworm_doc_bytes',
    help: 'Bytes of the updates written to the replicated docs this node owns since their last compaction, per component (registry/<name>, supervisor/<name>): an upper bound of what a peer catching up receives, which a compaction brings down to the live content.',
    labelNames: ['doc'] as const,
    registers,
    collect() {
      this.reset()
      const sizes = new Map<string, number>()
      for (const name of node.docs.names(node.id)) {
        const doc = componentOf(name, node.id)
        sizes.set(doc, (sizes.get(doc) ?? 0) + node.docs.updateBytes(name))
      }
      for (const [doc, bytes] of sizes) this.set({ doc }, bytes)
    },
  })
  new Counter({
    name: 'sworm_doc_compactions_total',
    help: "Compactions of this node's doc of a registry or supervisor (each one publishes a new generation).",
    labelNames: ['doc'] as const,
    registers,
    collect() {
      this.reset()
      for (const { registry: r } of tracker.registries()) {
        this.inc({ doc: `registry/${r.name}` }, Math.max(0, r.stats().generation))
      }
      for (const { supervisor: s } of tracker.supervisors()) {
        this.inc({ doc: `supervisor/${s.name}` }, Math.max(0, s.stats().generation))
      }
    },
  })

  return {
    registry,
    close() {
      offCalls()
      offEvents()
    },
  }
}

function eventCounter(
  registers: PromRegistry[],
  tracker: Tracker,
  name: string,
  help: string,
): Counter<'sworm'> {
  return new Counter({
    name,
    help: `${help} Label sworm: '' when not known.`,
    labelNames: ['sworm'],
    registers,
    // A series per observed sworm exists from the start (at 0), so that rate() and increase()
    // see its first event.
    collect() {
      this.inc({ sworm: '' }, 0)
      for (const { sworm } of tracker.supervisors()) this.inc({ sworm }, 0)
      for (const { sworm } of tracker.registries()) this.inc({ sworm }, 0)
    },
  })
}

/**
 * The component a doc belongs to: component docs are named `<component>/<node id>/<generation>`
 * and the generation would make a new series at every compaction.
 */
export function componentOf(docName: string, nodeId: string): string {
  const at = docName.lastIndexOf(`/${nodeId}/`)
  return at > 0 ? docName.slice(0, at) : docName
}
