// What the chaos checker reports: each broken promise as a violation of one kind, naming the
// step after which it was seen and, where one is to blame, the node and the name.

/**
 * The promises the checker holds the cluster to, one kind each:
 * - `unsettled`: the nodes did not all see each other up within the bound after a heal.
 * - `missing`: a name resolves nowhere (or not on every node) after the cluster settled.
 * - `disagree`: two nodes resolve a name to different pids.
 * - `duplicate`: a name runs more than one counter (or its counter is not the one it resolves to).
 * - `noAnswer`: a name that resolves alike everywhere does not answer a call by name (`get`).
 * - `lostIncrement`: a counter counts fewer increments than were acknowledged (and not excused).
 * - `overcount`: a counter counts more increments than were ever sent to it.
 * - `lateCall`: a call ended (answer or error) past its timeout plus the slack.
 * - `untypedError`: a call failed with an error that has no `code`.
 * - `badAnswer`: a call's answer is not a count.
 * - `unansweredCall`: a call of a live client never ended.
 * - `falseDown`: a node was declared down over a pause shorter than the downing bound.
 * - `stopHung`: a graceful stop did not end within its bound (the node had to be killed).
 */
export type ViolationKind =
  | 'unsettled'
  | 'missing'
  | 'disagree'
  | 'duplicate'
  | 'noAnswer'
  | 'lostIncrement'
  | 'overcount'
  | 'lateCall'
  | 'untypedError'
  | 'badAnswer'
  | 'unansweredCall'
  | 'falseDown'
  | 'stopHung'

export const violationKinds: readonly ViolationKind[] = [
  'unsettled',
  'missing',
  'disagree',
  'duplicate',
  'noAnswer',
  'lostIncrement',
  'overcount',
  'lateCall',
  'untypedError',
  'badAnswer',
  'unansweredCall',
  'falseDown',
  'stopHung',
]

/** One broken promise. */
export interface Violation {
  readonly kind: ViolationKind
  /** The nemesis step (1-based) after which it was seen; 0 for the start. */
  readonly step: number
  /** What was seen, with the node (A, B, ...) and the name it concerns. */
  readonly detail: string
}

/** `{ lostIncrement: 2, ... }`: how many violations of each kind (every kind listed). */
export function countByKind(violations: readonly Violation[]): Record<ViolationKind, number> {
  const counts = Object.fromEntries(violationKinds.map((k) => [k, 0])) as Record<
    ViolationKind,
    number
  >
  for (const v of violations) counts[v.kind]++
  return counts
}
