// The time bounds of a move, each written once: how long the other nodes may take to confirm a
// hold, the delegate to answer, the supervisor to wait for both, and a hold to last.
import { actorDefaults } from '@swormjs/actor'
import type { ResolvedSwormOptions } from '../config.js'

type Bounded = Pick<ResolvedSwormOptions, 'callTimeoutMs' | 'handoffTimeoutMs'>

/** The delegate's answer comes after its own bound on the worker (`handoffTimeoutMs`): this much later. */
const ANSWER_SLACK_MS = 1000

/** How long a node waits for the others to confirm a hold before it moves names anyway. */
export function holdConfirmMs(options: Bounded): number {
  return Math.min(options.callTimeoutMs, actorDefaults.callTimeoutMs)
}

/** How long a delegate may take to answer `PrepareMove`. */
export function prepareAnswerMs(options: Bounded): number {
  return options.handoffTimeoutMs + ANSWER_SLACK_MS
}

/** The supervisor's bound on `beforeMove`: the hold round, then the delegate's answer. */
export function beforeMoveMs(options: Bounded): number {
  return holdConfirmMs(options) + prepareAnswerMs(options)
}

/**
 * How long a hold lasts when no registration ends it (the move failed): past the supervisor's
 * bound on the move, and the start of the name's next delegate (a call to its node and back).
 */
export function holdMs(options: Bounded): number {
  return options.handoffTimeoutMs + holdConfirmMs(options) + options.callTimeoutMs * 2
}
