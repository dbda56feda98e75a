// Typed errors of @swormjs/supervisor (conventions of @swormjs/actor: a code, a name, `is`).
import { hasErrorCode, SwormError } from '@swormjs/actor'

export const SupervisorErrorCode = {
  AlreadyStarted: 'ALREADY_STARTED',
  UnknownActorType: 'UNKNOWN_ACTOR_TYPE',
  NoAliveNodes: 'NO_ALIVE_NODES',
  QuorumNotMet: 'QUORUM_NOT_MET',
  ShuttingDown: 'SHUTTING_DOWN',
  Timeout: 'SUPERVISOR_TIMEOUT',
} as const

/** A child with this id already runs; `pid` is where. */
export class AlreadyStarted extends SwormError {
  override name = 'AlreadyStarted'
  readonly id: string
  readonly pid: string
  constructor(id: string, pid: string) {
    super(SupervisorErrorCode.AlreadyStarted, `child ${id} already runs as ${pid}`)
    this.id = id
    this.pid = pid
  }
  static override is(u: unknown): u is AlreadyStarted {
    return hasErrorCode(u, SupervisorErrorCode.AlreadyStarted)
  }
}

/** No live member of this supervisor knows the actor type (or this node does not). */
export class UnknownActorType extends SwormError {
  override name = 'UnknownActorType'
  readonly type: string
  constructor(type: string) {
    super(
      SupervisorErrorCode.UnknownActorType,
      `no node of this supervisor knows the actor type '${type}'`,
    )
    this.type = type
  }
  static override is(u: unknown): u is UnknownActorType {
    return hasErrorCode(u, SupervisorErrorCode.UnknownActorType)
  }
}

/** No live member can take the child. */
export class NoAliveNodes extends SwormError {
  override name = 'NoAliveNodes'
  constructor(detail: string) {
    super(SupervisorErrorCode.NoAliveNodes, `no live node can run it: ${detail}`)
  }
  static override is(u: unknown): u is NoAliveNodes {
    return hasErrorCode(u, SupervisorErrorCode.NoAliveNodes)
  }
}

/** `quorum` distribution: this side does not see a majority of the known members. */
export class QuorumNotMet extends SwormError {
  override name = 'QuorumNotMet'
  readonly live: number
  readonly known: number
  constructor(live: number, known: number) {
    super(
      SupervisorErrorCode.QuorumNotMet,
      `only ${live} of ${known} known members are reachable: no quorum`,
    )
    this.live = live
    this.known = known
  }
  static override is(u: unknown): u is QuorumNotMet {
    return hasErrorCode(u, SupervisorErrorCode.QuorumNotMet)
  }
}

/** The supervisor on this node is stopping (its node is leaving): it starts nothing new. */
export class ShuttingDown extends SwormError {
  override name = 'ShuttingDown'
  constructor() {
    super(SupervisorErrorCode.ShuttingDown, 'the supervisor is shutting down on this node')
  }
  static override is(u: unknown): u is ShuttingDown {
    return hasErrorCode(u, SupervisorErrorCode.ShuttingDown)
  }
}

/** An operation that involved another node did not finish in time. */
export class SupervisorTimeout extends SwormError {
  override name = 'SupervisorTimeout'
  constructor(what: string, ms: number) {
    super(SupervisorErrorCode.Timeout, `${what} did not finish within ${ms} ms`)
  }
  static override is(u: unknown): u is SupervisorTimeout {
    return hasErrorCode(u, SupervisorErrorCode.Timeout)
  }
}
