// Reading what a node sends to a raw peer, frame by frame, and the doc frames such a peer sends:
// for the tests of big doc syncs (parts, chunks, and the heartbeats between them).
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import { DocKind, Frame, frame, readDocChunk, readMembers } from '@swormjs/cluster/protocol'

/** One frame a node sent: its type, and for doc frames the doc, the kind and the bytes. */
export interface SeenFrame {
  readonly type: number
  readonly doc?: string
  readonly kind?: number
  readonly bytes?: Uint8Array
  /** `DocChunk`: the whole update's size, and where this piece starts in it. */
  readonly total?: number
  readonly offset?: number
}

/**
 * The frames of one message from a node, after the handshake's challenge, to a peer that owns
 * no doc and runs no process.
 */
export function readFrames(message: Uint8Array): SeenFrame[] {
  const dec = decoding.createDecoder(message)
  const out: SeenFrame[] = []
  while (decoding.hasContent(dec)) {
    const type = decoding.readVarUint(dec)
    switch (type) {
      case Frame.Doc:
        out.push({
          type,
          doc: decoding.readVarString(dec),
          kind: decoding.readVarUint(dec),
          bytes: decoding.readVarUint8Array(dec),
        })
        break
      case Frame.DocChunk: {
        const f = readDocChunk(dec)
        out.push({ type, doc: f.doc, total: f.total, offset: f.offset, bytes: f.bytes })
        break
      }
      case Frame.DocDrop:
        out.push({ type, doc: decoding.readVarString(dec) })
        break
      case Frame.Members:
        readMembers(dec)
        out.push({ type })
        break
      case Frame.Welcome:
        // The acceptor's proof.
        decoding.readVarUint8Array(dec)
        out.push({ type })
        break
      case Frame.Heartbeat:
      case Frame.AnnounceEnd:
      case Frame.SyncAsk:
      case Frame.SyncDone:
      case Frame.Leaving:
        out.push({ type })
        break
      default:
        throw new Error(`a raw peer does not expect frame type ${type}`)
    }
  }
  return out
}

/** A `Doc` frame of `kind` for `doc` with `bytes`, as a message of its own. */
export function docFrame(doc: string, kind: number, bytes: Uint8Array): Uint8Array {
  return frame((enc) => {
    encoding.writeVarUint(enc, Frame.Doc)
    encoding.writeVarString(enc, doc)
    encoding.writeVarUint(enc, kind)
    encoding.writeVarUint8Array(enc, bytes)
  })
}

/** The state vector of an empty doc: "send me everything". */
export const EMPTY_STATE_VECTOR = Uint8Array.of(0)

export { DocKind }
