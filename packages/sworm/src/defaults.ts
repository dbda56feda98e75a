// The default of every sworm option, written once. A number that is another package's default
// is imported from there, not repeated.
import { supervisorDefaults } from '@swormjs/supervisor'
import type { ResolvedSwormOptions } from './config.js'

/** The default of every option (`quorumSize` has none: a majority of the members ever seen). */
export const swormDefaults = {
  /** `restart`: a worker is started again only after an abnormal exit. */
  restart: 'transient',
  /** `handoff`: off, a moved name's worker starts afresh. */
  handoff: false,
  /** `replicas`: no copies of a worker's state on other nodes. */
  replicas: 0,
  /** `maxStateBytes`: the largest encoded state replicated, in bytes (1 MiB). */
  maxStateBytes: 1024 * 1024,
  /** `handoffTimeoutMs`: ms a worker has to hand over its state before the name moves without. */
  handoffTimeoutMs: supervisorDefaults.handoffTimeoutMs,
  /** `distribution`: rendezvous hashing over the nodes that run the sworm. */
  distribution: supervisorDefaults.distribution,
  /** `redistribution`: names stay on their node until it leaves or dies. */
  redistribution: supervisorDefaults.redistribution,
  /** `active` redistribution's rounds: the supervisor's. */
  rebalance: supervisorDefaults.rebalance,
  /** `maxRestarts`: restarts of one name allowed within `maxSeconds`. */
  maxRestarts: supervisorDefaults.maxRestarts,
  /** `maxSeconds`: the window of `maxRestarts`, in seconds. */
  maxSeconds: supervisorDefaults.maxSeconds,
  /** `maxChildren`: no limit on the names one node runs. */
  maxChildren: supervisorDefaults.maxChildren,
  /** `shutdownMs`: ms a worker may take to stop before it is killed. */
  shutdownMs: supervisorDefaults.shutdownMs,
  /** Never passivate: a worker lives until its name ends. */
  idleTimeoutMs: 0,
  /** `callTimeoutMs`: ms a call to another node's registry or supervisor may take. */
  callTimeoutMs: supervisorDefaults.callTimeoutMs,
  /** `quorumAdoptDelayMs`: ms to wait before adopting a down node's names (`quorum` only). */
  quorumAdoptDelayMs: supervisorDefaults.quorumAdoptDelayMs,
  /** `compactMinDead`: removals that pile up in a node's doc before it is compacted. */
  compactMinDead: supervisorDefaults.compactMinDead,
  /** `forgetAfterMs`: ms after which a down node's replicated docs are forgotten. */
  forgetAfterMs: supervisorDefaults.forgetAfterMs,
} as const satisfies Omit<ResolvedSwormOptions, 'quorumSize' | 'persist'>
