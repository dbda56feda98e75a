// @swormjs/observe: Prometheus metrics and a live observer page for a Sworm node.
export { observe } from './observe.js'
export type { ObserveOptions, Observer } from './observe.js'
export type { ObservedSworm } from './Tracker.js'
export { RING_SIZE } from './EventLog.js'
export type {
  CountedKind,
  NodeRow,
  NodeState,
  ObservedEvent,
  ObserverNote,
  ObserverState,
  WorkerGroup,
} from './state.js'
