// sworm: one named, stateful process per name across a cluster of Node.js machines.
export { Sworm, currentNode } from './Sworm.js'
export type { SwormClass } from './Sworm.js'
export { SwormInstance } from './SwormInstance.js'
export type { ActorTypes, StartHow } from './SwormInstance.js'
export type {
  SwormRef,
  RegisterOptions,
  WorkerClass,
  InitArgs,
  ArgsParam,
  CallMsg,
  CallReply,
  CastMsg,
  InfoMsg,
  MsgOf,
  InstanceOf,
  Activation,
  Activate,
  ExecFunction,
} from './typed.js'
export type { SwormEvents } from './events.js'
export { Actor, isHandoffMessage } from './handoff.js'
export type {
  BeginHandoff,
  HandoffState,
  HandoffIgnore,
  EndHandoff,
  ResolveConflict,
  Passivate,
  HandoffMessage,
} from './handoff.js'
export type { HandoffPayload, FirstMessage, FirstReply } from './Delegate.js'
export { startNode, runSworm } from './startNode.js'
export type { SwormNodeOptions, SwormNode } from './startNode.js'
export { validateSwormOptions, loadConfigFile, resolveSwormOptions } from './config.js'
export { swormDefaults } from './defaults.js'
export type {
  SwormOptions,
  ResolvedSwormOptions,
  PersistOptions,
  SwormConfigFile,
  LoadConfigFileOptions,
} from './config.js'
export {
  ConfigError,
  NoNodeContext,
  SwormNotRunning,
  StateTooLarge,
  PersistCorrupt,
  SwormErrorCode,
} from './errors.js'
// Every error class of every layer, so that one import names whatever a sworm may throw (the
// README's error table lists them with their codes).
export {
  SwormError,
  ActorErrorCode,
  AbortError,
  AlreadyRegistered,
  BadArgument,
  CallTimeout,
  Exited,
  InitFailed,
  InvalidPid,
  MaxChildren,
  NoConnection,
  NoProc,
  NotFound,
  RemoteError,
  RuntimeStopped,
  UnknownNode,
} from '@swormjs/actor'
export {
  ClusterErrorCode,
  BadConfig,
  BadDocChunk,
  NodeStopped,
  NotReady,
  NotDocOwner,
  NotSerializable,
  ProtocolError,
  UnknownDoc,
} from '@swormjs/cluster'
export { RegistryErrorCode, NotOwner, RegistryStopped } from '@swormjs/registry'
export {
  SupervisorErrorCode,
  AlreadyStarted,
  NoAliveNodes,
  QuorumNotMet,
  ShuttingDown,
  SupervisorTimeout,
  UnknownActorType,
} from '@swormjs/supervisor'
// What a user needs next to a sworm, from the layers below.
export { NoReply } from '@swormjs/actor'
export type { Pid, From, ExitReason } from '@swormjs/actor'
export type { Name } from '@swormjs/registry'
