// The workers whose names moved on, alone: each forwards to its name for `GONE_MS`, and the old
// ones are dropped as new ones come, oldest first.
import { describe, expect, it } from 'vitest'
import type { Pid } from '@swormjs/actor'
import { GONE_MS, GoneWorkers } from '../src/moves/GoneWorkers.js'

const pid = (n: number): Pid => `<node-a.${n}>` as Pid

describe('GoneWorkers', () => {
  it('forwards a moved worker to its name for GONE_MS, then forgets it', () => {
    let now = 1_000
    const gone = new GoneWorkers(() => now)
    gone.add(pid(1), 'sroom-1')
    now += GONE_MS - 1
    expect(gone.keyOf(pid(1))).toBe('sroom-1')
    expect(gone.lastOf('sroom-1')).toBe(pid(1))
    now += 1
    expect(gone.keyOf(pid(1))).toBeUndefined()
    expect(gone.lastOf('sroom-1')).toBeUndefined()
  })

  it('keeps the last worker of a name, and drops the old ones oldest first as new ones come', () => {
    let now = 0
    const gone = new GoneWorkers(() => now)
    for (let i = 0; i < 5_000; i++) gone.add(pid(i), `sroom-${i % 100}`)
    expect(gone.size).toBe(5_000)
    expect(gone.lastOf('sroom-7')).toBe(pid(4_907))
    now = GONE_MS / 2
    for (let i = 5_000; i < 8_000; i++) gone.add(pid(i), `sroom-${i % 100}`)
    now = GONE_MS + 1
    // The first 5,000 are past their time: the next add drops them, and keeps the 3,000 after.
    gone.add(pid(8_000), 'sroom-other')
    expect(gone.size).toBe(3_001)
    expect(gone.keyOf(pid(4_999))).toBeUndefined()
    expect(gone.keyOf(pid(5_000))).toBe('sroom-0')
    expect(gone.lastOf('sroom-7')).toBe(pid(7_907))
    now = GONE_MS * 2
    gone.add(pid(8_001), 'sroom-last')
    expect(gone.size).toBe(2)
    expect(gone.lastOf('sroom-7')).toBeUndefined()
    expect(gone.lastOf('sroom-last')).toBe(pid(8_001))
  })

  it('forgets every name of a worker that held two, and keeps a name added again later', () => {
    let now = 0
    const gone = new GoneWorkers(() => now)
    gone.add(pid(1), 'sroom-a')
    gone.add(pid(1), 'sroom-b')
    gone.add(pid(2), 'sroom-c')
    now = 10
    gone.add(pid(2), 'sroom-c')
    expect(gone.names).toBe(3)
    now = GONE_MS + 5
    gone.add(pid(3), 'sroom-d')
    // pid 1's two names are past their time; pid 2 was added again at 10: it stays, by its name.
    expect(gone.names).toBe(2)
    expect(gone.lastOf('sroom-a')).toBeUndefined()
    expect(gone.lastOf('sroom-b')).toBeUndefined()
    expect(gone.lastOf('sroom-c')).toBe(pid(2))
    now = GONE_MS + 10
    gone.add(pid(4), 'sroom-e')
    expect(gone.names).toBe(2)
    expect(gone.lastOf('sroom-c')).toBeUndefined()
  })
})
