// The options a runtime takes: of the runtime itself, of `spawn`/`start` and of `call`.
import type { Clock } from './clock.js'
import type { Logger } from './logger.js'
import type { Pid } from './Pid.js'
import type { Route } from './Route.js'

/** Options of a `Runtime`. */
export interface RuntimeOptions {
  /** This incarnation's id. Default: a fresh uuid. */
  nodeId?: string
  /** A human name for logs. Default: `'node'`. */
  name?: string
  /** The clock every timer uses. Default: `realClock`. */
  clock?: Clock
  /** Default: `createLogger()` (JSON lines on stderr, `warn` and up). */
  logger?: Logger
  /** Route to other nodes. Default: none. */
  route?: Route
  /** Messages handled per process before it yields to the next runnable one. Default: 64. */
  reductions?: number
}

/** Options of `spawn` and `start`. */
export interface SpawnOptions {
  /** Link the new process to this pid (at once, before `init` runs). */
  link?: Pid
  /** Like `link`, and records the pid as the parent: an `EXIT` from it stops an actor that traps exits. */
  parent?: Pid
  /** Register the new process under this local name. */
  name?: string
  /** Start with `trapExit` on. */
  trapExit?: boolean
  /** State handed over by a predecessor: `init` gets it as `start.handoff`. */
  handoff?: unknown
  /** It starts in place of a process whose node went down: `init` gets `start.adopted`. */
  adopted?: boolean
}

/** Options of `call`. */
export interface CallOptions {
  /** Default 5000. `Infinity`: no timeout (the call still ends with its target, or a signal). */
  timeoutMs?: number
  /** The calling process, when there is one (`ProcessContext.call` fills it). */
  from?: Pid
  /**
   * Gives the call up when it aborts: it rejects with `AbortError` (its `cause` the signal's
   * reason), and a reply that comes later is dropped.
   */
  signal?: AbortSignal
}
