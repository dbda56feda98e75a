// The copies a backup keeps: the newest version of each name wins, a drop never removes a newer
// copy, and what is taken comes back byte for byte.
import { describe, expect, it } from 'vitest'
import { Copies } from '../src/replicas/Copies.js'

const bytes = (...b: number[]): Uint8Array => new Uint8Array(b)

describe('Copies', () => {
  it('keeps the newest version of each name, byte for byte', () => {
    const c = new Copies()
    expect(c.put('a', 1_700_000_000_000 * 1024 + 5, bytes(0, 255, 128, 7))).toBe(true)
    expect(c.put('a', 1_700_000_000_000 * 1024 + 4, bytes(9))).toBe(false)
    expect(c.get('a')).toEqual({
      v: 1_700_000_000_000 * 1024 + 5,
      bytes: Buffer.from([0, 255, 128, 7]),
    })
    expect(c.put('a', 1_700_000_000_000 * 1024 + 6, bytes(1, 2))).toBe(true)
    expect([...c.get('a')!.bytes]).toEqual([1, 2])
    expect(c.size).toBe(1)
    expect(c.bytes).toBe(8 + 2)
  })

  it('drops a copy only up to the version named, and take removes it', () => {
    const c = new Copies()
    c.put('a', 10, bytes(1))
    c.drop('a', 9)
    expect(c.get('a')?.v).toBe(10)
    c.drop('a', 10)
    expect(c.get('a')).toBeUndefined()
    c.put('b', 3, bytes(4, 5))
    expect(c.take('b')?.bytes).toEqual(Buffer.from([4, 5]))
    expect(c.size).toBe(0)
    expect(c.bytes).toBe(0)
  })
})
