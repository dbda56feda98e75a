// Updates in pieces: the stream that cuts a big part into chunks, and the assembly that puts them
// back together per peer, within its bound, keeping nothing of a doc not held.
import { describe, expect, it } from 'vitest'
import * as decoding from 'lib0/decoding'
import { ChunkAssembly, UpdateStream } from '../src/DocChunks.js'
import { onePart } from '../src/docParts.js'
import { BadDocChunk } from '../src/errors.js'
import { Frame, readDocChunk, type DocChunkFrame } from '../src/frames.js'

function bytes(n: number, fill = 7): Uint8Array {
  return new Uint8Array(n).fill(fill)
}

/** The chunk frames of a stream's messages. */
function chunksOf(stream: UpdateStream): DocChunkFrame[] {
  const out: DocChunkFrame[] = []
  for (let m = stream.next(); m !== undefined; m = stream.next()) {
    const dec = decoding.createDecoder(m)
    expect(decoding.readVarUint(dec)).toBe(Frame.DocChunk)
    out.push(readDocChunk(dec))
  }
  return out
}

describe('UpdateStream and ChunkAssembly', () => {
  it('cuts a part bigger than a chunk into pieces that put back together give it', () => {
    const update = Uint8Array.from({ length: 2500 }, (_, i) => i % 251)
    const chunks = chunksOf(new UpdateStream('d', onePart(update), 1000))
    expect(chunks.map((c) => [c.offset, c.bytes.length, c.total])).toEqual([
      [0, 1000, 2500],
      [1000, 1000, 2500],
      [2000, 500, 2500],
    ])
    const assembly = new ChunkAssembly<string>(10_000)
    const got = chunks.map((c) => assembly.take('p', c, () => true))
    expect(got.slice(0, 2)).toEqual([undefined, undefined])
    expect(got[2]).toEqual(update)
    expect(assembly.bytes).toBe(0)
  })

  it('holds the bytes of an unfinished update until its peer is forgotten', () => {
    const assembly = new ChunkAssembly<string>(10_000)
    assembly.take('p', { doc: 'd', total: 3000, offset: 0, bytes: bytes(1000) }, () => true)
    assembly.take('q', { doc: 'e', total: 3000, offset: 0, bytes: bytes(500) }, () => true)
    expect(assembly.bytes).toBe(1500)
    expect(assembly.inProgress('p')).toBe('d')
    assembly.forget('p')
    expect(assembly.bytes).toBe(500)
    expect(assembly.inProgress('p')).toBeUndefined()
  })

  it('keeps none of an update for a doc not held, yet checks its pieces', () => {
    const assembly = new ChunkAssembly<string>(10_000)
    const skip = (): boolean => false
    expect(assembly.take('p', { doc: 'd', total: 2000, offset: 0, bytes: bytes(1000) }, skip)).toBe(
      undefined,
    )
    expect(assembly.bytes).toBe(0)
    expect(assembly.inProgress('p')).toBe('d')
    expect(() =>
      assembly.take('p', { doc: 'd', total: 2000, offset: 999, bytes: bytes(1000) }, skip),
    ).toThrow(BadDocChunk)
    expect(assembly.inProgress('p')).toBeUndefined()
  })

  it('refuses an update declared past its bound before holding any of it', () => {
    const assembly = new ChunkAssembly<string>(10_000)
    let thrown: unknown
    try {
      assembly.take('p', { doc: 'd', total: 10_001, offset: 0, bytes: bytes(10) }, () => true)
    } catch (e) {
      thrown = e
    }
    expect(BadDocChunk.is(thrown) && thrown.reason).toBe('too-large')
    expect(assembly.bytes).toBe(0)
  })
})
