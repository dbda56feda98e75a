// Clocks: the manual clock tests drive time with, and the real clock's handling of long delays.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ManualClock, Runtime, realClock, silentLogger } from '@swormjs/actor'
import { track } from './helpers.js'

describe('ManualClock', () => {
  it('fires due timers in order of due time, then of setting, and moves now()', async () => {
    const clock = new ManualClock()
    const fired: string[] = []
    clock.setTimeout(() => fired.push('b@20'), 20)
    clock.setTimeout(() => fired.push('a@10'), 10)
    clock.setTimeout(() => fired.push('c@20'), 20)
    clock.setTimeout(() => fired.push('d@30'), 30)
    await clock.advance(20)
    expect(fired).toEqual(['a@10', 'b@20', 'c@20'])
    expect(clock.now()).toBe(20)
    expect(clock.pending).toBe(1)
    await clock.advance(10)
    expect(fired).toEqual(['a@10', 'b@20', 'c@20', 'd@30'])
    expect(clock.pending).toBe(0)
  })

  it('never fires a cleared timer', async () => {
    const clock = new ManualClock()
    const fn = vi.fn()
    const handle = clock.setTimeout(fn, 5)
    clock.clearTimeout(handle)
    expect(clock.pending).toBe(0)
    await clock.advance(100)
    expect(fn).not.toHaveBeenCalled()
  })

  it('fires, within the same advance, a timer set by another timer when it falls due', async () => {
    const clock = new ManualClock()
    const at: number[] = []
    clock.setTimeout(() => {
      at.push(clock.now())
      clock.setTimeout(() => at.push(clock.now()), 10)
    }, 10)
    await clock.advance(25)
    expect(at).toEqual([10, 20])
  })
})

describe('realClock', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('fires a timer after its delay', () => {
    vi.useFakeTimers()
    const fn = vi.fn()
    realClock.setTimeout(fn, 100)
    vi.advanceTimersByTime(99)
    expect(fn).not.toHaveBeenCalled()
    vi.advanceTimersByTime(1)
    expect(fn).toHaveBeenCalledOnce()
  })

  it('does not fire early a delay beyond what Node timers hold, Infinity included', () => {
    vi.useFakeTimers()
    const fn = vi.fn()
    realClock.setTimeout(fn, 2 ** 31)
    realClock.setTimeout(fn, Number.MAX_SAFE_INTEGER)
    realClock.setTimeout(fn, Infinity)
    vi.advanceTimersByTime(60_000)
    expect(fn).not.toHaveBeenCalled()
  })

  it('never times out a call made with timeoutMs: Infinity', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    await using rt = new Runtime({ logger: silentLogger })
    const pid = rt.spawn(() => undefined) // never replies
    const call = track(rt.call(pid, 'wait forever', { timeoutMs: Infinity }))
    await vi.advanceTimersByTimeAsync(60_000)
    expect(call.state).toBe('pending')
  })
})
