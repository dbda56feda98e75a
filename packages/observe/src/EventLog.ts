// The observer's recent events: a ring of the last `RING_SIZE`, newest first when read, and the
// listeners told of each one as it is recorded (the metrics' counters, the page's stream).
import type { Clock, Logger } from '@swormjs/actor'
import type { CountedKind, ObservedEvent } from './state.js'

/** Told of every recorded event; `counted` is the counter it moves on this node, if any. */
export type EventListener = (event: ObservedEvent, counted: CountedKind | undefined) => void

/** How many recent events are kept. */
export const RING_SIZE = 200
const MAX_DETAIL = 300

export class EventLog {
  private readonly clock: Clock
  private readonly logger: Logger
  private readonly ring: ObservedEvent[] = []
  private ringHead = 0
  private readonly listeners = new Set<EventListener>()

  constructor(clock: Clock, logger: Logger) {
    this.clock = clock
    this.logger = logger
  }

  /** Listens to every recorded event; returns the function that stops listening. */
  onEvent(listener: EventListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Records an event (stamped with the wall clock, its detail cut) and tells the listeners. */
  record(e: Omit<ObservedEvent, 'at'>, counted: CountedKind | undefined): void {
    const event: ObservedEvent = { at: this.clock.wallNow(), ...e }
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
        this.logger.error({ err }, 'observer event listener threw')
      }
    }
  }

  /** The recent events, newest first. */
  events(): ObservedEvent[] {
    const n = this.ring.length
    const out: ObservedEvent[] = []
    for (let i = 1; i <= n; i++) out.push({ ...this.ring[(this.ringHead - i + n) % n]! })
    return out
  }

  /** Stops telling the listeners. */
  clear(): void {
    this.listeners.clear()
  }
}
