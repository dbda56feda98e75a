// Follows one node and the registries and supervisors it is given: records what happens (nodes
// up and down, restarts, moves, conflicts, notes of the layer above) in its event log, remembers
// every node ever seen, samples the load, and builds the page's snapshot.
import { describeReason, nodeOf, type NodeId, type TimerHandle } from '@swormjs/actor'
import type { Node, NodeInfo } from '@swormjs/cluster'
import { decodeName, describeName, type Registry } from '@swormjs/registry'
import type { DistributedSupervisor } from '@swormjs/supervisor'
import { EventLog, type EventListener } from './EventLog.js'
import { LoadSampler, type Delay } from './LoadSampler.js'
import type {
  CountedKind,
  NodeRow,
  NodeState,
  ObservedEvent,
  ObserverNote,
  ObserverState,
  WorkerGroup,
} from './state.js'

/** A sworm as the observer sees it: its name, its registry and its supervisor. */
export interface ObservedSworm {
  /** The `sworm` label of its metrics and events. */
  name: string
  /** Its registry: names per registry, conflicts. */
  registry: Registry
  /** Its supervisor: workers per node, restarts, moves. */
  supervisor: DistributedSupervisor
}

/** Where the tracker finds what to follow; each is called again on every refresh. */
export interface TrackerSources {
  registries?: (() => Iterable<Registry>) | undefined
  supervisors?: (() => Iterable<DistributedSupervisor>) | undefined
  sworms?: (() => Iterable<ObservedSworm>) | undefined
  /** The sworms running on the node itself (`SwormInstance.all`). */
  nodeSworms?: (() => Iterable<ObservedSworm>) | undefined
}

/** Sources are looked at again this often, so that registries started later are followed. */
const TICK_MS = 1000
/** The event-loop delay is reported over windows of this many ticks. */
const DELAY_WINDOW_TICKS = 5

const COUNTED: ReadonlySet<string> = new Set<CountedKind>([
  'handoff',
  'conflict',
  'restart',
  'move',
  'lost',
])

interface Seen {
  id: NodeId
  name: string
  url: string
  state: NodeState
}

export class Tracker {
  readonly node: Node
  private readonly sources: TrackerSources
  private readonly log: EventLog
  private readonly load: LoadSampler
  private readonly seen = new Map<NodeId, Seen>()
  private readonly registrySubs = new Map<Registry, { sworm: string; off: () => void }>()
  private readonly supervisorSubs = new Map<
    DistributedSupervisor,
    { sworm: string; off: Array<() => void> }
  >()
  private readonly unsubscribe: Array<() => void> = []
  private readonly failedSources = new Set<string>()
  private ticks = 0
  private timer: TimerHandle | undefined
  private closed = false

  constructor(node: Node, sources: TrackerSources) {
    this.node = node
    this.sources = sources
    this.log = new EventLog(node.clock, node.logger)
    this.load = new LoadSampler(node)
    this.unsubscribe.push(
      node.on('nodeUp', (info) => {
        this.remember(info)
        this.record({ kind: 'node_up', node: info.name, detail: info.url }, undefined)
      }),
      node.on('nodeDown', (info, reason) => {
        this.remember(info)
        this.record({ kind: 'node_down', node: info.name, detail: reason }, undefined)
      }),
    )
    this.refresh()
    this.scheduleTick()
  }

  /** Listens to every recorded event; returns the function that stops listening. */
  onEvent(listener: EventListener): () => void {
    return this.log.onEvent(listener)
  }

  /** Records a note of the layer above; the counted kinds move their counters. */
  note(n: ObserverNote): void {
    const kind = n.kind
    this.record(
      {
        kind,
        node: this.node.name,
        ...(n.sworm !== undefined ? { sworm: n.sworm } : {}),
        ...(n.name !== undefined ? { name: n.name } : {}),
        ...(n.detail !== undefined ? { detail: n.detail } : {}),
      },
      COUNTED.has(kind) ? (kind as CountedKind) : undefined,
    )
  }

  /** The registries and supervisors of the sworms running on the node (not merely labelled so). */
  private readonly instanceParts = new WeakSet<object>()

