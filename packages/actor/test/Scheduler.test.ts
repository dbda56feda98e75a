// The scheduler's time slice: work that goes from process to process through promises still lets
// the event loop turn (timers, sockets, heartbeats), and every message is handled, in order.
import { describe, expect, it } from 'vitest'
import { Actor, Runtime, realClock, silentLogger, type Clock } from '@swormjs/actor'
import { countTurns } from './helpers.js'

class Echo extends Actor {
  override handleCall(msg: unknown): unknown {
    return msg
  }
}

describe('scheduler slices', () => {
  it('lets the event loop turn during a long chain of calls, answering each in order', async () => {
    // Every reading of this clock is a millisecond later: a slice lasts a few drains.
    let ms = 0
    const clock: Clock = { ...realClock, now: () => ms++ }
    await using rt = new Runtime({ logger: silentLogger, clock })
    const echo = await rt.start(Echo, undefined)
    const loop = countTurns()
    /** The replies, and the loop's turn count when each came. */
    const seen: Array<{ reply: unknown; turn: number }> = []
    class Chain extends Actor {
      override async handleCall(n: number): Promise<void> {
        for (let i = 0; i < n; i++)
          seen.push({ reply: await this.call(echo, i), turn: loop.turns() })
      }
    }
    const chain = await rt.start(Chain, undefined)
    await rt.call(chain, 200)
    loop.stop()
    expect(seen.map((s) => s.reply)).toEqual([...Array(200).keys()])
    // Without the slice, the whole chain runs as microtasks of one turn.
    expect(seen.at(-1)!.turn).toBeGreaterThan(seen[0]!.turn)
  })

  it('runs a chain with no turn of the loop while its slice lasts', async () => {
    // A clock that never moves never ends a slice: the chain is one turn, as short work is.
    const clock: Clock = { ...realClock, now: () => 0 }
    await using rt = new Runtime({ logger: silentLogger, clock })
    const echo = await rt.start(Echo, undefined)
    const loop = countTurns()
    const turns: number[] = []
    class Chain extends Actor {
      override async handleCall(n: number): Promise<void> {
        for (let i = 0; i < n; i++) {
          await this.call(echo, i)
          turns.push(loop.turns())
        }
      }
    }
    const chain = await rt.start(Chain, undefined)
    await rt.call(chain, 50)
    loop.stop()
    expect(turns).toHaveLength(50)
    expect(new Set(turns).size).toBe(1)
  })
})
