// Typed errors of @swormjs/cluster (same conventions as @swormjs/actor: a code, a name, `is`).
import { hasErrorCode, SwormError } from '@swormjs/actor'

/** Every error code this package raises. */
export const ClusterErrorCode = {
  /** A value sent to another node cannot be serialized, or is over `maxFrameBytes`. */
  NotSerializable: 'NOT_SERIALIZABLE',
  /** A write to a replicated doc this node does not own. */
  NotDocOwner: 'NOT_DOC_OWNER',
  /** A doc name this node holds neither as owner nor as replica. */
  UnknownDoc: 'UNKNOWN_DOC',
  /** Bad node options, found at start (or by `addWebSocketRoute`). */
  BadConfig: 'BAD_CONFIG',
  /** The node is stopping or stopped: `ready()` was waiting when it began to stop. */
  NodeStopped: 'NODE_STOPPED',
  /** A peer sent bytes this node cannot read; its connection is closed. */
  ProtocolError: 'PROTOCOL_ERROR',
  /** A peer's chunked doc update was refused; its connection is closed. */
  BadDocChunk: 'BAD_DOC_CHUNK',
  /** `ready()` (or `startNode` with `minNodes`) gave up before enough nodes were up. */
  NotReady: 'NOT_READY',
} as const
/** One of the `ClusterErrorCode` values. */
export type ClusterErrorCode = (typeof ClusterErrorCode)[keyof typeof ClusterErrorCode]

/** A message (or reason, or reply) that cannot cross the wire: a function, a symbol, … */
export class NotSerializable extends SwormError {
  override name = 'NotSerializable'
  constructor(detail: string, options?: { cause?: unknown }) {
    super(
      ClusterErrorCode.NotSerializable,
      `cannot send this value to another node: ${detail}`,
      options,
    )
  }
  static override is(u: unknown): u is NotSerializable {
    return hasErrorCode(u, ClusterErrorCode.NotSerializable)
  }
}

/** A write to a replicated doc this node does not own (every doc has one writer). */
export class NotDocOwner extends SwormError {
  /** The doc's name. */
  readonly doc: string
  override name = 'NotDocOwner'
  constructor(doc: string) {
    super(
      ClusterErrorCode.NotDocOwner,
      `doc ${doc} belongs to another node; only its owner writes it`,
    )
    this.doc = doc
  }
  static override is(u: unknown): u is NotDocOwner {
    return hasErrorCode(u, ClusterErrorCode.NotDocOwner)
  }
}

/** A doc name this node holds neither as owner nor as replica. */
export class UnknownDoc extends SwormError {
  /** The doc's name. */
  readonly doc: string
  override name = 'UnknownDoc'
  constructor(doc: string) {
    super(ClusterErrorCode.UnknownDoc, `no doc ${doc} on this node`)
    this.doc = doc
  }
  static override is(u: unknown): u is UnknownDoc {
    return hasErrorCode(u, ClusterErrorCode.UnknownDoc)
  }
}

/** Node options that cannot work (a missing cookie for a cluster, a bad seed URL, …). */
export class BadConfig extends SwormError {
  override name = 'BadConfig'
  constructor(message: string) {
    super(ClusterErrorCode.BadConfig, message)
  }
  static override is(u: unknown): u is BadConfig {
    return hasErrorCode(u, ClusterErrorCode.BadConfig)
  }
}

/** The node is stopping or stopped: `ready()` was still waiting when it began to stop. */
export class NodeStopped extends SwormError {
  override name = 'NodeStopped'
  constructor() {
    super(ClusterErrorCode.NodeStopped, 'the node is stopped')
  }
  static override is(u: unknown): u is NodeStopped {
    return hasErrorCode(u, ClusterErrorCode.NodeStopped)
  }
}

/** A peer sent something this node cannot read: the connection is closed with this reason. */
export class ProtocolError extends SwormError {
  override name = 'ProtocolError'
  constructor(message: string, options?: { cause?: unknown }) {
    super(ClusterErrorCode.ProtocolError, message, options)
  }
  static override is(u: unknown): u is ProtocolError {
    return hasErrorCode(u, ClusterErrorCode.ProtocolError)
  }
}

/** Why a peer's chunked doc update was refused. */
export type BadDocChunkReason =
  /** Its declared size passes the bound (`maxFrameBytes`), or its pieces pass its declared size. */
  | 'too-large'
  /** A piece that does not start where the last one ended, or of another update. */
  | 'out-of-order'
  /** Another frame came before the update's last piece (only heartbeats may). */
  | 'unfinished'
  /** A piece of no bytes, or a size of 0. */
  | 'malformed'

/**
 * A peer sent a chunked doc update (`DocChunk` frames) this node refuses: the connection is
 * closed with this reason and what it had received of the update is dropped.
 */
export class BadDocChunk extends SwormError {
  override name = 'BadDocChunk'
  /** Why the update was refused. */
  readonly reason: BadDocChunkReason
  /** The doc the update was for. */
  readonly doc: string
  constructor(reason: BadDocChunkReason, doc: string, detail: string) {
    super(
      ClusterErrorCode.BadDocChunk,
      `chunked update of doc ${doc} refused (${reason}): ${detail}`,
    )
    this.reason = reason
    this.doc = doc
  }
  static override is(u: unknown): u is BadDocChunk {
    return hasErrorCode(u, ClusterErrorCode.BadDocChunk)
  }
}

/**
 * `ready()` (or `startNode` with `minNodes`) gave up: the node had not met `minNodes` nodes
 * within `timeoutMs`, or a check of a layer above (a sworm run by fewer nodes) still failed.
 */
export class NotReady extends SwormError {
  override name = 'NotReady'
  /** The nodes asked for, this one included. */
  readonly minNodes: number
  /** The nodes up when it gave up, this one included. */
  readonly met: number
  constructor(minNodes: number, met: number, timeoutMs: number, failing: readonly string[]) {
    super(
      ClusterErrorCode.NotReady,
      `not ready after ${timeoutMs} ms: ${met} of ${minNodes} nodes up` +
        (failing.length > 0 ? `; still waiting for ${failing.join(', ')}` : ''),
    )
    this.minNodes = minNodes
    this.met = met
  }
  static override is(u: unknown): u is NotReady {
    return hasErrorCode(u, ClusterErrorCode.NotReady)
  }
}