  /** The registries followed now, with the sworm each belongs to ('' for none). */
  registries(): Array<{ registry: Registry; sworm: string }> {
    return [...this.registrySubs].map(([registry, s]) => ({ registry, sworm: s.sworm }))
  }

  /** The supervisors followed now, with the sworm each belongs to ('' for none). */
  supervisors(): Array<{ supervisor: DistributedSupervisor; sworm: string }> {
    return [...this.supervisorSubs].map(([supervisor, s]) => ({ supervisor, sworm: s.sworm }))
  }

  /**
   * Asks the sources again: starts following the registries and supervisors that appeared,
   * stops following those that are gone.
   */
  refresh(): void {
    if (this.closed) return
    const registries = new Map<Registry, string>()
    const supervisors = new Map<DistributedSupervisor, string>()
    for (const r of this.ask('registries', this.sources.registries)) registries.set(r, '')
    for (const s of this.ask('supervisors', this.sources.supervisors)) supervisors.set(s, '')
    // A sworm's name wins over '' when one instance is given both ways.
    const own = this.ask("the node's sworms", this.sources.nodeSworms)
    for (const sw of own) {
      this.instanceParts.add(sw.registry)
      this.instanceParts.add(sw.supervisor)
    }
    const sworms = [...this.ask('sworms', this.sources.sworms), ...own]
    for (const sw of sworms) {
      registries.set(sw.registry, sw.name)
      supervisors.set(sw.supervisor, sw.name)
    }
    for (const [r, sub] of this.registrySubs) {
      if (registries.get(r) === sub.sworm) continue
      sub.off()
      this.registrySubs.delete(r)
    }
    for (const [r, sworm] of registries)
      if (!this.registrySubs.has(r)) this.followRegistry(r, sworm)
    for (const [s, sub] of this.supervisorSubs) {
      if (supervisors.get(s) === sub.sworm) continue
      for (const off of sub.off) off()
      this.supervisorSubs.delete(s)
    }
    for (const [s, sworm] of supervisors) {
      if (!this.supervisorSubs.has(s)) this.followSupervisor(s, sworm)
    }
  }

  /** What the page shows, now. */
  snapshot(): ObserverState {
    const node = this.node
    const now = this.load.now()
    const rt = node.runtime.stats()
    return {
      node: { id: node.id, name: node.name, url: node.url },
      at: node.clock.wallNow(),
      nodes: this.nodeRows(),
      workers: this.workerGroups(),
      events: this.events(),
      totals: {
        processes: rt.processes,
        pendingCalls: rt.pendingCalls,
        messagesHandled: now.handled,
        messagesIn: now.in,
        messagesOut: now.out,
      },
      rates: this.load.rates(now),
      eventLoopDelayMs: this.load.eventLoopDelay(),
    }
  }

  /** Every node ever seen, this one first, then by name. */
  nodeRows(): NodeRow[] {
    for (const m of this.node.members()) this.remember(m)
    const supervisors = [...this.supervisorSubs.keys()]
    const counts = supervisors.map((s) => s.countChildren().byNode)
    const rows: NodeRow[] = []
    for (const s of this.seen.values()) {
      const self = s.id === this.node.id
      rows.push({
        id: s.id,
        name: s.name,
        url: s.url,
        state: s.state,
        self,
        processes: self ? this.node.runtime.processCount : null,
        workers: supervisors.length === 0 ? null : counts.reduce((n, c) => n + (c[s.id] ?? 0), 0),
      })
    }
    return rows.sort((a, b) =>
      a.self !== b.self ? (a.self ? -1 : 1) : a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    )
  }

  /** Workers per node of every followed supervisor, named after its sworm when it has one. */
  workerGroups(): WorkerGroup[] {
    const out: WorkerGroup[] = []
    for (const [s, sub] of this.supervisorSubs) {
      const c = s.countChildren()
      out.push({
        name: sub.sworm !== '' ? sub.sworm : s.name,
        kind: sub.sworm !== '' ? 'sworm' : 'supervisor',
        byNode: c.byNode,
        total: c.active,
      })
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }

  /** The recent events, newest first. */
  events(): ObservedEvent[] {
    return this.log.events()
  }

  /** Event-loop delay over the last completed window (since the start before the first one ends), in ms. */
  eventLoopDelay(): Delay {
    return this.load.eventLoopDelay()
  }

  /** Stops following everything and stops the timer. */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.node.clock.clearTimeout(this.timer)
    for (const off of this.unsubscribe) off()
    for (const sub of this.registrySubs.values()) sub.off()
    for (const sub of this.supervisorSubs.values()) for (const off of sub.off) off()
    this.registrySubs.clear()
    this.supervisorSubs.clear()
    this.log.clear()
    this.load.close()
  }

