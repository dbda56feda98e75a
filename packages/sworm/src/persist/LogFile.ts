// The on-disk format of `persist`: a file of records, each `[length u32][crc32 u32][payload]`
// (little-endian), the payload `length` bytes. Reading stops at the end of the last whole record:
// a record cut short at the end of the file (a crash during its write) is the torn tail, skipped
// and cut off. Any other damage (a checksum that does not match, with more bytes after it, or a
// length no record can have) is an error naming the file and the offset.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, ftruncateSync } from 'node:fs'
import { PersistCorrupt } from '../errors.js'

const HEADER = 8
/** No record is larger: a length past it is damage, not a record. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024

const TABLE = (() => {
  const t = new Int32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c
  }
  return t
})()

/** CRC-32 (IEEE), as zlib computes it. */
export function crc32(bytes: Uint8Array): number {
  let c = -1
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8)
  return (c ^ -1) >>> 0
}

/** One record framed for the file. */
export function frame(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEADER + payload.length)
  out.writeUInt32LE(payload.length, 0)
  out.writeUInt32LE(crc32(payload), 4)
  out.set(payload, HEADER)
  return out
}

/** What reading a file found: its records, and the torn tail cut off (bytes), if any. */
export interface ReadResult {
  records: Buffer[]
  /** Where each record starts in the file. */
  offsets: number[]
  /** Bytes after the last whole record (a torn write), 0 when the file ends cleanly. */
  tornBytes: number
  /** Where the whole records end: the file is cut there when a torn tail was found. */
  end: number
}

/**
 * Reads every record of `path` (none if the file does not exist).
 * @throws PersistCorrupt naming the file and the offset of damage that is not a torn tail.
 */
export function readRecords(path: string): ReadResult {
  if (!existsSync(path)) return { records: [], offsets: [], tornBytes: 0, end: 0 }
  const data = readFileSync(path)
  const records: Buffer[] = []
  const offsets: number[] = []
  let at = 0
  while (at < data.length) {
    if (data.length - at < HEADER) return { records, offsets, tornBytes: data.length - at, end: at }
    const length = data.readUInt32LE(at)
    const sum = data.readUInt32LE(at + 4)
    if (length > MAX_RECORD_BYTES) {
      throw new PersistCorrupt(path, at, `a record length of ${length} bytes`)
    }
    const endOfRecord = at + HEADER + length
    if (endOfRecord > data.length) return { records, offsets, tornBytes: data.length - at, end: at }
    const payload = data.subarray(at + HEADER, endOfRecord)
    if (crc32(payload) !== sum) {
      // The last record, checksum wrong: a write cut short that left its length intact.
      if (endOfRecord === data.length) {
        return { records, offsets, tornBytes: data.length - at, end: at }
      }
      throw new PersistCorrupt(path, at, 'a checksum that does not match')
    }
    records.push(payload)
    offsets.push(at)
    at = endOfRecord
  }
  return { records, offsets, tornBytes: 0, end: at }
}

/** Cuts `path` at `end` (a torn tail) and makes the cut durable. */
export function truncateAt(path: string, end: number): void {
  const fd = openSync(path, 'r+')
  try {
    ftruncateSync(fd, end)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}
