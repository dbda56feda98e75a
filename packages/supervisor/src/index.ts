// @swormjs/supervisor: a distributed dynamic supervisor: placement by hashing, failover,
// redistribution, graceful leave.
export { DistributedSupervisor } from './DistributedSupervisor.js'
export type {
  DistributedSupervisorOptions,
  Distribution,
  ExecFn,
  SupervisorHooks,
  SupervisorEvents,
  ChildInfo,
  StartOptions,
  RebalanceOptions,
} from './types.js'
export type { ChildSpec, Started } from './records.js'
export { supervisorDefaults } from './defaults.js'
export { hash32 } from './hash.js'
export {
  SupervisorErrorCode,
  AlreadyStarted,
  UnknownActorType,
  NoAliveNodes,
  QuorumNotMet,
  ShuttingDown,
  SupervisorTimeout,
} from './errors.js'
