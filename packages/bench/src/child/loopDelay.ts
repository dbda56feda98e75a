// The event-loop delay of a node process, for the figures that look for long synchronous steps:
// Node's own histogram (wall time), and a probe that bounds each delay by the CPU time the
// process used meanwhile, so that a node descheduled on a busy machine is not taken for one
// that ran a long step.
import { PerformanceObserver, monitorEventLoopDelay } from 'node:perf_hooks'

/**
 * How finely the loop is sampled, in ms. The histogram's max reads a stall of d ms as about d
 * to d + 10 ms (a stall that begins just after a sample shows with the wait for the next one).
 */
const RESOLUTION_MS = 10

const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
histogram.enable()

/** The largest `min(wall, cpu)` of a probe interval since the last reset, in ms. */
let maxBusy = 0
let lastWall = performance.now()
let lastCpu = process.cpuUsage()
const probe = (): void => {
  const wall = performance.now() - lastWall
  const used = process.cpuUsage(lastCpu)
  const cpu = (used.user + used.system) / 1000
  maxBusy = Math.max(maxBusy, Math.min(wall, cpu))
  lastWall = performance.now()
  lastCpu = process.cpuUsage()
  setTimeout(probe, RESOLUTION_MS).unref()
}
setTimeout(probe, RESOLUTION_MS).unref()

/** The longest garbage collection since the last reset, in ms: a stall no code of ours makes. */
let maxGc = 0
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) maxGc = Math.max(maxGc, entry.duration)
}).observe({ entryTypes: ['gc'] })

/** What {@link takeMaxDelay} reads. */
export interface MaxDelay {
  /** The largest event-loop delay (wall time), in ms. */
  readonly wallMs: number
  /** The largest probe interval bounded by the CPU time used in it, in ms. */
  readonly cpuMs: number
  /** The longest garbage collection, in ms. */
  readonly gcMs: number
}

/** The largest event-loop delays since the last reset (or the start); then resets. */
export function takeMaxDelay(): MaxDelay {
  const out = { wallMs: histogram.count > 0 ? histogram.max / 1e6 : 0, cpuMs: maxBusy, gcMs: maxGc }
  histogram.reset()
  maxBusy = 0
  maxGc = 0
  return out
}
