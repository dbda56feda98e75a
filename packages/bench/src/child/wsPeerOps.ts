// The frames the baselines send to the bare `ws` peer (`wsPeer.ts`), and back: the first byte
// says what a frame is.

export const PeerOp = {
  Echo: 1,
  Expect: 2,
  Batch: 3,
  Done: 4,
  Yjs: 5,
} as const

/** The map of the Yjs baseline's doc: name → entry, as a registry's doc holds its names. */
export const YJS_MAP = 'names'

/** A frame of `op` followed by `count` (u32, little-endian). */
export function writeCount(op: number, count: number): Buffer {
  const out = Buffer.alloc(5)
  out[0] = op
  out.writeUInt32LE(count, 1)
  return out
}

/** The count of a frame made by {@link writeCount}. */
export function readCount(bytes: Buffer): number {
  return bytes.readUInt32LE(1)
}
