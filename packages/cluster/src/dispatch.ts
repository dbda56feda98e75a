// The frames of one message from a peer, each handed to the part that owns what it is about:
// remote processes, replicated docs, or the peer table. It keeps no state of its own.
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import { BadDocChunk, ProtocolError } from './errors.js'
import { Frame, readMembers, type MemberEntry } from './frames.js'
import type { Peer } from './Peer.js'

/** Where the frames of a peer go. */
export interface FrameTargets {
  /** A heartbeat came: the failure detector learns the peer's rhythm from these. */
  heartbeat(peer: Peer): void
  /** Some other frame came (told once per message): a sign of life, not of rhythm. */
  heard(peer: Peer): void
  /** Remote processes (send, reply, exit, link, monitor, down): true when it took the frame. */
  readonly route: { handle(peer: Peer, type: number, dec: decoding.Decoder): boolean }
  readonly docs: {
    handleDoc(peer: Peer, dec: decoding.Decoder): void
    handleChunk(peer: Peer, dec: decoding.Decoder): void
    handleDrop(peer: Peer, dec: decoding.Decoder): void
    /** The doc whose chunked update the peer is in the middle of, if any. */
    chunking(peer: Peer): string | undefined
  }
  /** The peer announced it is leaving. */
  leaving(peer: Peer): void
  /** The peer's list of the members it is connected to. */
  members(list: MemberEntry[]): void
  /** The peer has answered everything this node asked before its `SyncAsk`: it is caught up. */
  synced(peer: Peer): void
}

/** Hands every frame of `dec` to its target. Throws on a malformed or unknown frame. */
export function dispatchFrames(peer: Peer, dec: decoding.Decoder, to: FrameTargets): void {
  let heard = false
  while (decoding.hasContent(dec)) {
    const type = decoding.readVarUint(dec)
    peer.framesIn++
    if (type === Frame.Heartbeat) {
      to.heartbeat(peer)
      continue
    }
    if (!heard) {
      heard = true
      to.heard(peer)
    }
    if (type === Frame.DocChunk) {
      to.docs.handleChunk(peer, dec)
      continue
    }
    // The pieces of a chunked update come back to back: anything else between them is a peer
    // that will never finish it (what it sent so far is dropped with the connection).
    const chunking = to.docs.chunking(peer)
    if (chunking !== undefined) {
      throw new BadDocChunk('unfinished', chunking, `frame type ${type} before its last piece`)
    }
    if (to.route.handle(peer, type, dec)) continue
    switch (type) {
      case Frame.Leaving:
        to.leaving(peer)
        break
      case Frame.Members:
        to.members(readMembers(dec))
        break
      case Frame.Doc:
        to.docs.handleDoc(peer, dec)
        break
      case Frame.DocDrop:
        to.docs.handleDrop(peer, dec)
        break
      case Frame.AnnounceEnd:
        // Every announce of the peer has been answered (our state vectors are queued):
        // ask it to tell us once it has sent what they asked for.
        peer.write((enc) => encoding.writeVarUint(enc, Frame.SyncAsk))
        break
      case Frame.SyncAsk:
        peer.write((enc) => encoding.writeVarUint(enc, Frame.SyncDone))
        break
      case Frame.SyncDone:
        to.synced(peer)
        break
      default:
        throw new ProtocolError(`unknown frame type ${type}`)
    }
  }
}
