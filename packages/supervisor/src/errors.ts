// Typed errors of @swormjs/supervisor (conventions of @swormjs/actor: a code, a name, `is`).
import { hasErrorCode, SwormError } from '@swormjs/actor'

/** Every error code this package raises. */
export const SupervisorErrorCode = {
  /** A start of a child whose id already runs somewhere in the cluster. */
  AlreadyStarted: 'ALREADY_STARTED',
  /** A start of an actor type no live member (or not the chosen node) knows. */
  UnknownActorType: 'UNKNOWN_ACTOR_TYPE',
  /** A start, and no live member can take the child. */
  NoAliveNodes: 'NO_ALIVE_NODES',
  /** A start with `quorum` distribution while this side sees no majority. */
  QuorumNotMet: 'QUORUM_NOT_MET',
  /** A call on a supervisor that is stopping or leaving on this node. */
  ShuttingDown: 'SHUTTING_DOWN',
  /** A call to another node's supervisor took longer than `callTimeoutMs`. */
  Timeout: 'SUPERVISOR_TIMEOUT',
} as const

/** A child with this id already runs; `pid` is where. */
export class AlreadyStarted extends SwormError {
  override name = 'AlreadyStarted'
  /** The child's id. */
  readonly id: string
  /** The pid it runs as. */
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
  /** The actor type name asked for. */
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
  /** Known members, by address, that are live on this side now. */
  readonly live: number
  /** Known members in all, by address. */
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
