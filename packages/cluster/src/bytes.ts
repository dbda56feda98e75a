// Bytes for the wire without a fresh ArrayBuffer each time. Allocating a typed array bigger than
// V8's on-heap limit (64 bytes) costs an off-heap backing store, about as much as encoding a
// small frame; lib0's encoder takes one to start, one each time it grows, and one more to hand
// its bytes over. These take their memory from Node's Buffer pool (8 KiB slabs, shared) and hand
// over a view, not a copy. A view keeps its slab alive only as long as the message waits.
import * as decoding from 'lib0/decoding'
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

/** Node's native UTF-8 writer and Latin-1 reader, which take any `Uint8Array` (without `Buffer`'s checks). */
const bufferMethods = Buffer.prototype as unknown as {
  utf8Write(this: Uint8Array, str: string, offset: number, length: number): number
  latin1Slice(this: Uint8Array, start: number, end: number): string
}

/**
 * Up to this many characters, a string is measured, written and read in JavaScript when it is
 * ASCII: for the short payloads most messages carry (a number, `{"op":"inc"}`), a native call
 * (`Buffer.byteLength`, `utf8Write`, a `TextDecoder` over a fresh view) costs more than the work.
 * Measured here: 6 characters written in 13 ns against 63, read in 85 ns against 144; equal at
 * about 40 characters.
 */
const SHORT_ASCII = 32

/** The UTF-8 length of `str` (`Buffer.byteLength`, counted in JavaScript for a short one). */
export function utf8Length(str: string): number {
  const n = str.length
  if (n > SHORT_ASCII) return Buffer.byteLength(str, 'utf8')
  for (let i = 0; i < n; i++) if (str.charCodeAt(i) > 0x7f) return Buffer.byteLength(str, 'utf8')
  return n
}

/**
 * Reads a var-string as lib0's `readVarString` does, a short ASCII one without a `TextDecoder`
 * or a view of its bytes. Anything else goes to lib0, which throws on bytes that are not UTF-8.
 */
export function readVarString(dec: decoding.Decoder): string {
  const start = dec.pos
  const len = decoding.readVarUint(dec)
  const from = dec.pos
  const end = from + len
  if (len <= SHORT_ASCII && end <= dec.arr.length) {
    const arr = dec.arr
    let ascii = true
    for (let i = from; i < end; i++) {
      if (arr[i]! > 0x7f) {
        ascii = false
        break
      }
    }
    if (ascii) {
      dec.pos = end
      return bufferMethods.latin1Slice.call(arr, from, end)
    }
  }
  dec.pos = start
  return decoding.readVarString(dec)
}

/**
 * Writes `str`, whose UTF-8 length is `len`, as lib0 writes a var-string (the length as a
 * varuint, then the bytes), encoding it straight into the encoder's buffer: no buffer of its
 * own to fill and copy. When the encoder's buffer lacks room, a new one takes the string whole.
 */
export function writeUtf8(enc: encoding.Encoder, str: string, len: number): void {
  encoding.writeVarUint(enc, len)
  if (len === str.length && len <= SHORT_ASCII && enc.cbuf.length - enc.cpos >= len) {
    // ASCII (as many bytes as chars), and short: byte by byte beats the native call.
    const out = enc.cbuf
    const at = enc.cpos
    for (let i = 0; i < len; i++) out[at + i] = str.charCodeAt(i)
    enc.cpos = at + len
    return
  }
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
