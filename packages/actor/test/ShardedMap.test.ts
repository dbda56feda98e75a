import { describe, expect, it } from 'vitest'
import { ShardedMap } from '../src/internal.js'

describe('ShardedMap', () => {
  // 20,000 entries: it starts as one Map and splits on the way.
  it('keeps, finds, replaces and deletes entries as a Map does', () => {
    const m = new ShardedMap<string, number>()
    const plain = new Map<string, number>()
    for (let i = 0; i < 20_000; i++) {
      const key = i % 7 === 0 ? `user:${i}:inbox` : `room:${i}`
      m.set(key, i)
      plain.set(key, i)
    }
    for (let i = 0; i < 20_000; i += 3) {
      const key = i % 7 === 0 ? `user:${i}:inbox` : `room:${i}`
      expect(m.delete(key)).toBe(plain.delete(key))
    }
    m.set('room:1', -1)
    plain.set('room:1', -1)
    m.set('', 42)
    plain.set('', 42)
    expect(m.size).toBe(plain.size)
    expect(m.shardSizes()).toHaveLength(32)
    for (const [k, v] of plain) expect(m.get(k)).toBe(v)
    expect(m.has('room:3')).toBe(false)
    expect(m.delete('room:3')).toBe(false)
    expect(new Map(m.entries())).toEqual(plain)
    expect([...m.keys()].sort()).toEqual([...plain.keys()].sort())
    expect([...m.values()].sort()).toEqual([...plain.values()].sort())
    // A key of the wrong type from untyped code finds nothing, as in a Map.
    expect(m.get(undefined as unknown as string)).toBeUndefined()
    m.clear()
    expect(m.size).toBe(0)
    expect(m.get('room:1')).toBeUndefined()
    m.set('room:1', 1)
    expect([...m.entries()]).toEqual([['room:1', 1]])
  })

  // What it is for: one insert never moves more than a small part of the entries. V8 doubles a
  // Map's table when it is full; maps of equal size all double within a few inserts of each
  // other, so a batch of inserts would pay for every one of them in one step.
  it.each([
    ['serials', (i: number): number => i],
    ['names', (i: number): string => `name:${i}`],
    ['pids', (i: number): string => `<node-a-1234.${i}>`],
  ])('spreads its maps so that they double at different times (%s)', (_what, keyOf) => {
    const m = new ShardedMap<string | number, number>()
    const total = 300_000
    let last = m.shardSizes()
    const doubledAt: number[] = []
    for (let i = 0; i < total; i++) {
      m.set(keyOf(i), i)
      const sizes = m.shardSizes()
      for (let s = 0; s < sizes.length; s++) {
        // A map that reaches a power of two above 4,096 is about to grow its table.
        if (sizes[s]! !== last[s]! && sizes[s]! >= 4_096 && (sizes[s]! & (sizes[s]! - 1)) === 0)
          doubledAt.push(i)
      }
      last = sizes
    }
    // The largest map holds a modest share, so its growth moves few entries.
    expect(Math.max(...m.shardSizes())).toBeLessThan(total / 16)
    // Between 150,000 and 300,000 entries each map doubles about once; at most three of those
    // fall within any 2,000 inserts (32 maps of equal size: all 32 within a few hundred).
    const late = doubledAt.filter((i) => i >= 150_000)
    expect(late.length).toBeGreaterThan(20)
    for (const at of late) {
      expect(late.filter((j) => j >= at && j < at + 2_000).length).toBeLessThanOrEqual(3)
    }
  })
})
