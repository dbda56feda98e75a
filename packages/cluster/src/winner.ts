// The one rule that decides between two copies of one thing (two registrations of a name, two
// starts of a child): the earliest hybrid logical clock wins, ties broken by the smaller node id.
// Every node applies it to the same replicas and so reaches the same verdict.
import type { NodeId } from '@swormjs/actor'

/** One contender: when it was made (an HLC) and on which node. */
export interface Contender {
  readonly clock: number
  readonly node: NodeId | string
}

/** True when `a` beats `b`: an earlier clock, or the same clock on a smaller node id. */
export function beats(a: Contender, b: Contender): boolean {
  return a.clock < b.clock || (a.clock === b.clock && a.node < b.node)
}
