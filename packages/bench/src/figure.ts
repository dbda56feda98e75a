// What a benchmark suite is made of: named figures, each measuring one number, some compared
// with a limit of the machine measured in the same run (see `baselines.ts`).
import type { BaselineName } from './baselines.js'
import type { Measurement, RunOptions, Target } from './measure.js'

/**
 * How a figure compares with a baseline: its line carries the baseline's value and
 * `ratio` = the figure's value (in the baseline's unit) ÷ the baseline's.
 */
export interface Comparison {
  readonly baseline: BaselineName
  /**
   * The figure's value in the baseline's unit, when the units differ (a rate against a time:
   * registrations/s against ns per `Map.get`). Default: the value as it is.
   */
  readonly inBaselineUnit?: (value: number) => number
  /** What the ratio should be, if the figure has a target as a ratio. */
  readonly target?: Target
}

/** One measured number of a suite, printed as one JSON line. */
export interface Figure {
  /** Its name inside the suite: `send` is run as `actor.send`. */
  readonly name: string
  /** One line for the listing: what it measures and its target. */
  readonly description: string
  /** The baseline it is divided by, if any. */
  readonly compare?: Comparison
  /** Measures, reporting progress through `options.note`; `bench` is added by the runner. */
  run(options: RunOptions): Promise<Measurement>
}

/** A suite: figures run in this order by `cli.js <suite>`. */
export type Suite = readonly Figure[]

/** ns per operation of a rate in operations/s: to compare a rate with `map_get_ns`. */
export const nsPerOp = (perSecond: number): number => 1e9 / perSecond

/** µs per operation of a rate in operations/s: to compare a rate with `ws_rtt_us`. */
export const usPerOp = (perSecond: number): number => 1e6 / perSecond