  // ------------------------------------------------------------------ internals

  private record(e: Omit<ObservedEvent, 'at'>, counted: CountedKind | undefined): void {
    if (this.closed) return
    this.log.record(e, counted)
  }

  private followRegistry(r: Registry, sworm: string): void {
    const off = r.on('unregister', (name, pid, reason) => {
      // A running sworm's conflicts are its own to tell (the `conflict` event of the loser's
      // node, once per conflict, merged or not: see `SwormFollower`).
      if (reason !== 'name_conflict' || this.instanceParts.has(r)) return
      // Every node hears of every conflict; only the loser's node counts it, so that the sum
      // over nodes is the number of conflicts.
      const local = this.node.runtime.isLocal(pid)
      this.record(
        {
          kind: 'conflict',
          node: this.nameOf(nodeOf(pid)),
          ...(sworm !== '' ? { sworm } : {}),
          name: describeName(name),
          detail: `registry ${r.name}: ${pid} lost the name`,
        },
        local ? 'conflict' : undefined,
      )
    })
    this.registrySubs.set(r, { sworm, off })
  }

  private followSupervisor(s: DistributedSupervisor, sworm: string): void {
    // A running sworm's child id is its name's key: shown as the name its user wrote.
    const keyed = this.instanceParts.has(s)
    const base = (id: string): Omit<ObservedEvent, 'at' | 'kind'> => ({
      node: this.node.name,
      ...(sworm !== '' ? { sworm } : {}),
      name: keyed ? describeName(decodeName(id)) : id,
    })
    // These events are emitted only on the node where the child runs (or ran).
    const off = [
      s.on('restarted', (id, pid, reason) =>
        this.record(
          { ...base(id), kind: 'restart', detail: `${pid} after ${describeReason(reason)}` },
          'restart',
        ),
      ),
      s.on('moved', (id, pid, from) =>
        this.record(
          { ...base(id), kind: 'move', detail: `${pid} from ${this.nameOf(from as NodeId)}` },
          'move',
        ),
      ),
      s.on('lost', (id, reason) =>
        this.record({ ...base(id), kind: 'lost', detail: reason }, 'lost'),
      ),
    ]
    this.supervisorSubs.set(s, { sworm, off })
  }

  /** Calls a source, logging (once per source) rather than failing when it throws. */
  private ask<T>(what: string, source: (() => Iterable<T>) | undefined): T[] {
    if (source === undefined) return []
    try {
      const out = [...source()]
      this.failedSources.delete(what)
      return out
    } catch (err) {
      if (!this.failedSources.has(what)) {
        this.failedSources.add(what)
        this.node.logger.error({ err, source: what }, 'observer source threw; ignoring it')
      }
      return []
    }
  }

  private remember(m: NodeInfo): void {
    const s = this.seen.get(m.id)
    if (s === undefined) {
      this.seen.set(m.id, { id: m.id, name: m.name, url: m.url, state: m.status })
      return
    }
    s.name = m.name
    s.url = m.url
    s.state = m.status
  }

  private nameOf(id: NodeId): string {
    if (id === this.node.id) return this.node.name
    return this.seen.get(id)?.name ?? this.node.members().find((m) => m.id === id)?.name ?? id
  }

  private scheduleTick(): void {
    this.timer = this.node.clock.setTimeout(() => {
      this.timer = undefined
      if (this.closed) return
      // A node that stopped (or was killed) has nothing more to tell.
      if (this.node.isStopping) return
      this.ticks++
      this.refresh()
      this.load.sample()
      if (this.ticks % DELAY_WINDOW_TICKS === 0) this.load.endWindow()
      this.scheduleTick()
    }, TICK_MS)
  }
}
