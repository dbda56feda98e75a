// The load of one node over time: samples of its message counters (for the rates the page
// shows) and an event-loop delay histogram of its own, read over windows of a few seconds.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'
import type { Node } from '@swormjs/cluster'

/** Rates are computed over the samples of about this long. */
const RATE_WINDOW_MS = 5000

interface Sample {
  t: number
  handled: number
  in: number
  out: number
}

/** Event-loop delay in ms. */
export interface Delay {
  mean: number
  p99: number
  max: number
}

export class LoadSampler {
  private readonly node: Node
  private samples: Sample[] = []
  /**
   * Its own event-loop histogram rather than `runtime.eventLoopDelay({ reset })`: resetting the
   * runtime's would change what every other reader of it sees.
   */
  private readonly delay: IntervalHistogram
  private lastWindow: Delay | undefined

  constructor(node: Node) {
    this.node = node
    this.delay = monitorEventLoopDelay({ resolution: 10 })
    this.delay.enable()
    this.sample()
  }

  /** The counters now. */
  now(): Sample {
    const net = this.node.stats()
    return {
      t: this.node.clock.now(),
      handled: this.node.runtime.stats().messages,
      in: net.messagesIn,
      out: net.messagesOut,
    }
  }

  /** Per second from the oldest sample kept to `now` (0 until they are 0.9 s apart). */
  rates(now: Sample): { messagesHandled: number; messagesIn: number; messagesOut: number } {
    const oldest = this.samples[0]
    const dt = oldest === undefined ? 0 : (now.t - oldest.t) / 1000
    const rate = (k: 'handled' | 'in' | 'out'): number =>
      oldest !== undefined && dt >= 0.9 ? Math.max(0, (now[k] - oldest[k]) / dt) : 0
    return { messagesHandled: rate('handled'), messagesIn: rate('in'), messagesOut: rate('out') }
  }

  /** Keeps a sample, dropping those older than the rate window (always two at least). */
  sample(): void {
    const s = this.now()
    this.samples.push(s)
    while (this.samples.length > 2 && s.t - this.samples[0]!.t > RATE_WINDOW_MS)
      this.samples.shift()
  }

  /** Event-loop delay over the last completed window (since the start before the first one ends). */
  eventLoopDelay(): Delay {
    return this.lastWindow ?? this.readDelay()
  }

  /** Ends the current window of the event-loop delay. */
  endWindow(): void {
    this.lastWindow = this.readDelay()
    this.delay.reset()
  }

  close(): void {
    this.delay.disable()
  }

  private readDelay(): Delay {
    const h = this.delay
    if (h.count === 0) return { mean: 0, p99: 0, max: 0 }
    const ms = (ns: number): number => (Number.isFinite(ns) ? ns / 1e6 : 0)
    return { mean: ms(h.mean), p99: ms(h.percentile(99)), max: ms(h.max) }
  }
}
