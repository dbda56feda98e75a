// Shared measuring helpers for every suite: statistics, timing, repetitions on a noisy machine,
// and the one JSON line a figure prints.
import { performance } from 'node:perf_hooks'
import { setImmediate as nextTurn } from 'node:timers/promises'

/** A value allowed in a bench line besides `bench`, `value` and `unit`. */
export type Extra = string | number | boolean

/** What a figure measures: its headline number and any extra fields (`runs`, `p99`, ...). */
export interface Measurement {
  readonly value: number
  readonly unit: string
  readonly [field: string]: Extra
}

/** The line a figure prints: `{"bench": "actor.send", "value": 1234567, "unit": "messages/s", ...}`. */
export interface BenchLine extends Measurement {
  readonly bench: string
}

/** A goal for a figure: `>=` for throughputs, `<=` for latencies and sizes. */
export interface Target {
  readonly op: '>=' | '<='
  readonly value: number
}

/** How a figure should run; suites scale their workloads by `scale`. */
export interface RunOptions {
  /** Fraction of the full workload (tests use a small one). Default: 1. */
  readonly scale: number
  /** Measured repetitions; the figure reports their median. Default: 5. */
  readonly runs: number
  /** Unmeasured repetitions first, to let the JIT settle. Default: 1. */
  readonly warmup: number
  /** Progress and notes; never stdout. Default: a line on stderr. */
  readonly note: (text: string) => void
}

export const defaultRunOptions: RunOptions = {
  scale: 1,
  runs: 5,
  warmup: 1,
  note: (text) => process.stderr.write(`${text}\n`),
}

/** Milliseconds from a monotonic clock with sub-microsecond resolution. */
export function now(): number {
  return performance.now()
}

/** The median of `xs` (the mean of the middle two for an even count); NaN when empty. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/**
 * The `p`-th percentile of `xs` (0 ≤ p ≤ 100) by nearest rank; NaN when empty. Pass
 * `sorted: true` for an array already in ascending order to skip the copy and sort.
 */
export function percentile(xs: readonly number[], p: number, sorted = false): number {
  if (xs.length === 0) return Number.NaN
  const s = sorted ? xs : [...xs].sort((a, b) => a - b)
  const rank = Math.ceil((Math.min(100, Math.max(0, p)) / 100) * s.length)
  return s[Math.max(0, rank - 1)]!
}

/** Milliseconds `fn` takes, awaited. */
export async function timeAsync(fn: () => Promise<unknown>): Promise<number> {
  const t0 = now()
  await fn()
  return now() - t0
}

/** Lets pending I/O, timers and immediates run before the next step. */
export function yieldTurn(): Promise<void> {
  return nextTurn()
}

/**
 * Runs `once` `warmup` times unmeasured, then `runs` times, and returns what the measured runs
 * gave. Each result is noted as it comes, as `label` and `show(result)`.
 */
export async function repeat<T>(
  options: RunOptions,
  label: string,
  once: () => Promise<T>,
  show: (result: T) => string,
): Promise<T[]> {
  for (let i = 0; i < options.warmup; i++) {
    const result = await once()
    options.note(`${label} warm-up ${i + 1}/${options.warmup}: ${show(result)}`)
  }
  const results: T[] = []
  for (let i = 0; i < options.runs; i++) {
    const result = await once()
    results.push(result)
    options.note(`${label} run ${i + 1}/${options.runs}: ${show(result)}`)
  }
  return results
}

/** Rounds for display: integers for large numbers, three significant decimals for small ones. */
export function round(x: number): number {
  if (!Number.isFinite(x)) return x
  if (Math.abs(x) >= 100) return Math.round(x)
  return Number(x.toPrecision(3))
}

/** Fields describing a target: `"target": ">= 1000000"` and whether `value` meets it. */
export function targetFields(value: number, target: Target): { target: string; pass: boolean } {
  const pass = target.op === '>=' ? value >= target.value : value <= target.value
  return { target: `${target.op} ${target.value}`, pass }
}

/**
 * The headline of a repeated figure: the median of `samples`, with the run count, the spread
 * (min and max run) and the target.
 */
export function summarize(samples: readonly number[], unit: string, target: Target): Measurement {
  const value = round(median(samples))
  return {
    value,
    unit,
    ...targetFields(value, target),
    runs: samples.length,
    min: round(Math.min(...samples)),
    max: round(Math.max(...samples)),
  }
}

/**
 * The headline of a figure whose runs each give several numbers: `main` picks the value (its
 * median, spread and target, as `summarize`), and each of `extras` a field holding the median
 * of what it picks.
 */
export function summarizeRuns<T>(
  runs: readonly T[],
  main: (run: T) => number,
  unit: string,
  target: Target,
  extras: Readonly<Record<string, (run: T) => number>> = {},
): Measurement {
  const out: Record<string, Extra> = { ...summarize(runs.map(main), unit, target) }
  for (const [field, pick] of Object.entries(extras)) out[field] = round(median(runs.map(pick)))
  return out as Measurement
}

/** One run of a latency figure: its median and 99th percentile, in µs. */
export interface LatencyRun {
  p50: number
  p99: number
}

/**
 * Repeats a latency figure and sums it up: the median of the runs' medians as the value (with
 * the spread of the runs' medians), and the median of their p99s.
 */
export async function measureLatency(
  options: RunOptions,
  label: string,
  once: () => Promise<LatencyRun>,
  target: Target,
): Promise<Measurement> {
  const runs = await repeat(
    options,
    label,
    once,
    (r) => `median ${round(r.p50)} µs, p99 ${round(r.p99)} µs`,
  )
  return summarizeRuns(runs, (r) => r.p50, 'µs', target, { p99: (r) => r.p99 })
}

/** The JSON text of a bench line, without the newline. */
export function formatLine(line: BenchLine): string {
  return JSON.stringify(line)
}

/** Prints a bench line on stdout (or through `write`). */
export function printLine(
  line: BenchLine,
  write: (text: string) => void = (text) => process.stdout.write(text),
): void {
  write(`${formatLine(line)}\n`)
}

/** `full` scaled by `scale`, rounded, and at least `min`. */
export function scaled(full: number, scale: number, min = 1): number {
  return Math.max(min, Math.round(full * scale))
}

/**
 * ns per lookup of `lookups` lookups (`lookup(i)` for i in order, true when found), timed in
 * `rounds` rounds of which the median counts: a round in which the shared machine took the core
 * away is left out instead of skewing the run. Throws unless every lookup found its key. The
 * same for `registry.whereis` and `baseline.map_get_ns`, so that their ratio compares like with
 * like.
 */
export function nsPerLookup(
  lookups: number,
  rounds: number,
  lookup: (i: number) => boolean,
): number {
  let found = 0
  const times: number[] = []
  const perRound = Math.ceil(lookups / rounds)
  for (let start = 0; start < lookups; start += perRound) {
    const end = Math.min(lookups, start + perRound)
    const t0 = now()
    for (let i = start; i < end; i++) if (lookup(i)) found++
    times.push(((now() - t0) * 1e6) / (end - start))
  }
  if (found !== lookups) throw new Error(`found ${found} of ${lookups} keys`)
  return median(times)
}
