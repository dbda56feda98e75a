import type { WebSocket } from 'ws'
import * as encoding from 'lib0/encoding'
import { describe, expect, it } from 'vitest'
import { LATER_MS, Outbox } from '../src/Outbox.js'

/** A socket that keeps what it is given, one entry per message (a write of its own). */
function recordingSocket(): { ws: WebSocket; sent: number[][] } {
  const sent: number[][] = []
  const ws = {
    OPEN: 1,
    readyState: 1,
    send: (bytes: Uint8Array, cb?: () => void) => {
      sent.push([...bytes])
      cb?.()
    },
  } as unknown as WebSocket
  return { ws, sent }
}

function outboxOn(ws: WebSocket): Outbox {
  return new Outbox(
    { socket: () => ws, sent: () => undefined, beforeSeal: () => undefined },
    1 << 16,
  )
}

const frame =
  (n: number) =>
  (enc: encoding.Encoder): void =>
    encoding.writeUint8(enc, n)

const turn = (): Promise<void> => new Promise((r) => setImmediate(r))

describe('Outbox.writeLater', () => {
  it('sends a frame nobody waits on with the next frames, in order, in one message', async () => {
    const { ws, sent } = recordingSocket()
    const out = outboxOn(ws)
    out.writeLater(frame(1))
    out.writeLater(frame(2))
    await turn()
    expect(sent).toEqual([])
    out.write(frame(3))
    await turn()
    expect(sent).toEqual([[1, 2, 3]])
    // Nothing is left to go on its own once the timer would have fired.
    await new Promise((r) => setTimeout(r, LATER_MS * 3))
    expect(sent).toEqual([[1, 2, 3]])
    expect(out.idle).toBe(true)
  })

  it('sends it on its own when no other frame comes within LATER_MS', async () => {
    const { ws, sent } = recordingSocket()
    const out = outboxOn(ws)
    out.writeLater(frame(7))
    expect(out.idle).toBe(false)
    await new Promise((r) => setTimeout(r, LATER_MS * 3))
    expect(sent).toEqual([[7]])
    expect(out.idle).toBe(true)
  })

  it('joins the turn’s batch when frames were written in it already, and goes with a flush', async () => {
    const { ws, sent } = recordingSocket()
    const out = outboxOn(ws)
    out.write(frame(1))
    out.writeLater(frame(2))
    await turn()
    expect(sent).toEqual([[1, 2]])
    out.writeLater(frame(3))
    out.flush()
    expect(sent).toEqual([[1, 2], [3]])
  })
})
