// What a runtime tells about itself: its processes, one process's state, counters, loop delay,
// call timings.
import { describe, expect, it } from 'vitest'
import {
  Actor,
  ManualClock,
  NoReply,
  Runtime,
  settle,
  silentLogger,
  type ExitReason,
} from '@swormjs/actor'
import { deferred, exitOf, spawnInbox, track } from './helpers.js'

describe('processes()', () => {
  it('lists live processes and drops those that exit', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    expect(rt.processes()).toEqual([])
    const a = spawnInbox(rt)
    const b = spawnInbox(rt)
    expect(rt.processes()).toEqual([a.pid, b.pid])
    expect(rt.processCount).toBe(2)
    await rt.stop(a.pid)
    expect(rt.processes()).toEqual([b.pid])
    expect(rt.processCount).toBe(1)
  })

  // At size (20,000, some of them gone): the listing is in spawn order, and a shutdown goes newest
  // first, which supervision relies on (children stop before the processes that started them).
  it('lists 20,000 processes in spawn order, and a shutdown stops them newest first', async () => {
    const stopped: number[] = []
    let started = 0
    class Numbered extends Actor<number> {
      private n = 0
      override init(n: number): void {
        this.n = n
        started++
      }
      override terminate(): void {
        stopped.push(this.n)
      }
    }
    const rt = new Runtime({ logger: silentLogger })
    const pids = Array.from({ length: 20_000 }, (_, i) => rt.spawn(Numbered, i))
    // The inits run in slices; a process still in its init ends without `terminate`.
    while (started < 20_000) await settle()
    for (let i = 0; i < 20_000; i += 7) await rt.stop(pids[i]!)
    const left = pids.filter((_, i) => i % 7 !== 0)
    expect(rt.processes()).toEqual(left)
    expect(rt.processCount).toBe(left.length)
    stopped.length = 0
    await rt.shutdown()
    expect(stopped).toEqual(
      Array.from({ length: 20_000 }, (_, i) => i)
        .filter((i) => i % 7 !== 0)
        .reverse(),
    )
  })
})

describe('processInfo()', () => {
  it('describes an idle process', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    class Idle extends Actor {
      override handleInfo(): void {}
    }
    const pid = await rt.start(Idle, undefined, { name: 'idle' })
    rt.send(pid, 1)
    rt.send(pid, 2)
    await settle()
    expect(rt.processInfo(pid)).toEqual({
      pid,
      name: 'idle',
      kind: 'Idle',
      status: 'waiting',
      mailboxLength: 0,
      messagesHandled: 2,
      links: [],
      monitors: [],
      monitoredBy: 0,
      trapExit: false,
      parent: undefined,
    })
  })

  it('shows a process as runnable between a send and its turn', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const p = spawnInbox(rt)
    await settle()
    rt.send(p.pid, 'x')
    expect(rt.processInfo(p.pid)).toMatchObject({ status: 'runnable', mailboxLength: 1 })
    await settle()
    expect(rt.processInfo(p.pid)).toMatchObject({ status: 'waiting', mailboxLength: 0 })
  })

  it('counts the mailbox of a process busy in an async handler', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const gate = deferred()
    const pid = rt.spawn(async () => {
      await gate.promise
    })
    for (let i = 0; i < 4; i++) rt.send(pid, i)
    await settle()
    expect(rt.processInfo(pid)).toMatchObject({
      status: 'running',
      mailboxLength: 3,
      messagesHandled: 1,
    })
    gate.resolve()
    await expect
      .poll(() => rt.processInfo(pid))
      .toMatchObject({ status: 'waiting', mailboxLength: 0, messagesHandled: 4 })
  })

  it('shows initializing while an async init runs, and exiting while an async terminate runs', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const initGate = deferred()
    const stopGate = deferred()
    class Slow extends Actor {
      override async init(): Promise<void> {
        await initGate.promise
      }
      override async terminate(): Promise<void> {
        await stopGate.promise
      }
    }
    const started = track(rt.start(Slow, undefined))
    await settle()
    const [pid] = rt.processes()
    expect(rt.processInfo(pid!)?.status).toBe('initializing')
    initGate.resolve()
    await started.settled
    expect(rt.processInfo(pid!)?.status).toBe('waiting')
    const stopped = rt.stop(pid!)
    await settle()
    expect(rt.processInfo(pid!)?.status).toBe('exiting')
    stopGate.resolve()
    await stopped
    expect(rt.processInfo(pid!)).toBeUndefined()
  })

  it('lists links, monitors held, monitors on it, trapExit and parent', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const parent = spawnInbox(rt, { trapExit: true })
    const child = spawnInbox(rt, { parent: parent.pid })
    const other = spawnInbox(rt)
    rt.link(child.pid, other.pid)
    const ref = rt.monitor(child.pid, other.pid)
    rt.monitor(parent.pid, child.pid)
    expect(rt.processInfo(child.pid)).toMatchObject({
      links: [parent.pid, other.pid],
      monitors: [ref],
      monitoredBy: 1,
      trapExit: false,
      parent: parent.pid,
    })
    expect(rt.processInfo(parent.pid)).toMatchObject({ links: [child.pid], trapExit: true })
    expect(rt.processInfo(other.pid)).toMatchObject({ links: [child.pid], monitoredBy: 1 })
  })

  it('is undefined for a process that has exited', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const p = spawnInbox(rt)
    await rt.stop(p.pid)
    expect(rt.processInfo(p.pid)).toBeUndefined()
    expect(rt.isAlive(p.pid)).toBe(false)
  })
})

