// The nemesis of a chaos run: a schedule of faults drawn from a seeded PRNG, so that a seed
// names one schedule and reruns it. Each step is one fault and its heal; the checker runs after
// each heal.
import { shuffle } from './poll.js'

/**
 * One fault, healed before the next step:
 * - `kill`: SIGKILL of `node`, restarted `downMs` later (its counters restart from zero).
 * - `pause`: SIGSTOP of `node` for `ms`, then SIGCONT; `long` when `ms` passes the downing bound.
 * - `partition`: the links between `side` and the other nodes black-holed for `ms`, then healed.
 * - `restart`: a graceful stop of `node` (its counters move with their counts), then a start.
 */
export type Step =
  | { readonly kind: 'kill'; readonly node: number; readonly downMs: number }
  | { readonly kind: 'pause'; readonly node: number; readonly ms: number; readonly long: boolean }
  | { readonly kind: 'partition'; readonly side: readonly number[]; readonly ms: number }
  | { readonly kind: 'restart'; readonly node: number }

export type StepKind = Step['kind']

/** The durations the schedule draws from, in ms: each range is `[min, max]`. */
export interface NemesisTiming {
  /** A kill -9'd node stays down this long before its restart. */
  readonly killDownMs: readonly [number, number]
  /** A short pause: shorter than what it takes to declare a silent node down. */
  readonly shortPauseMs: readonly [number, number]
  /** A long pause: longer than unreachable plus the downing bound, with a margin. */
  readonly longPauseMs: readonly [number, number]
  /** A partition: as long as a short or a long pause, half the time each. */
  readonly shortPartitionMs: readonly [number, number]
  readonly longPartitionMs: readonly [number, number]
}

/** Kinds, in the order a schedule first covers them (each once, when there are enough steps). */
const KINDS: readonly StepKind[] = ['restart', 'kill', 'partition', 'pause']

/**
 * `steps` faults for a cluster of `nodes`, drawn from `random`: the first steps cover every
 * kind (and both a short and a long pause) in a shuffled order, the rest are drawn freely.
 */
export function schedule(
  random: () => number,
  steps: number,
  nodes: number,
  timing: NemesisTiming,
): Step[] {
  const pick = (n: number): number => Math.floor(random() * n)
  const within = ([min, max]: readonly [number, number]): number =>
    Math.round(min + random() * (max - min))
  const covering: Array<StepKind | 'shortPause' | 'longPause'> = [
    ...KINDS.filter((k) => k !== 'pause'),
    'shortPause',
    'longPause',
  ]
  shuffle(covering, random)
  const out: Step[] = []
  for (let s = 0; s < steps; s++) {
    const kind = covering[s] ?? KINDS[pick(KINDS.length)]!
    const node = pick(nodes)
    switch (kind) {
      case 'kill':
        out.push({ kind, node, downMs: within(timing.killDownMs) })
        break
      case 'restart':
        out.push({ kind, node })
        break
      case 'shortPause':
      case 'longPause':
      case 'pause': {
        const long = kind === 'pause' ? random() < 0.5 : kind === 'longPause'
        const ms = within(long ? timing.longPauseMs : timing.shortPauseMs)
        out.push({ kind: 'pause', node, ms, long })
        break
      }
      case 'partition': {
        // A minority side: one node, or up to less than half of them.
        const size = 1 + pick(Math.max(1, Math.floor((nodes - 1) / 2)))
        const order = shuffle(
          Array.from({ length: nodes }, (_, i) => i),
          random,
        )
        const side = order.slice(0, size).sort((a, b) => a - b)
        const long = random() < 0.5
        out.push({
          kind,
          side,
          ms: within(long ? timing.longPartitionMs : timing.shortPartitionMs),
        })
        break
      }
    }
  }
  return out
}

/** One line for the log: `pause B for 4712 ms (long)`. */
export function describeStep(step: Step, name: (i: number) => string): string {
  switch (step.kind) {
    case 'kill':
      return `kill -9 ${name(step.node)}, restart it ${step.downMs} ms later`
    case 'pause':
      return `pause ${name(step.node)} for ${step.ms} ms (${step.long ? 'long' : 'short'})`
    case 'partition':
      return `black-hole ${step.side.map(name).join('')} from the others for ${step.ms} ms`
    case 'restart':
      return `stop ${name(step.node)} gracefully, then start it`
  }
}
