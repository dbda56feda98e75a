// Node-to-node frames. One websocket message carries one or more frames back to back; each
// starts with its type (a varuint). docs/INTERNALS.md lists every frame and its fields.
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'

/**
 * The newest protocol version this release speaks. A connection speaks the newest version both
 * sides know: each states its range in the handshake (`version` is its oldest, `maxVersion` its
 * newest), so a rolling upgrade runs nodes of two adjacent releases in one cluster.
 */
export const PROTOCOL_VERSION = 4
/**
 * The oldest protocol version this release speaks: 2, which calls with a `Monitor`, a `Send` and
 * a `Demonitor` frame where version 3 sends one `Call` frame. (A node of version 2 demands a
 * peer's `version` be 2 and reads no `maxVersion`: it meets this release.) Version 4 names the
 * target of a message by its serial alone (`SendLocal`): the connection says which node it is on.
 */
export const MIN_PROTOCOL_VERSION = 2

/** The version two nodes speak: the newest both know; undefined when their ranges do not meet. */
export function agreedVersion(
  ours: { min: number; max: number },
  theirs: { version: number; maxVersion?: number },
): number | undefined {
  const max = Math.min(ours.max, theirs.maxVersion ?? theirs.version)
  return max >= Math.max(ours.min, theirs.version) ? max : undefined
}

/**
 * The frame types of the node-to-node protocol: the varuint each frame starts with.
 * docs/INTERNALS.md lists every frame's fields.
 */
export const Frame = {
  /** The dialer's opening: version, cluster, node id, name, URL and a nonce. */
  Hello: 1,
  /** The acceptor's answer to `Hello`: its identity (empty cluster) and nonce. */
  Challenge: 2,
  /** The dialer's proof that it knows the cookie. */
  Auth: 3,
  /** The acceptor's proof; the connection is up after it. */
  Welcome: 4,
  /** A refused handshake: a reason (`cookie`, `cluster`, `version`, …) and a detail. */
  Refuse: 5,
  /** "I am alive"; no fields. Sent ahead of any queued frame. */
  Heartbeat: 6,
  /** "I am leaving the cluster": the peer takes it down with reason `leave`. */
  Leaving: 7,
  /** Gossip: the members the sender knows (node id, name, URL each). */
  Members: 8,
  /** A message for a process: the target pid and the payload. */
  Send: 10,
  /** A call's result: the ref, ok or not, and the value (an error as `{ $error }`). */
  Reply: 11,
  /** An exit signal: target pid, sender pid, whether it comes through a link, the reason. */
  Exit: 12,
  /** Link a process of the sender to one of the receiver. */
  Link: 13,
  /** Remove such a link. */
  Unlink: 14,
  /** Monitor a process of the receiver under a ref. */
  Monitor: 15,
  /** Remove such a monitor. */
  Demonitor: 16,
  /** A monitored process ended: the ref and the reason. */
  Down: 17,
  /** A replicated doc's state vector, update or request (see `DocKind`). */
  Doc: 20,
  /** The owner dropped a doc: replicas drop it too. */
  DocDrop: 21,
  /** "I have announced every doc I own." */
  AnnounceEnd: 22,
  /** "Tell me when you have answered everything I sent before this." */
  SyncAsk: 23,
  /** The answer to `SyncAsk`: everything before it was answered. */
  SyncDone: 24,
  /** A piece of a doc update too big for one frame: doc name, total bytes, offset, bytes. */
  DocChunk: 25,
  /** A call: a `Send` and a `Monitor` in one, the monitor dropped when the reply is sent. */
  Call: 26,
  /**
   * A message for a process of the receiver, named by its pid's serial alone (version 4): the
   * serial (a varuint) and the payload. A `Send` writes the whole pid (about 45 bytes of text)
   * that the receiver decodes into a new string and hashes, per message.
   */
  SendLocal: 27,
} as const
export type FrameType = (typeof Frame)[keyof typeof Frame]

/** Kinds of a `Doc` frame. */
export const DocKind = {
  /** "Here is my state vector of this doc": the owner announces it. */
  StateVector: 0,
  /** A Yjs update (from the owner only). */
  Update: 1,
  /**
   * A replica's state vector, in answer to an announce: "send me what I lack". A kind of its
   * own, so that it never passes for an announce (which creates a replica of a doc not held).
   */
  Request: 2,
} as const

/** Why a handshake was refused. */
export type RefuseReason = 'cookie' | 'cluster' | 'version' | 'self' | 'stopping' | 'busy'

