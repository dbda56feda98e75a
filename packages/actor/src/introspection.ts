// What a runtime tells about itself: a process's state (read from its record) and the node's
// event-loop delay (a histogram sampled from the first time someone asks).
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'
import type { Pid, Ref } from './Pid.js'
import type { Proc } from './Process.js'

/** What `processInfo` tells about a process. */
export interface ProcessInfo {
  /** The process. */
  pid: Pid
  /** Its local registered name, if it has one. */
  name: string | undefined
  /** The class name of its actor (`FnProcess` for a function process). */
  kind: string
  /**
   * `initializing` (in `init`), `waiting` (empty mailbox), `runnable` (scheduled), `running`
   * (in a handler, also an async one) or `exiting` (in `terminate`).
   */
  status: 'initializing' | 'waiting' | 'runnable' | 'running' | 'exiting'
  /** Messages in its mailbox not yet handled. */
  mailboxLength: number
  /** Messages it has handled since it started. */
  messagesHandled: number
  /** The pids it is linked to. */
  links: Pid[]
  /** Refs of the monitors it holds on other processes. */
  monitors: Ref[]
  /** How many monitors others hold on it. */
  monitoredBy: number
  /** Whether it traps exits. */
  trapExit: boolean
  /** The pid given as `SpawnOptions.parent` (its supervisor), if any. */
  parent: Pid | undefined
}

/** Event-loop delay of the node, in milliseconds. */
export interface EventLoopDelay {
  /** The smallest delay sampled, in ms (0 before any sample). */
  minMs: number
  /** The mean delay, in ms. */
  meanMs: number
  /** The median delay, in ms. */
  p50Ms: number
  /** The 99th percentile delay, in ms. */
  p99Ms: number
  /** The largest delay sampled, in ms. */
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
