// Runs the chat-rooms example in-process and checks what it reports: room:tea moves off the node
// that leaves with its history, and every member got every post of its rooms exactly once.
import { describe, expect, it } from 'vitest'
import { main } from '../src/main.js'

describe('the chat-rooms example', () => {
  it('keeps room histories through a graceful leave and delivers each post to each member once', async () => {
    const lines: string[] = []
    const result = await main((line) => lines.push(line))

    expect(result.moved).toContain('room:tea')
    expect(lines).toContain(`node ${result.leaving} leaves gracefully while users post`)
    const members: Record<string, string[]> = {
      'room:tea': ['alice', 'bob', 'carol'],
      'room:cats': ['carol', 'dave'],
    }
    expect(Object.keys(result.history).sort()).toEqual(Object.keys(members).sort())
    for (const [room, history] of Object.entries(result.history)) {
      // The history asked of the room after the move is every post sent there, numbered 1..n.
      const sent = result.sent[room]!
      expect(history.map((p) => p.seq)).toEqual(sent.map((_, i) => i + 1))
      expect(history.map((p) => `${p.from}: ${p.text}`).sort()).toEqual(
        sent.map((p) => `${p.from}: ${p.text}`).sort(),
      )
      expect(history.every((p) => p.room === room)).toBe(true)
    }
    expect(result.history['room:tea']).toHaveLength(7)
    expect(result.history['room:cats']).toHaveLength(4)

    for (const [user, inbox] of Object.entries(result.inbox)) {
      for (const [room, names] of Object.entries(members)) {
        const got = inbox.filter((p) => p.room === room).sort((a, b) => a.seq - b.seq)
        // A member got each post once (no loss, no duplicate); anyone else got none.
        expect(got, `${user} in ${room}`).toEqual(names.includes(user) ? result.history[room] : [])
      }
    }
    expect(Object.keys(result.inbox).sort()).toEqual(['alice', 'bob', 'carol', 'dave'])
    expect(lines.at(-1)).toBe('OK: every member got every post once; history survived the move')
    expect(result.ok).toBe(true)
  })
})
