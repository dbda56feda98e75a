// What `cli.js` does, as functions: list the suites, pick figures by name, run them and print
// one JSON line each. Kept apart from the entry point so that tests call it directly.
import { BASELINES, measureBaseline, type BaselineName, type BaselineValue } from './baselines.js'
import type { Figure } from './figure.js'
import {
  defaultRunOptions,
  printLine,
  round,
  targetFields,
  type BenchLine,
  type Extra,
  type RunOptions,
} from './measure.js'
import { suites } from './suites/index.js'

/** Where the runner writes: bench lines and the listing to `out`, everything else to `err`. */
export interface CliIo {
  out(text: string): void
  err(text: string): void
}

/** A figure with its full name, `suite.figure`. */
export interface NamedFigure {
  readonly bench: string
  readonly figure: Figure
}

/** `--quick`: a smoke run with small workloads. Its numbers say that it works, not how fast. */
export const quickOptions: Pick<RunOptions, 'scale' | 'runs' | 'warmup'> = {
  scale: 0.02,
  runs: 1,
  warmup: 1,
}

const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
}

const USAGE = 'usage: cli.js [<suite> | <suite>.<figure>] [--quick] [--runs=N]'

/** The help text: usage, then every suite and its figures with what they measure. */
export function listing(): string {
  const lines = [USAGE, '', 'suites and figures:']
  for (const [suite, figures] of suites) {
    lines.push(`  ${suite}`)
    const width = Math.max(...figures.map((f) => `${suite}.${f.name}`.length))
    for (const f of figures) {
      lines.push(`    ${`${suite}.${f.name}`.padEnd(width)}  ${f.description}`)
    }
  }
  return `${lines.join('\n')}\n`
}

/** The figures `selector` names (`actor` or `actor.send`); `undefined` if it names none. */
export function selectFigures(selector: string): NamedFigure[] | undefined {
  const dot = selector.indexOf('.')
  const suiteName = dot < 0 ? selector : selector.slice(0, dot)
  const figures = suites.get(suiteName)
  if (figures === undefined) return undefined
  const named = figures.map((figure) => ({ bench: `${suiteName}.${figure.name}`, figure }))
  if (dot < 0) return named
  const one = named.find((f) => f.bench === selector)
  return one === undefined ? undefined : [one]
}

/** The baselines measured so far in this run, by name. */
export type MeasuredBaselines = ReadonlyMap<BaselineName, BaselineValue>

/**
 * Runs one figure and returns its line (`bench` first). A figure compared with a baseline gets
 * `baseline` (its value), `baseline_of` and `ratio`, and `ratio_target`, `ratio_pass` if the
 * ratio has a target; `baselines` must hold it.
 */
export async function runFigure(
  named: NamedFigure,
  options: RunOptions,
  baselines: MeasuredBaselines = new Map(),
): Promise<BenchLine> {
  const measurement = await named.figure.run(options)
  const line: Record<string, Extra> = { bench: named.bench, ...measurement }
  const compare = named.figure.compare
  if (compare !== undefined) {
    const base = baselines.get(compare.baseline)
    if (base === undefined) throw new Error(`baseline ${compare.baseline} was not measured`)
    const value = compare.inBaselineUnit?.(measurement.value) ?? measurement.value
    const ratio = round(value / base.value)
    line['baseline'] = base.value
    line['baseline_of'] = `baseline.${compare.baseline}`
    line['ratio'] = ratio
    if (compare.target !== undefined) {
      const { target, pass } = targetFields(ratio, compare.target)
      line['ratio_target'] = target
      line['ratio_pass'] = pass
    }
  }
  return line as BenchLine
}

/**
 * The baselines to measure before `figures`: all of them for a whole suite (every suite prints
 * the same limits, measured by the same code), only those compared with for a single figure.
 */
export function baselinesFor(figures: readonly NamedFigure[], wholeSuite: boolean): BaselineName[] {
  if (wholeSuite) return [...BASELINES]
  const wanted = new Set(
    figures.flatMap((f) => (f.figure.compare ? [f.figure.compare.baseline] : [])),
  )
  return BASELINES.filter((b) => wanted.has(b))
}

/**
 * The command line: no selector lists the suites; a suite runs its figures in order; a figure
 * runs alone. Resolves with the exit code: 0, 1 if a figure failed, 2 for a bad command line.
 */
export async function runCli(args: readonly string[], io: CliIo = processIo): Promise<number> {
  let quick = false
  let help = false
  let runs: number | undefined
  const selectors: string[] = []
  for (const arg of args) {
    const runsFlag = /^--runs=([1-9]\d*)$/.exec(arg)
    if (arg === '--quick') quick = true
    else if (runsFlag !== null) runs = Number(runsFlag[1])
    else if (arg === '--help' || arg === '-h') help = true
    else if (arg.startsWith('-')) return usageError(io, `unknown option ${arg}`)
    else selectors.push(arg)
  }
  if (selectors.length > 1) {
    return usageError(io, `one suite or figure at a time, not ${selectors.join(' ')}`)
  }
  const selector = selectors[0]
  if (selector === undefined || help) {
    io.out(listing())
    return 0
  }
  const options: RunOptions = {
    ...defaultRunOptions,
    ...(quick ? quickOptions : {}),
    ...(runs === undefined ? {} : { runs }),
    note: (text) => io.err(`${text}\n`),
  }
  const figures = selectFigures(selector)
  if (figures === undefined) {
    return usageError(io, `no suite or figure named ${JSON.stringify(selector)}`)
  }
  let failed = false
  const baselines = new Map<BaselineName, BaselineValue>()
  for (const name of baselinesFor(figures, !selector.includes('.'))) {
    try {
      const value = await measureBaseline(name, options)
      baselines.set(name, value)
      printLine({ bench: `baseline.${name}`, ...value }, (text) => io.out(text))
    } catch (e) {
      failed = true
      io.err(`baseline.${name} failed: ${described(e)}\n`)
    }
  }
  for (const named of figures) {
    try {
      printLine(await runFigure(named, options, baselines), (text) => io.out(text))
    } catch (e) {
      failed = true
      io.err(`${named.bench} failed: ${described(e)}\n`)
    }
  }
  return failed ? 1 : 0
}

/** What a failed baseline or figure prints: its stack, where it has one. */
function described(e: unknown): string {
  return e instanceof Error ? (e.stack ?? e.message) : String(e)
}

function usageError(io: CliIo, message: string): number {
  const known = [...suites].flatMap(([s, figures]) => [s, ...figures.map((f) => `${s}.${f.name}`)])
  io.err(`cli.js: ${message}\n${USAGE}\nknown: ${known.join(', ')}\n`)
  return 2
}
