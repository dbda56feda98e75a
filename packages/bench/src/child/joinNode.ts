// A node process of the scale join figure: a node with the `bench` registry started at once (so
// that a node joining later follows every doc from its first frame), answering the figure's
// JSON-line commands through @swormjs/test's harness (see `serve` below).
//
// Environment: NODE_NAME, SWORM_COOKIE (default: the bench's own), SWORM_LOG_LEVEL (default 'warn').
import { Actor, createLogger, type Pid } from '@swormjs/actor'
import { startNode } from '@swormjs/cluster'
import { Registry } from '@swormjs/registry'
import { emit, intArg, ready, serve, stringArg } from '@swormjs/test'

/** Holds a name; does nothing else. */
class Idle extends Actor<void> {}

const env = process.env
const node = await startNode({
  name: env['NODE_NAME'] ?? `join-${process.pid}`,
  cookie: env['SWORM_COOKIE'] ?? 'bench-cookie-of-the-sworm-suite',
  host: '127.0.0.1',
  port: 0,
  logger: createLogger({ level: (env['SWORM_LOG_LEVEL'] as 'warn' | undefined) ?? 'warn' }),
})
const registry = await Registry.start(node, 'bench')

/** Ms since the epoch with sub-ms precision, comparable across processes of one machine. */
const wallClock = (): number => performance.timeOrigin + performance.now()

/** How often the step probe ticks. */
const PROBE_MS = 10

/**
 * The longest step of this process's event loop: a timer every `PROBE_MS` sees how late it
 * fires and how much CPU time the process spent meanwhile. On a shared machine a late timer may
 * only mean the process was not scheduled, so a step counts no more than the CPU time it took.
 */
class StepProbe {
  maxLateMs = 0
  maxStepMs = 0
  private last = performance.now()
  private cpu = process.cpuUsage()

  constructor() {
    setInterval(() => this.tick(), PROBE_MS).unref()
  }

  reset(): void {
    this.maxLateMs = 0
    this.maxStepMs = 0
  }

  private tick(): void {
    const now = performance.now()
    const used = process.cpuUsage(this.cpu)
    const late = now - this.last - PROBE_MS
    const cpuMs = (used.user + used.system) / 1000
    this.maxLateMs = Math.max(this.maxLateMs, late)
    this.maxStepMs = Math.max(this.maxStepMs, Math.min(late, cpuMs))
    this.last = now
    this.cpu = process.cpuUsage()
  }
}
const probe = new StepProbe()

serve({
  /** { url } or { urls }: dials each URL (kept as a seed). */
  connect: (r) => {
    const urls = r['urls'] === undefined ? [stringArg(r, 'url')] : (r['urls'] as string[])
    for (const url of urls) node.connect(url)
    return true
  },
  /**
   * { count, prefix }: registers `count` names, each to its own new process, with a meta like a
   * sworm name's (its delegate's pid), yielding now and then; returns the absolute times.
   */
  register: async (r) => {
    const count = intArg(r, 'count')
    const prefix = stringArg(r, 'prefix')
    const start = wallClock()
    for (let i = 0; i < count; i++) {
      const pid: Pid = node.runtime.spawn(Idle, undefined)
      await registry.register(`${prefix}${i}`, pid, { delegate: pid })
    }
    return { start, end: wallClock() }
  },
  count: () => registry.count(),
  /**
   * { count }: returns at once, then emits `{ event: 'count', count, at }` (`at` in ms since the
   * epoch, sub-ms) as soon as the registry resolves `count` names: on its `register` events.
   */
  watchCount: (r) => {
    const count = intArg(r, 'count')
    const check = (): boolean => {
      if (registry.count() < count) return false
      emit({ event: 'count', count: registry.count(), at: wallClock() })
      return true
    }
    if (!check()) {
      const off = registry.on('register', () => {
        if (check()) off()
      })
    }
    return true
  },
  /**
   * { reset }: since the last reset, the longest event-loop delay (the runtime's histogram,
   * sampled every 10 ms: wall time), and the longest step as the probe bounds it by CPU time.
   */
  loopDelay: (r) => {
    const reset = r['reset'] === true
    const d = node.runtime.eventLoopDelay({ reset })
    const out = { maxMs: d.maxMs, p99Ms: d.p99Ms, maxStepMs: probe.maxStepMs }
    if (reset) probe.reset()
    return out
  },
  /** Leaves gracefully, replies, then exits. */
  stop: async () => {
    await node.stop()
    setImmediate(() => process.exit(0))
    return true
  },
})

// The harness's stop at the end of a figure (and profiling) ends nodes with SIGTERM: leave too.
process.on('SIGTERM', () => {
  void node.stop().then(() => process.exit(0))
})

node.on('nodeUp', (n) => emit({ event: 'nodeUp', id: n.id, name: n.name, at: Date.now() }))
ready({ id: node.id, name: node.name, url: node.url, port: node.port })
