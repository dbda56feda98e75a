// @swormjs/test: tools for multi-node and multi-process tests (a fault-injecting TCP proxy, a
// child-process harness, in-process clusters, seeded randomness, the chaos run and small test
// helpers). Private to this repository.
export { FaultProxy, LOOPBACK } from './FaultProxy.js'
export type { FaultMode, FaultProxyOptions, FaultProxyStats } from './FaultProxy.js'
export {
  ChildNode,
  spawnNode,
  spawnNodes,
  killAllChildren,
  liveChildren,
} from './ProcessHarness.js'
export type {
  ChildCommand,
  ChildEvent,
  ChildExit,
  ChildNodes,
  SpawnNodeOptions,
} from './ProcessHarness.js'
export { serve, emit, ready, stringArg, intArg, inLanes, openLoop } from './childRuntime.js'
export type { ChildHandler, ChildRequest, ServeOptions } from './childRuntime.js'
export { HarnessError, HarnessErrorCode, ChildRequestError } from './errors.js'
export { testCluster, waitUntil, TEST_COOKIE } from './testCluster.js'
export { freePorts } from './ports.js'
export { HandoffCounter } from './counters.js'
export type { TestCluster } from './testCluster.js'
export { proxiedCluster } from './proxiedCluster.js'
export type { ProxiedCluster } from './proxiedCluster.js'
export {
  scaleCluster,
  scaleNodeScript,
  membershipEvents,
  logLines,
  burst,
  digests,
  settledDigests,
  explain,
  longestStalls,
} from './scaleCluster.js'
export type {
  ScaleCluster,
  ScaleClusterOptions,
  MembershipEvent,
  BurstPart,
  BurstOptions,
  BurstResult,
  Digest,
} from './scaleCluster.js'
export { mulberry32, seedFor, rerunReport } from './seeded.js'
export { runChaos, chaosDefaults } from './chaos/runChaos.js'
export type { ChaosOptions, ChaosReport } from './chaos/runChaos.js'
export type { NemesisTiming, Step } from './chaos/nemesis.js'
export { violationKinds } from './chaos/violations.js'
export type { Violation, ViolationKind } from './chaos/violations.js'
export {
  Silent,
  fastFailureDetection,
  nodeIdStartingWith,
  pastMillisecond,
  pause,
  recordingLogger,
  rejectionOf,
} from './helpers.js'
export type { RecordingLogger } from './helpers.js'
