// What a runtime tells about itself: a process's state (read from its record) and the node's
// event-loop delay (a histogram sampled from the first time someone asks).
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'
import type { Pid, Ref } from './Pid.js'
import type { Proc } from './Process.js'

/** What `processInfo` tells about a process. */
export interface ProcessInfo {
  pid: Pid
  name: string | undefined
  kind: string
  status: 'initializing' | 'waiting' | 'runnable' | 'running' | 'exiting'
  mailboxLength: number
  messagesHandled: number
  links: Pid[]
  monitors: Ref[]
  monitoredBy: number
  trapExit: boolean
  parent: Pid | undefined
}

/** Event-loop delay of the node, in milliseconds. */
export interface EventLoopDelay {
  minMs: number
  meanMs: number
  p50Ms: number
  p99Ms: number
  maxMs: number
}

/** What `p` is doing now. */
export function processInfo(p: Proc): ProcessInfo {
  const status: ProcessInfo['status'] =
    p.status === 'initializing'
      ? 'initializing'
      : p.status === 'exiting'
        ? 'exiting'
        : p.running || p.busy
          ? 'running'
          : p.scheduled
            ? 'runnable'
            : 'waiting'
  return {
    pid: p.pid,
    name: p.name,
    kind: p.behavior.constructor.name,
    status,
    mailboxLength: p.mailboxLength,
    messagesHandled: p.handled,
    links: [...(p.links ?? [])],
    monitors: [...(p.monitoring?.keys() ?? [])],
    monitoredBy: p.monitoredBy?.size ?? 0,
    trapExit: p.trapExit,
    parent: p.parent,
  }
}

/** How finely the event-loop delay is sampled, in ms. */
const SAMPLE_RESOLUTION_MS = 10

/** The event-loop delay histogram of one runtime: off until first read, off again at shutdown. */
export class LoopDelay {
  private histogram: IntervalHistogram | undefined

  read(reset: boolean | undefined): EventLoopDelay {
    if (this.histogram === undefined) {
      this.histogram = monitorEventLoopDelay({ resolution: SAMPLE_RESOLUTION_MS })
      this.histogram.enable()
    }
    const h = this.histogram
    const ms = (ns: number): number => (Number.isFinite(ns) ? ns / 1e6 : 0)
    const out: EventLoopDelay = {
      minMs: h.count > 0 ? ms(h.min) : 0,
      meanMs: h.count > 0 ? ms(h.mean) : 0,
      p50Ms: h.count > 0 ? ms(h.percentile(50)) : 0,
      p99Ms: h.count > 0 ? ms(h.percentile(99)) : 0,
      maxMs: h.count > 0 ? ms(h.max) : 0,
    }
    if (reset) h.reset()
    return out
  }

  disable(): void {
    this.histogram?.disable()
  }
}
