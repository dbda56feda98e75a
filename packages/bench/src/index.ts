// @swormjs/bench: the benchmark runner, its suites, and the measuring helpers suites share.
export { runCli, listing, selectFigures, runFigure, quickOptions } from './runner.js'
export type { CliIo, NamedFigure } from './runner.js'
export { suites } from './suites/index.js'
export type { Figure, Suite } from './figure.js'
export {
  defaultRunOptions,
  now,
  median,
  percentile,
  timeAsync,
  yieldTurn,
  repeat,
  round,
  scaled,
  targetFields,
  summarize,
  formatLine,
  printLine,
} from './measure.js'
export type { Extra, Measurement, BenchLine, Target, RunOptions } from './measure.js'
export { Countdown } from './latch.js'
export { runNodeChild } from './nodeChild.js'
