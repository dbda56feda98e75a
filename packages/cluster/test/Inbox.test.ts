import type { WebSocket } from 'ws'
import { describe, expect, it } from 'vitest'
import { Frame } from '../src/frames.js'
import { Inbox } from '../src/Inbox.js'

/** A socket as the inbox sees it: it only pauses and resumes. */
const socket = { pause: () => undefined, resume: () => undefined } as unknown as WebSocket

describe('Inbox', () => {
  it('stops handling in a turn once it has run its slice, and keeps each peer in order', async () => {
    // Each message takes 4 ms to handle: a 10 ms slice takes three, whatever their size.
    let ms = 0
    const handled: Array<{ peer: string; n: number; turn: number }> = []
    let turn = 0
    const inbox = new Inbox<string>(
      {
        handle: (peer, _ws, bytes) => {
          ms += 4
          handled.push({ peer, n: bytes[1]!, turn })
        },
      },
      { turnBytes: 1 << 20, sliceMs: 10, pauseBytes: 1 << 20, now: () => ms },
    )
    for (let n = 0; n < 10; n++)
      inbox.received(n % 2 === 0 ? 'a' : 'b', socket, Uint8Array.of(Frame.Doc, n))
    expect(handled.length).toBe(3)
    // A heartbeat never waits.
    let beats = 0
    const beating = new Inbox<string>(
      { handle: () => void beats++ },
      { turnBytes: 0, sliceMs: 0, pauseBytes: 1 << 20, now: () => 0 },
    )
    beating.received('a', socket, Uint8Array.of(Frame.Heartbeat))
    expect(beats).toBe(1)
    while (handled.length < 10) {
      turn++
      await new Promise((r) => setImmediate(r))
    }
    const perTurn = new Map<number, number>()
    for (const h of handled) perTurn.set(h.turn, (perTurn.get(h.turn) ?? 0) + 1)
    expect(Math.max(...perTurn.values())).toBe(3)
    for (const peer of ['a', 'b']) {
      const ns = handled.filter((h) => h.peer === peer).map((h) => h.n)
      expect(ns).toEqual([...ns].sort((x, y) => x - y))
    }
  })
})
