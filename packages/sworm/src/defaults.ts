// The default of every sworm option, written once. A number that is another package's default
// is imported from there, not repeated.
import { supervisorDefaults } from '@swormjs/supervisor'
import type { ResolvedSwormOptions } from './config.js'

/** The default of every option (`quorumSize` has none: a majority of the members ever seen). */
export const swormDefaults = {
  restart: 'transient',
  handoff: false,
  replicas: 0,
  maxStateBytes: 1024 * 1024,
  handoffTimeoutMs: supervisorDefaults.handoffTimeoutMs,
  distribution: supervisorDefaults.distribution,
  redistribution: supervisorDefaults.redistribution,
  maxRestarts: supervisorDefaults.maxRestarts,
  maxSeconds: supervisorDefaults.maxSeconds,
  maxChildren: supervisorDefaults.maxChildren,
  shutdownMs: supervisorDefaults.shutdownMs,
  callTimeoutMs: supervisorDefaults.callTimeoutMs,
  quorumAdoptDelayMs: supervisorDefaults.quorumAdoptDelayMs,
  compactMinDead: supervisorDefaults.compactMinDead,
  forgetAfterMs: supervisorDefaults.forgetAfterMs,
} as const satisfies Omit<ResolvedSwormOptions, 'quorumSize' | 'persist'>
