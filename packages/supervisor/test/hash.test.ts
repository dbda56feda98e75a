import { describe, expect, it } from 'vitest'
import { hash32, rendezvous } from '../src/hash.js'

// Placement must not change from one release to the next: in a rolling upgrade, nodes that
// scored a child differently would each start it. These values are what every release so far
// computes; a change to the hash that moves any of them is a change of the placement protocol.
describe('placement hash', () => {
  it('hash32 gives the values of every release', () => {
    expect(hash32('')).toBe(2872998923)
    expect(hash32('a')).toBe(444641715)
    expect(hash32('counter:1')).toBe(3403829446)
    expect(hash32('room/lobby\u0000node-a@127.0.0.1:4000')).toBe(2295720096)
    expect(hash32('é✓😀')).toBe(813270677)
  })

  it('rendezvous places ids as every release does', () => {
    const members = ['node-a', 'node-b', 'node-c', 'node-d']
    const ids = Array.from({ length: 24 }, (_, i) => `room:${i}`)
    expect(ids.map((id) => members.indexOf(rendezvous(id, members)!))).toEqual([
      2, 0, 1, 2, 2, 2, 1, 1, 2, 3, 3, 0, 2, 1, 2, 3, 3, 0, 0, 3, 0, 3, 1, 1,
    ])
  })

  it('rendezvous picks the member with the highest hash of the id and its name joined', () => {
    const members = ['b@127.0.0.1:4001', 'a@127.0.0.1:4000', 'c@127.0.0.1:4002', 'ü-node']
    for (let i = 0; i < 2_000; i++) {
      const id = `child-${i.toString(36)}${i % 7 === 0 ? '/é' : ''}`
      let best = members[0]!
      for (const m of members) {
        const score = hash32(`${id}\u0000${m}`)
        const bestScore = hash32(`${id}\u0000${best}`)
        if (score > bestScore || (score === bestScore && m < best)) best = m
      }
      expect(rendezvous(id, members)).toBe(best)
    }
  })

  it('rendezvous of no members is undefined, of one is that one', () => {
    expect(rendezvous('x', [])).toBeUndefined()
    expect(rendezvous('x', ['only'])).toBe('only')
  })
})
