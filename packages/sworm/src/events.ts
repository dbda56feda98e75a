// The events of a sworm on one node, which `SwormInstance.on` listens to (metrics and logs of
// the layer above subscribe here).
import type { Pid } from '@swormjs/actor'
import type { Name } from '@swormjs/registry'

/** The events of a sworm on one node (`SwormInstance.on`): for metrics and logs. */
export interface SwormEvents extends Record<string, unknown[]> {
  /** A name's worker handed its state over (`withState`) or moved without one, from this node. */
  handoff: [name: Name, withState: boolean]
  /** A worker of this node lost a name conflict; `merged` when its state went to the winner. */
  conflict: [name: Name, loser: Pid, winner: Pid, merged: boolean]
  /** This node stopped running the sworm (`stop()`). */
  stop: []
}
