// The pooled writers put on the wire exactly what lib0's encoder would: a reader built on lib0
// cannot tell them apart.
import { describe, expect, it } from 'vitest'
import * as encoding from 'lib0/encoding'
import {
  encodedBytes,
  pooledEncoder,
  readVarString,
  taggedVarBytes,
  taggedVarString,
  utf8Length,
  writeUtf8,
} from '../src/bytes.js'
import {
  decodeValue,
  encodeValue,
  preparedBytes,
  prepareValue,
  readPayload,
  writePrepared,
} from '../src/codec.js'
import * as decoding from 'lib0/decoding'

/** What lib0 writes for a tag and a var-string or var-uint8-array. */
function lib0(tag: number, write: (enc: encoding.Encoder) => void): Uint8Array {
  const enc = encoding.createEncoder()
  encoding.writeUint8(enc, tag)
  write(enc)
  return encoding.toUint8Array(enc)
}

describe('pooled wire bytes', () => {
  // Lengths around each varuint boundary, and strings with 2-, 3- and 4-byte UTF-8 characters.
  // Short ones on both sides of the ASCII fast path's bound (32), with and without a non-ASCII
  // character in them.
  const strings = [
    '',
    'a',
    'x'.repeat(31),
    'x'.repeat(32),
    'x'.repeat(33),
    'ab€cd',
    `${'y'.repeat(30)}é`,
    '🙂',
    'x'.repeat(127),
    'x'.repeat(128),
    'é'.repeat(70),
    '€🙂'.repeat(5000),
  ]

  it('writes a tagged var-string as lib0 does', () => {
    for (const s of strings) {
      expect(Buffer.from(taggedVarString(3, s))).toEqual(
        Buffer.from(lib0(3, (enc) => encoding.writeVarString(enc, s))),
      )
    }
  })

  it('writes tagged var-bytes as lib0 does', () => {
    for (const n of [0, 1, 127, 128, 16_383, 16_384, 100_000]) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => i % 251)
      expect(Buffer.from(taggedVarBytes(1, bytes))).toEqual(
        Buffer.from(lib0(1, (enc) => encoding.writeVarUint8Array(enc, bytes))),
      )
    }
  })

  it('hands over what a pooled encoder holds, as a view while it fits the first buffer', () => {
    const small = pooledEncoder(64)
    encoding.writeVarString(small, 'hello')
    const view = encodedBytes(small)
    expect(Buffer.from(view).toString('latin1')).toBe('\x05hello')
    expect(view.buffer).toBe(small.cbuf.buffer)
    const big = pooledEncoder(8)
    for (let i = 0; i < 100; i++) encoding.writeVarUint(big, i)
    expect([...encodedBytes(big)]).toEqual(Array.from({ length: 100 }, (_, i) => i))
  })

  it('round-trips values through the codec on both of its paths', () => {
    for (const v of [
      { a: 1, s: 'é€🙂' },
      [1, 'two', null],
      new Map([[1, 2]]),
      new Uint8Array([9]),
    ]) {
      expect(decodeValue(encodeValue(v))).toEqual(v)
    }
  })

  it('writes a prepared value into a frame as the bytes encodeValue makes, whatever room is left', () => {
    const values: unknown[] = [
      ...strings,
      { a: 1, s: 'é€🙂' },
      [1, 'two', null],
      { big: 'y'.repeat(3000) },
      new Map([[1, 2]]),
    ]
    // A small pooled first buffer (an offset into Node's pool), filled to different points
    // before each value, so that values land inside it, across its end and in new buffers.
    for (const before of [0, 1, 50, 63]) {
      const enc = pooledEncoder(64)
      for (let i = 0; i < before; i++) encoding.writeUint8(enc, 7)
      const expected: number[] = Array.from({ length: before }, () => 7)
      for (const v of values) {
        const p = prepareValue(v)
        const bytes = encodeValue(v)
        expect(preparedBytes(p)).toBe(bytes.length)
        writePrepared(enc, p)
        expected.push(...bytes)
      }
      const out = encodedBytes(enc)
      expect(Buffer.from(out)).toEqual(Buffer.from(expected))
      const dec = decoding.createDecoder(out)
      for (let i = 0; i < before; i++) decoding.readUint8(dec)
      for (const v of values) expect(readPayload(dec)).toEqual(v)
    }
  })

  it('writes, measures and reads strings as lib0 and Buffer do, short ASCII ones in JavaScript', () => {
    for (const str of strings) {
      expect(utf8Length(str)).toBe(Buffer.byteLength(str, 'utf8'))
      for (const room of [2, 64, 100_000]) {
        const enc = pooledEncoder(room)
        encoding.writeUint8(enc, 9)
        writeUtf8(enc, str, utf8Length(str))
        encoding.writeUint8(enc, 9)
        const bytes = encodedBytes(enc)
        expect(Buffer.from(bytes)).toEqual(
          Buffer.from(
            lib0(9, (e) => {
              encoding.writeVarString(e, str)
              encoding.writeUint8(e, 9)
            }),
          ),
        )
        const dec = decoding.createDecoder(bytes)
        expect(decoding.readUint8(dec)).toBe(9)
        expect(readVarString(dec)).toBe(str)
        expect(decoding.readUint8(dec)).toBe(9)
      }
    }
  })

  it('refuses bytes that are not UTF-8 as lib0 does, and a length past the end', () => {
    // A lone continuation byte, short (the fast path's size) and long.
    for (const len of [3, 40]) {
      const bytes = new Uint8Array([len, ...Array.from({ length: len - 1 }, () => 0x61), 0x80])
      expect(() => readVarString(decoding.createDecoder(bytes))).toThrow()
      expect(() => decoding.readVarString(decoding.createDecoder(bytes))).toThrow()
    }
    const short = new Uint8Array([5, 0x61, 0x62])
    expect(() => readVarString(decoding.createDecoder(short))).toThrow()
  })
})
