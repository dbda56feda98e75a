// @swormjs/actor: processes, mailboxes, links, monitors, actors and supervisors, with no network.
export { Runtime } from './Runtime.js'
export type { Route } from './Route.js'
export type { RuntimeOptions, SpawnOptions, CallOptions } from './options.js'
export type { ProcessInfo, EventLoopDelay } from './introspection.js'
export { Actor, NoReply } from './Actor.js'
export {
  Supervisor,
  RestartIntensity,
  shouldRestart,
  startChildProcess,
  answerCall,
} from './Supervisor.js'
export type {
  SupervisorOptions,
  ChildSpec,
  ChildStart,
  ChildInfo,
  RestartPolicy,
  Shutdown,
  SupMsg,
  ChildCounts,
} from './Supervisor.js'
export { DynamicSupervisor } from './DynamicSupervisor.js'
export type { DynamicSupervisorOptions, DynamicChildSpec, DynMsg } from './DynamicSupervisor.js'
export {
  ProcessContext,
  isCallEnvelope,
  isCastEnvelope,
  isExitMessage,
  isDownMessage,
} from './Process.js'
export type {
  From,
  CallEnvelope,
  CastEnvelope,
  ExitMessage,
  DownMessage,
  ProcessFn,
  ActorClassLike,
  StartInfo,
} from './Process.js'
export {
  formatPid,
  parsePid,
  isPid,
  toPid,
  nodeOf,
  serialOf,
  formatRef,
  isRef,
  nodeOfRef,
} from './Pid.js'
export type { Pid, Ref, NodeId } from './Pid.js'
export { realClock, ManualClock, settle, withTimeout } from './clock.js'
export type { Clock, TimerHandle } from './clock.js'
export {
  isNormalExit,
  isNameConflictExit,
  lostToACopy,
  shutdownOf,
  reasonToWire,
  reasonFromWire,
} from './exitReason.js'
export { actorDefaults } from './defaults.js'
export type { ExitReason } from './exitReason.js'
export { createLogger, silentLogger } from './logger.js'
export { Emitter, Listenable } from './Emitter.js'
export type { ListenOptions, Listener } from './Emitter.js'
export type { CallListener } from './Calls.js'
export type { ExitListener } from './ExitSignals.js'
export { currentProcess } from './context.js'
export type { CurrentProcess } from './context.js'
export type { Logger, LogLevel } from './logger.js'
export {
  ActorErrorCode,
  SwormError,
  CallTimeout,
  NoProc,
  Exited,
  NoConnection,
  UnknownNode,
  InitFailed,
  AlreadyRegistered,
  InvalidPid,
  MaxChildren,
  NotFound,
  RuntimeStopped,
  BadArgument,
  RemoteError,
  AbortError,
  abortable,
  describeReason,
  hasErrorCode,
} from './errors.js'
