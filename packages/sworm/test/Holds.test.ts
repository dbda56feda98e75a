// The holds of a moving name, alone: what waits while a name moves goes to its next process in
// order once the name is registered by another delegate, with what is left of each call's time.
import { describe, expect, it } from 'vitest'
import { CallTimeout, type Pid, type Runtime } from '@swormjs/actor'
import { encodeName } from '@swormjs/registry'
import { Holds } from '../src/moves/Holds.js'

/** A runtime whose clock only moves when told and whose timers never fire by themselves. */
function fakeRuntime() {
  let now = 0
  const calls: Array<{ to: Pid; msg: unknown; timeoutMs: number | undefined }> = []
  const sent: Array<{ to: Pid; msg: unknown }> = []
  const runtime = {
    clock: {
      now: () => now,
      setTimeout: () => ({}),
      clearTimeout: () => {},
    },
    logger: { warn: () => {} },
    send: (to: Pid, msg: unknown) => sent.push({ to, msg }),
    callInto: (to: Pid, msg: unknown, options: { timeoutMs?: number } | undefined) =>
      calls.push({ to, msg, timeoutMs: options?.timeoutMs }),
  }
  return {
    runtime: runtime as unknown as Runtime,
    calls,
    sent,
    advance: (ms: number) => (now += ms),
  }
}

describe('Holds', () => {
  it('fails a held call whose time ran out before the release, and sends it nowhere', async () => {
    const rt = fakeRuntime()
    const holds = new Holds({
      sworm: 'Rooms',
      runtime: rt.runtime,
      holdMs: 10_000,
      targetNow: () => undefined,
    })
    holds.hold(encodeName('x'), 'old-delegate' as Pid)
    const late = holds.call<number>('x', 'late', { timeoutMs: 100 })!
    rt.advance(60)
    const onTime = holds.call<number>('x', 'on-time', { timeoutMs: 100 })!
    holds.send('x', 'raw')
    // The node was busy: 150 ms passed and the late call's timer has not run yet.
    rt.advance(90)
    holds.release('x', 'worker' as Pid, { delegate: 'new-delegate' })
    await expect(late).rejects.toSatisfy((e: unknown) => CallTimeout.is(e))
    // The other call goes on with what is left of its time; the message follows in order.
    expect(rt.calls).toEqual([{ to: 'new-delegate', msg: 'on-time', timeoutMs: 10 }])
    expect(rt.sent).toEqual([{ to: 'new-delegate', msg: 'raw' }])
    void onTime.catch(() => {})
  })

  it('keeps holding when the delegate it moved away from registers the name again', () => {
    const rt = fakeRuntime()
    const holds = new Holds({
      sworm: 'Rooms',
      runtime: rt.runtime,
      holdMs: 10_000,
      targetNow: () => undefined,
    })
    holds.hold(encodeName('x'), 'old-delegate' as Pid)
    void holds.call('x', 'inc', undefined)!.catch(() => {})
    holds.release('x', 'worker' as Pid, { delegate: 'old-delegate' })
    expect(rt.calls).toEqual([])
    holds.release('x', 'worker2' as Pid, { delegate: 'next-delegate' })
    expect(rt.calls.map((c) => c.to)).toEqual(['next-delegate'])
  })
})
