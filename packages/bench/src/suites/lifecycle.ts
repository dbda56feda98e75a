// The `lifecycle` suite: how long a cluster takes to be ready, measured on the README's program
// (examples/counters/dist/node.js) started on three processes at the same instant, each seeded
// with all three (as a StatefulSet starts its pods in parallel), beside the machine's own cost
// of starting one process that loads the library, measured in the same run.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { performance } from 'node:perf_hooks'
import { freePorts } from '../childNodes.js'
import type { Figure, Suite } from '../figure.js'
import {
  median,
  repeat,
  round,
  summarizeRuns,
  type Measurement,
  type RunOptions,
} from '../measure.js'

const program = fileURLToPath(
  new URL('../../../../examples/counters/dist/node.js', import.meta.url),
)
const library = fileURLToPath(new URL('../../../sworm/dist/index.js', import.meta.url))

/** Ready within this many times the cost of starting one process that loads the library. */
const target = { op: '<=', value: 5 } as const

/** Polls `/readyz` on `port` until it answers 200; the time from `t0`, in ms. */
async function readyAt(port: number, t0: number): Promise<number> {
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) {
        return performance.now() - t0
      }
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 5))
  }
}

/** One process that loads the library and exits: the floor of any start, here. */
async function bareStart(): Promise<number> {
  const t0 = performance.now()
  await new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', `import(${JSON.stringify(library)})`], {
      stdio: 'ignore',
    })
    child.on('exit', resolve)
  })
  return performance.now() - t0
}

const timeToReady: Figure = {
  name: 'time_to_ready',
  description: `ms: three processes of the README's program started at once, until all answer /readyz 200 (ratio to one bare process loading the library: target <= ${target.value})`,
  run: async (options: RunOptions): Promise<Measurement> => {
    const once = async (): Promise<{ ready: number; counted: number; bare: number }> => {
      const bare = await bareStart()
      const ports = await freePorts(3)
      const seeds = ports.map((p) => `ws://127.0.0.1:${p}`).join(',')
      const t0 = performance.now()
      const children = ports.map((port, i) =>
        spawn(process.execPath, [program], {
          env: {
            ...process.env,
            HOST: '127.0.0.1',
            PORT: String(port),
            SEEDS: seeds,
            NODE_NAME: `n${i}`,
            SWORM_COOKIE: 'bench-time-to-ready-cookie',
          },
          stdio: ['ignore', 'pipe', 'ignore'],
        }),
      )
      try {
        const counted = children.map(
          (child) =>
            new Promise<number>((resolve) => {
              child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
                if (chunk.includes('page:home =')) resolve(performance.now() - t0)
              })
            }),
        )
        const ready = Math.max(...(await Promise.all(ports.map((p) => readyAt(p, t0)))))
        return { ready, counted: Math.max(...(await Promise.all(counted))), bare }
      } finally {
        for (const child of children) child.kill('SIGTERM')
        await Promise.all(children.map((c) => new Promise((r) => c.on('exit', r))))
      }
    }
    const runs = await repeat(
      options,
      'lifecycle.time_to_ready',
      once,
      (r) => `${round(r.ready)} ms (one bare process ${round(r.bare)} ms)`,
    )
    const baseline = round(median(runs.map((r) => r.bare)))
    const out = summarizeRuns(runs, (r) => r.ready / r.bare, 'x', target, {
      ready_ms: (r) => r.ready,
      counted_ms: (r) => r.counted,
    })
    return { ...out, baseline, baseline_unit: 'ms: one process loading @swormjs/sworm' }
  },
}

/** The `lifecycle` suite. */
export const lifecycleSuite: Suite = [timeToReady]
