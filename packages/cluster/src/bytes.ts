// Bytes for the wire without a fresh ArrayBuffer each time. Allocating a typed array bigger than
// V8's on-heap limit (64 bytes) costs an off-heap backing store, about as much as encoding a
// small frame; lib0's encoder takes one to start, one each time it grows, and one more to hand
// its bytes over. These take their memory from Node's Buffer pool (8 KiB slabs, shared) and hand
// over a view, not a copy. A view keeps its slab alive only as long as the message waits.
import * as encoding from 'lib0/encoding'

/** First buffer of a pooled encoder: most batches of a turn fit it (bigger ones grow). */
const FIRST_BYTES = 512

/** A lib0 encoder whose first buffer comes from the Buffer pool. */
export function pooledEncoder(size = FIRST_BYTES): encoding.Encoder {
  const enc = encoding.createEncoder()
  enc.cbuf = Buffer.allocUnsafe(size)
  return enc
}

/**
 * The bytes written to `enc`: a view of its buffer when they fit one, else one copy. The
 * encoder must not be written again afterwards.
 */
export function encodedBytes(enc: encoding.Encoder): Uint8Array {
  if (enc.bufs.length === 0) return enc.cbuf.subarray(0, enc.cpos)
  return encoding.toUint8Array(enc)
}

/** Bytes a varuint of `n` takes. */
export function varUintBytes(n: number): number {
  let bytes = 1
  while (n > 0x7f) {
    n = Math.floor(n / 0x80)
    bytes++
  }
  return bytes
}

/** Writes varuint `n` at `pos` of `out`; returns the position after it. */
function writeVarUintAt(out: Uint8Array, pos: number, n: number): number {
  while (n > 0x7f) {
    out[pos++] = 0x80 | (n & 0x7f)
    n = Math.floor(n / 0x80)
  }
  out[pos++] = n
  return pos
}

/** `tag`, then `str` as lib0 writes a var-string (its UTF-8 length as a varuint, then it). */
export function taggedVarString(tag: number, str: string): Uint8Array {
  const len = Buffer.byteLength(str, 'utf8')
  const out = Buffer.allocUnsafe(1 + varUintBytes(len) + len)
  out[0] = tag
  const pos = writeVarUintAt(out, 1, len)
  out.write(str, pos, 'utf8')
  return out
}

/** `tag`, then `bytes` as lib0 writes a var-uint8-array (its length as a varuint, then them). */
export function taggedVarBytes(tag: number, bytes: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(1 + varUintBytes(bytes.length) + bytes.length)
  out[0] = tag
  out.set(bytes, writeVarUintAt(out, 1, bytes.length))
  return out
}

/** Node's native UTF-8 writer, which takes any `Uint8Array` (`Buffer#write` without its checks). */
const bufferMethods = Buffer.prototype as unknown as {
  utf8Write(this: Uint8Array, str: string, offset: number, length: number): number
}

/**
 * Writes `str`, whose UTF-8 length is `len`, as lib0 writes a var-string (the length as a
 * varuint, then the bytes), encoding it straight into the encoder's buffer: no buffer of its
 * own to fill and copy. When the encoder's buffer lacks room, a new one takes the string whole.
 */
export function writeUtf8(enc: encoding.Encoder, str: string, len: number): void {
  encoding.writeVarUint(enc, len)
  if (enc.cbuf.length - enc.cpos < len) {
    // As lib0 grows (a full buffer goes to `bufs`), but the part written so far: a view of it.
    enc.bufs.push(enc.cbuf.subarray(0, enc.cpos))
    // Its own buffer at offset 0: lib0's `toUint8Array` reads the last one from offset 0.
    enc.cbuf = new Uint8Array(Math.max(enc.cbuf.length * 2, len))
    enc.cpos = 0
  }
  bufferMethods.utf8Write.call(enc.cbuf, str, enc.cpos, len)
  enc.cpos += len
}
