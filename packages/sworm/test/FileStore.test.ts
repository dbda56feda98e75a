// The `persist` file store: what is put comes back after a reopen, a drop removes it, the log is
// compacted into a snapshot, a torn last record (a crash during its write) is skipped and cut
// off, and damage anywhere else stops the open with an error naming the file and the offset.
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { PersistCorrupt } from '../src/errors.js'
import { FileStore } from '../src/persist/FileStore.js'
import { crc32, frame, readRecords } from '../src/persist/LogFile.js'

const dirs: string[] = []
const freshDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'sworm-store-'))
  dirs.push(d)
  return d
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const state = (n: number): Uint8Array => new Uint8Array([n, n + 1, 255])

describe('FileStore', () => {
  it('brings back what was put, newest state per name, without what was dropped', async () => {
    const dir = freshDir()
    const s = await FileStore.open(dir, 'Rooms')
    await Promise.all([
      s.put({ key: 'sa', v: 1, type: 'Counter', args: { n: 1 }, state: state(1) }),
      s.put({ key: 'sb', v: 1, type: 'Counter', args: null }),
      s.put({ key: 'sc', v: 1, type: 'Counter', args: null }),
    ])
    await s.put({ key: 'sa', v: 2, type: 'Counter', args: { n: 1 }, state: state(7) })
    await s.drop('sc')
    await s.close()
    const again = await FileStore.open(dir, 'Rooms')
    const back = again.load().sort((x, y) => x.key.localeCompare(y.key))
    expect(back).toEqual([
      { key: 'sa', v: 2, type: 'Counter', args: { n: 1 }, state: state(7) },
      { key: 'sb', v: 1, type: 'Counter', args: null },
    ])
    await again.close()
  })

  it('writes a snapshot once the log outgrows what is live, and reads it back', async () => {
    const dir = freshDir()
    const s = await FileStore.open(dir, 'Rooms')
    const big = new Uint8Array(4096).fill(9)
    for (let i = 0; i < 600; i++) {
      await s.put({ key: `s${i % 10}`, v: i, type: 'Counter', args: null, state: big })
    }
    await s.close()
    expect(statSync(join(dir, 'Rooms.snap')).size).toBeGreaterThan(0)
    expect(statSync(join(dir, 'Rooms.log')).size).toBeLessThan(600 * 4096)
    const again = await FileStore.open(dir, 'Rooms')
    expect(
      again
        .load()
        .map((n) => [n.key, n.v])
        .sort(),
    ).toEqual(Array.from({ length: 10 }, (_, k) => [`s${k}`, 590 + k]).sort())
    await again.close()
  })

  it('skips a torn last record and cuts it off; the records before it come back', async () => {
    const dir = freshDir()
    const s = await FileStore.open(dir, 'Rooms')
    await s.put({ key: 'sa', v: 1, type: 'Counter', args: null, state: state(1) })
    await s.put({ key: 'sb', v: 1, type: 'Counter', args: null, state: state(2) })
    await s.close()
    const log = join(dir, 'Rooms.log')
    const whole = statSync(log).size
    // A crash in the middle of a third record's write: its header and half its bytes.
    const torn = frame(new Uint8Array(100).fill(3)).subarray(0, 60)
    appendFileSync(log, torn)
    const again = await FileStore.open(dir, 'Rooms')
    expect(
      again
        .load()
        .map((n) => n.key)
        .sort(),
    ).toEqual(['sa', 'sb'])
    expect(statSync(log).size).toBe(whole)
    // A last record whole in length but with a wrong checksum is a torn write too.
    await again.put({ key: 'sc', v: 1, type: 'Counter', args: null })
    await again.close()
    const bytes = readFileSync(log)
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1)
    writeFileSync(log, bytes)
    const third = await FileStore.open(dir, 'Rooms')
    expect(
      third
        .load()
        .map((n) => n.key)
        .sort(),
    ).toEqual(['sa', 'sb'])
    await third.close()
  })

  it('refuses to open a log damaged before its end, naming the file and the offset', async () => {
    const dir = freshDir()
    const s = await FileStore.open(dir, 'Rooms')
    await s.put({ key: 'sa', v: 1, type: 'Counter', args: null, state: state(1) })
    await s.put({ key: 'sb', v: 1, type: 'Counter', args: null, state: state(2) })
    await s.close()
    const log = join(dir, 'Rooms.log')
    const bytes = readFileSync(log)
    const second = readRecords(log).offsets[1]!
    bytes.writeUInt8(bytes.readUInt8(10) ^ 0xff, 10) // inside the first record's payload
    writeFileSync(log, bytes)
    const opened = FileStore.open(dir, 'Rooms')
    await expect(opened).rejects.toSatisfy(
      (e) =>
        PersistCorrupt.is(e) &&
        e.file === log &&
        e.offset === 0 &&
        e.message.includes(`${log}: damaged at byte 0`),
    )
    expect(second).toBeGreaterThan(0)
  })

  it('computes the CRC-32 zlib does', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926)
  })
})
