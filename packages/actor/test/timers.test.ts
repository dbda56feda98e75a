// Timers: `sendAfter` and `cancelTimer` on the injected clock, and timers that die with their owner.
import { describe, expect, it } from 'vitest'
import {
  Actor,
  ManualClock,
  Runtime,
  settle,
  silentLogger,
  type Pid,
  type Ref,
} from '@swormjs/actor'
import { exitOf, spawnInbox } from './helpers.js'

/** Sets the timers it is told to and reports what arrives. */
class Ticker extends Actor<unknown[]> {
  private got: unknown[] = []
  override init(got: unknown[]): void {
    this.got = got
  }
  override handleCall(msg: unknown): unknown {
    const m = msg as { set: unknown; ms: number; to?: Pid } | { cancel: Ref }
    if ('cancel' in m) return this.cancelTimer(m.cancel)
    return m.to === undefined ? this.sendAfter(m.set, m.ms) : this.sendAfter(m.set, m.ms, m.to)
  }
  override handleInfo(msg: unknown): void {
    this.got.push(msg)
  }
}

describe('sendAfter', () => {
  it('delivers the message to the process itself when its time comes', async () => {
    const clock = new ManualClock()
    await using rt = new Runtime({ logger: silentLogger, clock })
    const got: unknown[] = []
    const pid = await rt.start(Ticker, got)
    await rt.call(pid, { set: 'tick', ms: 1000 })
    await clock.advance(999)
    expect(got).toEqual([])
    await clock.advance(1)
    expect(got).toEqual(['tick'])
  })

  it('delivers timers in order of due time', async () => {
    const clock = new ManualClock()
    await using rt = new Runtime({ logger: silentLogger, clock })
    const got: unknown[] = []
    const pid = await rt.start(Ticker, got)
    await rt.call(pid, { set: 'late', ms: 300 })
    await rt.call(pid, { set: 'early', ms: 100 })
    await rt.call(pid, { set: 'middle', ms: 200 })
    await clock.advance(1000)
    expect(got).toEqual(['early', 'middle', 'late'])
  })

  it('delivers to another process when given a target', async () => {
    const clock = new ManualClock()
    await using rt = new Runtime({ logger: silentLogger, clock })
    const inbox = spawnInbox(rt)
    const pid = await rt.start(Ticker, [])
    await rt.call(pid, { set: 'for you', ms: 50, to: inbox.pid })
    await clock.advance(50)
    expect(inbox.messages).toEqual(['for you'])
  })

  it('sends from the runtime itself with no owner process', async () => {
    const clock = new ManualClock()
    await using rt = new Runtime({ logger: silentLogger, clock })
    const inbox = spawnInbox(rt)
    rt.sendAfter(inbox.pid, 'ping', 10)
    await clock.advance(10)
    expect(inbox.messages).toEqual(['ping'])
  })
})

describe('cancelTimer', () => {
  it('prevents delivery and returns true for a pending timer', async () => {
    const clock = new ManualClock()
    await using rt = new Runtime({ logger: silentLogger, clock })
    const got: unknown[] = []
    const pid = await rt.start(Ticker, got)
    const ref = await rt.call<Ref>(pid, { set: 'tick', ms: 1000 })
    await clock.advance(500)
    await expect(rt.call(pid, { cancel: ref })).resolves.toBe(true)
    await clock.advance(1000)
    expect(got).toEqual([])
  })

  it('returns false for a timer that has already fired', async () => {
    const clock = new ManualClock()
    await using rt = new Runtime({ logger: silentLogger, clock })
    const got: unknown[] = []
    const pid = await rt.start(Ticker, got)
    const ref = await rt.call<Ref>(pid, { set: 'tick', ms: 10 })
    await clock.advance(10)
    expect(got).toEqual(['tick'])
    await expect(rt.call(pid, { cancel: ref })).resolves.toBe(false)
    expect(rt.cancelTimer(ref)).toBe(false)
  })
})

describe('timers of a process that exits', () => {
  it('are cancelled, so nothing is delivered after the owner is gone', async () => {
    const clock = new ManualClock()
    await using rt = new Runtime({ logger: silentLogger, clock })
    const inbox = spawnInbox(rt)
    const owner = await rt.start(Ticker, [])
    const ref = await rt.call<Ref>(owner, { set: 'orphan', ms: 1000, to: inbox.pid })
    rt.exit(owner, 'crashed')
    await exitOf(rt, owner)
    expect(clock.pending).toBe(0)
    expect(rt.cancelTimer(ref)).toBe(false)
    await clock.advance(2000)
    await settle()
    expect(inbox.messages).toEqual([])
  })

  it('are cancelled even when the owner is killed', async () => {
    const clock = new ManualClock()
    await using rt = new Runtime({ logger: silentLogger, clock })
    const inbox = spawnInbox(rt)
    const owner = await rt.start(Ticker, [])
    await rt.call(owner, { set: 'orphan', ms: 1000, to: inbox.pid })
    rt.exit(owner, 'kill')
    await clock.advance(1000)
    expect(inbox.messages).toEqual([])
  })
})
