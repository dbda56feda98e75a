// What a benchmark suite is made of: named figures, each measuring one number.
import type { Measurement, RunOptions } from './measure.js'

/** One measured number of a suite, printed as one JSON line. */
export interface Figure {
  /** Its name inside the suite: `send` is run as `actor.send`. */
  readonly name: string
  /** One line for the listing: what it measures and its target. */
  readonly description: string
  /** Measures, reporting progress through `options.note`; `bench` is added by the runner. */
  run(options: RunOptions): Promise<Measurement>
}

/** A suite: figures run in this order by `cli.js <suite>`. */
export type Suite = readonly Figure[]
