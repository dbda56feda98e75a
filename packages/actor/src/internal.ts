// `@swormjs/actor/internal`: what the layers above this repository need from the runtime's inside
// (the dispatch hook a sworm worker extends; long work in short steps). Not a public API: it may
// change in any release.
export {
  /** The method an actor's mailbox dispatch runs under: a subclass overrides it to see messages first. */
  kReceive,
} from './Process.js'
export {
  forEachLimited,
  forEachSliced,
  nextTurn,
  sharesTurn,
  SliceGate,
  turnElapsed,
  turnSpent,
  turnSpentOn,
} from './slices.js'
export type { SliceOptions } from './slices.js'
export { Fifo } from './Fifo.js'