export interface HelloFrame {
  /** The oldest protocol version the sender speaks (the only one, for a version 2 node). */
  version: number
  /** The newest it speaks; absent (the same as `version`) from a version 2 node. */
  maxVersion?: number
  cluster: string
  nodeId: string
  name: string
  url: string
  nonce: Uint8Array
}

export function writeHello(enc: encoding.Encoder, f: HelloFrame): void {
  encoding.writeVarUint(enc, Frame.Hello)
  writeIdentity(enc, f)
}

/** The acceptor's answer to a hello: its identity (with an empty cluster) and its nonce, no proof. */
export function writeChallenge(enc: encoding.Encoder, f: HelloFrame): void {
  encoding.writeVarUint(enc, Frame.Challenge)
  writeIdentity(enc, f)
}

function writeIdentity(enc: encoding.Encoder, f: HelloFrame): void {
  encoding.writeVarUint(enc, f.version)
  encoding.writeVarString(enc, f.cluster)
  encoding.writeVarString(enc, f.nodeId)
  encoding.writeVarString(enc, f.name)
  encoding.writeVarString(enc, f.url)
  encoding.writeVarUint8Array(enc, f.nonce)
  // Last, where a version 2 reader, which reads up to the nonce, leaves it unread.
  encoding.writeVarUint(enc, f.maxVersion ?? f.version)
}

export function readIdentity(dec: decoding.Decoder): HelloFrame {
  return {
    version: decoding.readVarUint(dec),
    cluster: decoding.readVarString(dec),
    nodeId: decoding.readVarString(dec),
    name: decoding.readVarString(dec),
    url: decoding.readVarString(dec),
    nonce: decoding.readVarUint8Array(dec),
    ...(decoding.hasContent(dec) ? { maxVersion: decoding.readVarUint(dec) } : {}),
  }
}

/** One frame as a standalone message (handshake frames are sent one by one). */
export function frame(write: (enc: encoding.Encoder) => void): Uint8Array {
  const enc = encoding.createEncoder()
  write(enc)
  return encoding.toUint8Array(enc)
}

export interface MemberEntry {
  nodeId: string
  name: string
  url: string
}

export function writeMembers(enc: encoding.Encoder, members: MemberEntry[]): void {
  encoding.writeVarUint(enc, Frame.Members)
  encoding.writeVarUint(enc, members.length)
  for (const m of members) {
    encoding.writeVarString(enc, m.nodeId)
    encoding.writeVarString(enc, m.name)
    encoding.writeVarString(enc, m.url)
  }
}

export function readMembers(dec: decoding.Decoder): MemberEntry[] {
  const n = decoding.readVarUint(dec)
  if (n > 100_000) throw new RangeError('member list too long')
  const out: MemberEntry[] = []
  for (let i = 0; i < n; i++) {
    out.push({
      nodeId: decoding.readVarString(dec),
      name: decoding.readVarString(dec),
      url: decoding.readVarString(dec),
    })
  }
  return out
}

/** A `Doc` frame: the doc's name, the kind (`DocKind`), and the bytes. */
export function writeDocFrame(
  enc: encoding.Encoder,
  doc: string,
  kind: number,
  bytes: Uint8Array,
): void {
  encoding.writeVarUint(enc, Frame.Doc)
  encoding.writeVarString(enc, doc)
  encoding.writeVarUint(enc, kind)
  encoding.writeVarUint8Array(enc, bytes)
}

/** One piece of a doc update sent in pieces (`Frame.DocChunk`). */
export interface DocChunkFrame {
  /** The doc's name. */
  doc: string
  /** Bytes of the whole update. */
  total: number
  /** Where this piece starts in it: the pieces come in order, each right after the last. */
  offset: number
  bytes: Uint8Array
}

export function writeDocChunk(enc: encoding.Encoder, f: DocChunkFrame): void {
  encoding.writeVarUint(enc, Frame.DocChunk)
  encoding.writeVarString(enc, f.doc)
  encoding.writeVarUint(enc, f.total)
  encoding.writeVarUint(enc, f.offset)
  encoding.writeVarUint8Array(enc, f.bytes)
}

/** Reads a `DocChunk` frame after its type. */
export function readDocChunk(dec: decoding.Decoder): DocChunkFrame {
  return {
    doc: decoding.readVarString(dec),
    total: decoding.readVarUint(dec),
    offset: decoding.readVarUint(dec),
    bytes: decoding.readVarUint8Array(dec),
  }
}
