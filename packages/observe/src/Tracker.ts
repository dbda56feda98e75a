// Follows one node and the registries and supervisors it is given: records what happens (nodes
// up and down, restarts, moves, conflicts, notes of the layer above) in a ring of recent events,
// remembers every node ever seen, samples counters for rates, and builds the page's snapshot.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'
import { describeReason, nodeOf, type NodeId, type TimerHandle } from '@sworm/actor'
import type { Node, NodeInfo } from '@sworm/cluster'
import { describeName, type Registry } from '@sworm/registry'
import type { DistributedSupervisor } from '@sworm/supervisor'
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
  name: string
  registry: Registry
  supervisor: DistributedSupervisor
}

/** Where the tracker finds what to follow; each is called again on every refresh. */
export interface TrackerSources {
  registries?: (() => Iterable<Registry>) | undefined
  supervisors?: (() => Iterable<DistributedSupervisor>) | undefined
  sworms?: (() => Iterable<ObservedSworm>) | undefined
}

/** Told of every recorded event; `counted` is the counter it moves on this node, if any. */
export type EventListener = (event: ObservedEvent, counted: CountedKind | undefined) => void

/** How many recent events are kept. */
export const RING_SIZE = 200
/** Sources are looked at again this often, so that registries started later are followed. */
const TICK_MS = 1000
/** The event-loop delay is reported over windows of this many ticks. */
const DELAY_WINDOW_TICKS = 5
/** Rates are computed over the samples of about this long. */
const RATE_WINDOW_MS = 5000
const MAX_DETAIL = 300

const COUNTED: ReadonlySet<string> = new Set<CountedKind>([
  'handoff',
  'conflict',
  'restart',
  'move',
  'lost',
])

interface Sample {
  t: number
  handled: number
  in: number
  out: number
}

interface Seen {
  id: NodeId
  name: string
  url: string
  state: NodeState
}

export class Tracker {
  readonly node: Node
  private readonly sources: TrackerSources
  private readonly ring: ObservedEvent[] = []
  private ringHead = 0
  private readonly listeners = new Set<EventListener>()
  private readonly seen = new Map<NodeId, Seen>()
  private readonly registrySubs = new Map<Registry, { sworm: string; off: () => void }>()
  private readonly supervisorSubs = new Map<
    DistributedSupervisor,
    { sworm: string; off: Array<() => void> }
  >()
  private readonly unsubscribe: Array<() => void> = []
  private readonly failedSources = new Set<string>()
  private samples: Sample[] = []
  /**
   * Its own event-loop histogram rather than `runtime.eventLoopDelay({ reset })`: resetting the
   * runtime's would change what every other reader of it sees.
   */
  private readonly delay: IntervalHistogram
  private lastWindow: { mean: number; p99: number; max: number } | undefined
  private ticks = 0
  private timer: TimerHandle | undefined
  private closed = false

  constructor(node: Node, sources: TrackerSources) {
    this.node = node
    this.sources = sources
    this.delay = monitorEventLoopDelay({ resolution: 10 })
    this.delay.enable()
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
    this.sample()
    this.scheduleTick()
  }

  /** Listens to every recorded event; returns the function that stops listening. */
  onEvent(listener: EventListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
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
    for (const sw of this.ask('sworms', this.sources.sworms)) {
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
    const now = this.sampleNow()
    const oldest = this.samples[0]
    const dt = oldest === undefined ? 0 : (now.t - oldest.t) / 1000
    const rate = (k: 'handled' | 'in' | 'out'): number =>
      oldest !== undefined && dt >= 0.9 ? Math.max(0, (now[k] - oldest[k]) / dt) : 0
    const rt = node.runtime.stats()
    return {
      node: { id: node.id, name: node.name, url: node.url },
      at: Date.now(),
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
      rates: { messagesHandled: rate('handled'), messagesIn: rate('in'), messagesOut: rate('out') },
      eventLoopDelayMs: this.eventLoopDelay(),
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
    const n = this.ring.length
    const out: ObservedEvent[] = []
    for (let i = 1; i <= n; i++) out.push({ ...this.ring[(this.ringHead - i + n) % n]! })
    return out
  }

  /** Event-loop delay over the last completed window (since the start before the first one ends), in ms. */
  eventLoopDelay(): { mean: number; p99: number; max: number } {
    return this.lastWindow ?? this.readDelay()
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
    this.listeners.clear()
    this.delay.disable()
  }

  // ------------------------------------------------------------------ internals

  private record(e: Omit<ObservedEvent, 'at'>, counted: CountedKind | undefined): void {
    if (this.closed) return
    const event: ObservedEvent = { at: Date.now(), ...e }
    if (event.detail !== undefined && event.detail.length > MAX_DETAIL) {
      event.detail = `${event.detail.slice(0, MAX_DETAIL - 1)}…`
    }
    if (this.ring.length < RING_SIZE) this.ring.push(event)
    else this.ring[this.ringHead] = event
    this.ringHead = (this.ringHead + 1) % RING_SIZE
    for (const l of this.listeners) {
      try {
        l(event, counted)
      } catch (err) {
        this.node.logger.error({ err }, 'observer event listener threw')
      }
    }
  }

  private followRegistry(r: Registry, sworm: string): void {
    const off = r.on('unregister', (name, pid, reason) => {
      if (reason !== 'name_conflict') return
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
    const base = (id: string): Omit<ObservedEvent, 'at' | 'kind'> => ({
      node: this.node.name,
      ...(sworm !== '' ? { sworm } : {}),
      name: id,
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

  private sampleNow(): Sample {
    const net = this.node.stats()
    return {
      t: this.node.clock.now(),
      handled: this.node.runtime.stats().messages,
      in: net.messagesIn,
      out: net.messagesOut,
    }
  }

  private sample(): void {
    const s = this.sampleNow()
    this.samples.push(s)
    while (this.samples.length > 2 && s.t - this.samples[0]!.t > RATE_WINDOW_MS)
      this.samples.shift()
  }

  private readDelay(): { mean: number; p99: number; max: number } {
    const h = this.delay
    if (h.count === 0) return { mean: 0, p99: 0, max: 0 }
    const ms = (ns: number): number => (Number.isFinite(ns) ? ns / 1e6 : 0)
    return { mean: ms(h.mean), p99: ms(h.percentile(99)), max: ms(h.max) }
  }

  private scheduleTick(): void {
    this.timer = this.node.clock.setTimeout(() => {
      this.timer = undefined
      if (this.closed) return
      // A node that stopped (or was killed) has nothing more to tell.
      if (this.node.isStopping) return
      this.ticks++
      this.refresh()
      this.sample()
      if (this.ticks % DELAY_WINDOW_TICKS === 0) {
        this.lastWindow = this.readDelay()
        this.delay.reset()
      }
      this.scheduleTick()
    }, TICK_MS)
  }
}
