// The `chaos` suite: the seeded chaos run of @swormjs/test (kill -9 and restarts, SIGSTOP pauses
// shorter and longer than the downing bound, black-holed links, graceful restarts, clients
// calling counters by name throughout), longer than the CI form, and the number of promises the
// checker saw broken. `CHAOS_SEED=<n>` reruns a schedule.
import { chaosDefaults, runChaos, seedFor, violationKinds, type ViolationKind } from '@swormjs/test'
import { withChildren } from '../childNodes.js'
import type { Figure, Suite } from '../figure.js'
import { scaled, targetFields, type Extra, type Measurement, type RunOptions } from '../measure.js'

/** The full run: 5 nodes, 40 steps, 60 counters; `--quick` runs the CI form's size. */
const STEPS = 40
const NODES = 5
const COUNTERS = 60

const target = { op: '<=', value: 0 } as const

/** `lostIncrement` → `lost_increment`, as the other suites name their fields. */
function snake(kind: ViolationKind): string {
  return kind.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)
}

const violations: Figure = {
  name: 'violations',
  description: `count: promises broken in a seeded chaos run of ${STEPS} steps on ${NODES} node processes (kill -9, pauses, partitions, graceful restarts, under load), checked after each heal; CHAOS_SEED=<n> reruns one (target <= ${target.value})`,
  run: (options: RunOptions) =>
    withChildren(async (): Promise<Measurement> => {
      const full = options.scale >= 1
      const seed = seedFor('CHAOS_SEED')
      options.note(`chaos.violations: seed ${seed} (rerun with CHAOS_SEED=${seed})`)
      const report = await runChaos({
        ...chaosDefaults,
        seed,
        nodes: full ? NODES : chaosDefaults.nodes,
        steps: scaled(STEPS, options.scale, chaosDefaults.steps),
        counters: full ? COUNTERS : chaosDefaults.counters,
        log: options.note,
      })
      for (const v of report.violations) {
        options.note(`seed ${seed} step ${v.step}: ${v.kind}: ${v.detail}`)
      }
      const kinds: Record<string, Extra> = {}
      for (const kind of violationKinds) kinds[snake(kind)] = report.byKind[kind]
      const value = report.violations.length
      return {
        value,
        unit: 'count',
        ...targetFields(value, target),
        seed,
        redistribution: report.redistribution,
        nodes: full ? NODES : chaosDefaults.nodes,
        steps: report.steps.length,
        calls_ok: report.callsOk,
        calls_failed: report.callsFailed,
        slowest_call_ms: report.slowestCallMs,
        ...kinds,
        aborted: report.aborted,
        duration_s: Math.round(report.durationMs / 1000),
      }
    }),
}

export const chaosSuite: Suite = [violations]
