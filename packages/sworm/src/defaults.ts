// The default of every sworm option, written once. A number that is another package's default
// is imported from there, not repeated.
import { actorDefaults } from '@sworm/actor'
import type { ResolvedSwormOptions } from './config.js'

/** The default of every option (`quorumSize` has none: a majority of the members ever seen). */
export const swormDefaults = {
  restart: 'transient',
  handoff: false,
  // The supervisor's `handoffTimeoutMs` default, the same 5000 ms as a call's.
  handoffTimeoutMs: actorDefaults.callTimeoutMs,
  distribution: 'hash',
  redistribution: 'passive',
  maxRestarts: 3,
  maxSeconds: 5,
  maxChildren: Infinity,
  shutdownMs: actorDefaults.shutdownMs,
  callTimeoutMs: actorDefaults.callTimeoutMs,
  quorumAdoptDelayMs: 10_000,
  compactMinDead: 10_000,
  forgetAfterMs: 60_000,
} as const satisfies Omit<ResolvedSwormOptions, 'quorumSize'>