describe('stats()', () => {
  it('counts processes spawned and exited, messages handled and calls waiting', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    class Echo extends Actor {
      override handleCall(msg: unknown): unknown {
        return msg
      }
    }
    const echo = await rt.start(Echo, undefined)
    const inbox = spawnInbox(rt)
    for (let i = 0; i < 3; i++) await rt.call(echo, i)
    rt.send(inbox.pid, 'x')
    await settle()
    await rt.stop(inbox.pid)
    expect(rt.stats()).toEqual({
      spawned: 2,
      exited: 1,
      messages: 4,
      pendingCalls: 0,
      processes: 1,
    })
    const waiting = rt.spawn(() => undefined)
    const call = track(rt.call(waiting, 'never answered'))
    expect(rt.stats().pendingCalls).toBe(1)
    await rt.stop(waiting)
    await call.settled
    expect(rt.stats().pendingCalls).toBe(0)
  })

  it('counts the messages a process handled before one of them ended it', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const crasher = rt.spawn((msg) => {
      if (msg === 'crash') throw new Error('crash')
    })
    const stopper = rt.spawn((msg, ctx) => {
      if (msg === 'stop') ctx.stop()
    })
    const ends: Promise<ExitReason>[] = [exitOf(rt, crasher), exitOf(rt, stopper)]
    for (const m of ['a', 'b', 'crash']) rt.send(crasher, m)
    for (const m of ['a', 'stop']) rt.send(stopper, m)
    await Promise.all(ends)
    expect(rt.stats().messages).toBe(5)
  })
})

describe('eventLoopDelay()', () => {
  it('returns finite, non-negative numbers in milliseconds', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    rt.eventLoopDelay()
    await settle(5)
    const d = rt.eventLoopDelay({ reset: true })
    for (const v of [d.minMs, d.meanMs, d.p50Ms, d.p99Ms, d.maxMs]) {
      expect(typeof v).toBe('number')
      expect(Number.isFinite(v)).toBe(true)
      expect(v).toBeGreaterThanOrEqual(0)
    }
    expect(d.maxMs).toBeGreaterThanOrEqual(d.minMs)
  })
})

describe('onCallSettled()', () => {
  it('tells how long each call took on the clock, and whether it got a reply', async () => {
    const clock = new ManualClock()
    await using rt = new Runtime({ logger: silentLogger, clock })
    class Echo extends Actor {
      override handleCall(msg: unknown): unknown {
        return msg
      }
    }
    class Mute extends Actor {
      override handleCall(): typeof NoReply {
        return NoReply
      }
    }
    const echo = await rt.start(Echo, undefined)
    const mute = await rt.start(Mute, undefined)
    const settled: Array<[number, boolean]> = []
    const off = rt.onCallSettled((ms, ok) => settled.push([ms, ok]))

    expect(await rt.call(echo, 'hi')).toBe('hi')
    const late = rt.call(mute, 'hello?', { timeoutMs: 250 }).catch((e: unknown) => e)
    await clock.advance(250)
    await late
    await rt.call(rt.spawn(Echo, undefined), 'x')
    expect(settled).toEqual([
      [0, true],
      [250, false],
      [0, true],
    ])

    off()
    await rt.call(echo, 'unheard')
    expect(settled).toHaveLength(3)
  })
})
