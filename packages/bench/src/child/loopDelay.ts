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

/**
 * Node's histogram, the probe and the GC observer run only from the first `takeMaxDelay` (the
 * figures that read them reset them first): the probe reads the process's CPU time 200 times a
 * second, a syscall that cost 3-5 % of a node's CPU here, and a figure that does not look at
 * stalls should not pay for it.
 */
let histogram: ReturnType<typeof monitorEventLoopDelay> | undefined

/** The largest `min(wall, cpu)` of a probe interval since the last reset, in ms. */
let maxBusy = 0
let lastWall = 0
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

/** The longest garbage collection since the last reset, in ms: a stall no code of ours makes. */
let maxGc = 0

/** Starts the histogram, the probe and the GC observer (once); returns the histogram. */
function started(): ReturnType<typeof monitorEventLoopDelay> {
  if (histogram !== undefined) return histogram
  histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
  histogram.enable()
  lastWall = performance.now()
  lastCpu = process.cpuUsage()
  setTimeout(probe, RESOLUTION_MS).unref()
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) maxGc = Math.max(maxGc, entry.duration)
  }).observe({ entryTypes: ['gc'] })
  return histogram
}

/** What {@link takeMaxDelay} reads. */
export interface MaxDelay {
  /** The largest event-loop delay (wall time), in ms. */
  readonly wallMs: number
  /** The largest probe interval bounded by the CPU time used in it, in ms. */
  readonly cpuMs: number
  /** The longest garbage collection, in ms. */
  readonly gcMs: number
}

/** The largest event-loop delays since the last reset (or the first call); then resets. */
export function takeMaxDelay(): MaxDelay {
  const h = started()
  const out = { wallMs: h.count > 0 ? h.max / 1e6 : 0, cpuMs: maxBusy, gcMs: maxGc }
  h.reset()
  maxBusy = 0
  maxGc = 0
  return out
}
