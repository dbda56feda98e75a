// Doc updates bigger than a frame, both ways. Out: a doc's diff goes to a peer as a stream of
// parts (`docParts.ts`), each part in one `Doc` update frame, or, when a single part is bigger
// than a chunk (one big value), in `DocChunk` frames. In: the pieces of such an update, put back
// together per peer within a bound, and checked as they come.
import type { OutStream } from './Outbox.js'
import type { Parts } from './docParts.js'
import { BadDocChunk } from './errors.js'
import { DocKind, frame, writeDocChunk, writeDocFrame, type DocChunkFrame } from './frames.js'

/** The messages of one doc's diff for one peer: a part per message, a big part in chunks. */
export class UpdateStream implements OutStream {
  private readonly doc: string
  private readonly parts: Parts
  private readonly chunkBytes: number
  /** A part too big for one frame, and how much of it went. */
  private big: { bytes: Uint8Array; offset: number } | undefined

  constructor(doc: string, parts: Parts, chunkBytes: number) {
    this.doc = doc
    this.parts = parts
    this.chunkBytes = chunkBytes
  }

  next(): Uint8Array | undefined {
    if (this.big === undefined) {
      const part = this.parts.next()
      if (part === undefined) return undefined
      if (part.length <= this.chunkBytes) {
        return frame((enc) => writeDocFrame(enc, this.doc, DocKind.Update, part))
      }
      this.big = { bytes: part, offset: 0 }
    }
    const { bytes, offset } = this.big
    const end = Math.min(bytes.length, offset + this.chunkBytes)
    const piece = bytes.subarray(offset, end)
    this.big = end < bytes.length ? { bytes, offset: end } : undefined
    return frame((enc) =>
      writeDocChunk(enc, { doc: this.doc, total: bytes.length, offset, bytes: piece }),
    )
  }
}

/** What came so far of one peer's chunked update. */
interface Partial {
  readonly doc: string
  readonly total: number
  received: number
  /** The pieces, or undefined when the doc is not held here (they are checked, then dropped). */
  readonly pieces: Uint8Array[] | undefined
}

/**
 * The chunked updates being received, one at most per peer (a sender writes the pieces of one
 * update back to back; only heartbeats may come between them). A peer holds at most `maxBytes`
 * (the largest update this node takes) until its last piece comes or its connection goes.
 */
export class ChunkAssembly<P> {
  private readonly maxBytes: number
  private readonly partial = new Map<P, Partial>()
  private held = 0

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes
  }

  /** Bytes received of updates not whole yet, over every peer. */
  get bytes(): number {
    return this.held
  }

  /** The doc whose chunked update `peer` is in the middle of, if any. */
  inProgress(peer: P): string | undefined {
    return this.partial.size === 0 ? undefined : this.partial.get(peer)?.doc
  }

  /**
   * Takes a piece from `peer`. Returns the whole update once its last piece came (unless `keep`
   * said its doc is not held here). Throws `BadDocChunk`, dropping what came, on a piece out of
   * place or past the bound.
   */
  take(peer: P, f: DocChunkFrame, keep: (doc: string) => boolean): Uint8Array | undefined {
    let p = this.partial.get(peer)
    try {
      if (f.bytes.length === 0) throw new BadDocChunk('malformed', f.doc, 'a piece of no bytes')
      if (p === undefined) {
        if (f.offset !== 0) {
          throw new BadDocChunk('out-of-order', f.doc, `first piece at offset ${f.offset}`)
        }
        if (f.total > this.maxBytes) {
          throw new BadDocChunk('too-large', f.doc, `${f.total} bytes, over ${this.maxBytes}`)
        }
        p = { doc: f.doc, total: f.total, received: 0, pieces: keep(f.doc) ? [] : undefined }
        this.partial.set(peer, p)
      } else if (f.doc !== p.doc || f.total !== p.total || f.offset !== p.received) {
        throw new BadDocChunk(
          'out-of-order',
          f.doc,
          `expected ${p.doc} at ${p.received} of ${p.total}, got ${f.doc} at ${f.offset} of ${f.total}`,
        )
      }
      if (p.received + f.bytes.length > p.total) {
        throw new BadDocChunk('too-large', f.doc, `pieces past the declared ${p.total} bytes`)
      }
    } catch (e) {
      this.forget(peer)
      throw e
    }
    p.received += f.bytes.length
    if (p.pieces !== undefined) {
      // A copy: the piece is a view into its message, which need not outlive this frame.
      p.pieces.push(f.bytes.slice())
      this.held += f.bytes.length
    }
    if (p.received < p.total) return undefined
    this.forget(peer)
    return p.pieces === undefined ? undefined : concat(p.pieces, p.total)
  }

  /** Drops what `peer` sent of an unfinished update (its connection went, or it misbehaved). */
  forget(peer: P): void {
    const p = this.partial.get(peer)
    if (p === undefined) return
    this.partial.delete(peer)
    if (p.pieces !== undefined) for (const piece of p.pieces) this.held -= piece.length
  }
}

function concat(pieces: Uint8Array[], total: number): Uint8Array {
  if (pieces.length === 1) return pieces[0]!
  const out = new Uint8Array(total)
  let at = 0
  for (const piece of pieces) {
    out.set(piece, at)
    at += piece.length
  }
  return out
}
