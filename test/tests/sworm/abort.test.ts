// An AbortSignal gives up a wait: a call, a registration, a multiCall. Each rejects with an
// AbortError whose cause is the signal's reason; a reply that comes later is dropped, and
// nothing is left behind (no pending call, no watch on the other node).
import { describe, expect, it } from 'vitest'
import { AbortError, Actor, NoReply, Sworm } from '@swormjs/sworm'
import { Silent, rejectionOf, waitUntil } from '../../src/index.js'
import { swormCluster } from './swormCluster.js'

/** Answers each call only when told to (`release`), with the message. */
class Slow extends Actor {
  private waiting: Array<{ from: Parameters<Actor['reply']>[0]; msg: unknown }> = []
  override handleCall(msg: unknown, from: Parameters<Actor['reply']>[0]): unknown {
    if (msg === 'release') {
      for (const w of this.waiting) this.reply(w.from, w.msg)
      this.waiting = []
      return 'released'
    }
    this.waiting.push({ from, msg })
    return NoReply
  }
}

class Aborting extends Sworm {
  static override actors = { Slow }
}

describe('AbortSignal', () => {
  it('gives up a remote call: AbortError with the reason, the late reply dropped, no watch left', async () => {
    await using cluster = await swormCluster(2, [Aborting])
    const [a, b] = [cluster.at(0), cluster.at(1)]
    const slow = b.runtime.spawn(Slow, undefined)
    const ac = new AbortController()
    const waiting = rejectionOf(a.runtime.call(slow, 'x', { timeoutMs: 10_000, signal: ac.signal }))
    await waitUntil(() => b.stats().watchesForPeers === 1, 2000, 'the call watched on b')
    const reason = new Error('user went away')
    ac.abort(reason)
    const e = await waiting
    expect(AbortError.is(e)).toBe(true)
    expect((e as Error).name).toBe('AbortError')
    expect((e as Error).cause).toBe(reason)
    expect(a.runtime.stats().pendingCalls).toBe(0)
    // The reply still comes, and is dropped; b's watch went with the caller's demonitor.
    expect(await a.runtime.call(slow, 'release')).toBe('released')
    await waitUntil(() => b.stats().watchesForPeers === 0, 2000, 'no watch left on b')
    // A signal aborted already fails at once, and sends nothing.
    const framesBefore = a.stats().framesOut
    const early = await rejectionOf(a.runtime.call(slow, 'y', { signal: AbortSignal.abort('no') }))
    expect(AbortError.is(early)).toBe(true)
    expect((early as Error).cause).toBe('no')
    expect(a.stats().framesOut).toBe(framesBefore)
  })

  it('gives up a registration and a multiCall', async () => {
    await using cluster = await swormCluster(2, [Aborting])
    const rooms = Aborting.on(cluster.at(0))
    const e = await rejectionOf(
      rooms.registerName('r', Slow, undefined, { signal: AbortSignal.abort('gone') }),
    )
    expect(AbortError.is(e)).toBe(true)
    expect(rooms.whereis('r')).toBeUndefined()
    const pid = await rooms.registerName('r', Slow, undefined, {
      signal: new AbortController().signal,
    })
    await rooms.join('slow', pid)
    await rooms.join('slow', cluster.at(1).runtime.spawn(Silent, undefined))
    const ac = new AbortController()
    const all = rejectionOf(rooms.multiCall('slow', 'x', { timeoutMs: 10_000, signal: ac.signal }))
    ac.abort('enough')
    const m = await all
    expect(AbortError.is(m)).toBe(true)
    expect((m as Error).cause).toBe('enough')
    expect(cluster.at(0).runtime.stats().pendingCalls).toBe(0)
  })
})
