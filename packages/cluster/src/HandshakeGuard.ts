// What keeps strangers from crowding out real peers at `/cluster`, or flooding the log: the slots
// of the connections still in their handshake, and a log that speaks once per source per interval
// with every string a stranger chose clipped.
import type { WebSocket } from 'ws'
import type { Clock, Logger } from '@swormjs/actor'
import { nodeDefaults } from './defaults.js'

/** One incoming connection in its handshake. */
interface Slot {
  readonly source: string
  readonly since: number
  /** `open`: no Hello yet; `stranger`: a Hello from a node this one never met; `member`: from one it knows. */
  stage: 'open' | 'stranger' | 'member'
}

/**
 * The slots of the handshakes in progress: at most `max` at once. When they are all taken, a new
 * connection takes the slot of the oldest one that has not said hello yet, else of the oldest
 * stranger; members (nodes this one has met) are never pushed out. A real peer says hello in its
 * first round trip, so idle sockets, however many, never keep it out.
 */
export class HandshakeSlots {
  private readonly max: number
  private readonly clock: Clock
  private readonly slots = new Map<WebSocket, Slot>()

  constructor(max: number, clock: Clock) {
    this.max = max
    this.clock = clock
  }

  get size(): number {
    return this.slots.size
  }

  /** Whether one more connection may begin its handshake, pushing out another if need be. */
  admit(): boolean {
    if (this.slots.size < this.max) return true
    const victim = this.oldest('open') ?? this.oldest('stranger')
    if (victim === undefined) return false
    this.slots.delete(victim)
    victim.terminate()
    return true
  }

  add(ws: WebSocket, source: string): void {
    this.slots.set(ws, { source, since: this.clock.now(), stage: 'open' })
  }

  /** `ws` said hello: from a node this one has met (`member`) or not. */
  hello(ws: WebSocket, member: boolean): void {
    const slot = this.slots.get(ws)
    if (slot !== undefined) slot.stage = member ? 'member' : 'stranger'
  }

  remove(ws: WebSocket): void {
    this.slots.delete(ws)
  }

  all(): Iterable<WebSocket> {
    return this.slots.keys()
  }

  private oldest(stage: Slot['stage']): WebSocket | undefined {
    let found: WebSocket | undefined
    let since = Infinity
    for (const [ws, slot] of this.slots) {
      if (slot.stage === stage && slot.since < since) {
        found = ws
        since = slot.since
      }
    }
    return found
  }
}

/** `s` cut to `max` characters, for a log line: a stranger chose it. */
export function clip(s: string | undefined, max: number = nodeDefaults.logStringChars): string {
  if (s === undefined) return ''
  return s.length <= max ? s : `${s.slice(0, max)}… (${s.length} chars)`
}

/**
 * Logs handshake failures at most once per source per `intervalMs`, saying how many it held back.
 * Sources are forgotten wholesale past `maxSources`, so a flood of addresses cannot grow it.
 */
export class SourceLog {
  private readonly logger: Logger
  private readonly clock: Clock
  private readonly seen = new Map<string, { at: number; held: number }>()

  constructor(logger: Logger, clock: Clock) {
    this.logger = logger
    this.clock = clock
  }

  /** Logs `msg` for `source` at `level`, unless it logged for that source within the interval. */
  log(level: 'error' | 'warn', source: string, fields: Record<string, unknown>, msg: string): void {
    const now = this.clock.now()
    const last = this.seen.get(source)
    if (last !== undefined && now - last.at < nodeDefaults.handshakeLogIntervalMs) {
      last.held++
      return
    }
    if (this.seen.size >= nodeDefaults.handshakeLogSources) this.seen.clear()
    const held = last?.held ?? 0
    this.seen.set(source, { at: now, held: 0 })
    this.logger[level]({ source, ...fields, ...(held > 0 ? { held } : {}) }, msg)
  }
}
