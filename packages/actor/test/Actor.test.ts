// Actors and calls: replies as return values, late replies, typed failures, timeouts on the clock.
import { describe, expect, it, vi } from 'vitest'
import {
  Actor,
  CallTimeout,
  Exited,
  InitFailed,
  ManualClock,
  NoProc,
  NoReply,
  Runtime,
  formatPid,
  settle,
  silentLogger,
  type From,
  type Pid,
} from '@swormjs/actor'
import { causeChain, deferred, track, type Deferred } from './helpers.js'

class Counter extends Actor<number> {
  n = 0
  override init(start: number): void {
    this.n = start
  }
  override handleCall(msg: unknown): unknown {
    if (msg === 'inc') return ++this.n
    if (msg === 'get') return this.n
    throw new Error(`unexpected ${String(msg)}`)
  }
}

/** Answers each call after awaiting the gate it was handed in `init`. */
class Slow extends Actor<{ gate: Promise<void>; log: string[] }> {
  private gate!: Promise<void>
  private log!: string[]
  override init(args: { gate: Promise<void>; log: string[] }): void {
    this.gate = args.gate
    this.log = args.log
  }
  override async handleCall(msg: unknown): Promise<unknown> {
    this.log.push(`start ${String(msg)}`)
    await this.gate
    this.log.push(`end ${String(msg)}`)
    return `done ${String(msg)}`
  }
}

/** Keeps the `From` of each call and answers only when told to by a cast. */
class Deferring extends Actor {
  private waiting: From[] = []
  override handleCall(msg: unknown, from: From): unknown {
    if (msg === 'now') return 'now'
    this.waiting.push(from)
    return NoReply
  }
  override handleCast(msg: unknown): void {
    const from = this.waiting.shift()
    if (from === undefined) return
    if (msg === 'fail') this.replyError(from, new Error('refused'))
    else this.reply(from, msg)
  }
}

describe('call', () => {
  it('resolves with the value handleCall returns', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const pid = await rt.start(Counter, 41)
    await expect(rt.call(pid, 'inc')).resolves.toBe(42)
    await expect(rt.call(pid, 'get')).resolves.toBe(42)
  })

  it('resolves with the value an async handleCall resolves to', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const gate = deferred()
    const pid = await rt.start(Slow, { gate: gate.promise, log: [] })
    const reply = track(rt.call(pid, 'x'))
    await settle()
    expect(reply.state).toBe('pending')
    gate.resolve()
    await reply.settled
    expect(reply.value).toBe('done x')
  })

  it('serves a second call only after the first async handleCall has finished', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const gate = deferred()
    const log: string[] = []
    const pid = await rt.start(Slow, { gate: gate.promise, log })
    const first = rt.call(pid, 1)
    const second = rt.call(pid, 2)
    await settle()
    expect(log).toEqual(['start 1'])
    gate.resolve()
    await expect(Promise.all([first, second])).resolves.toEqual(['done 1', 'done 2'])
    expect(log).toEqual(['start 1', 'end 1', 'start 2', 'end 2'])
  })

  it('replies later with this.reply when handleCall returns NoReply', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const pid = await rt.start(Deferring, undefined)
    const late = track(rt.call(pid, 'later'))
    // The actor is free for other calls while the first waits for its reply.
    await expect(rt.call(pid, 'now')).resolves.toBe('now')
    expect(late.state).toBe('pending')
    rt.cast(pid, 'here you are')
    await late.settled
    expect(late.value).toBe('here you are')
  })

  it('rejects the caller with the error given to replyError and keeps the actor running', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const pid = await rt.start(Deferring, undefined)
    const call = rt.call(pid, 'please')
    rt.cast(pid, 'fail')
    await expect(call).rejects.toThrow('refused')
    expect(rt.isAlive(pid)).toBe(true)
    await expect(rt.call(pid, 'now')).resolves.toBe('now')
  })

  it('passes the calling pid in from when a process calls another', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    class WhoAsks extends Actor {
      override handleCall(_msg: unknown, from: From): unknown {
        return from.pid
      }
    }
    const target = await rt.start(WhoAsks, undefined)
    const answer = deferred<unknown>()
    const caller = rt.spawn(async (_msg, ctx) => {
      answer.resolve(await ctx.call(target, 'who?'))
    })
    rt.send(caller, 'go')
    await expect(answer.promise).resolves.toBe(caller)
    await expect(rt.call(target, 'who?')).resolves.toBeUndefined()
  })

  it('rejects with CallTimeout after the default 5000 ms', async () => {
    const clock = new ManualClock()
    await using rt = new Runtime({ logger: silentLogger, clock })
    const pid = await rt.start(Deferring, undefined)
    const call = track(rt.call(pid, 'never'))
    await clock.advance(4999)
    expect(call.state).toBe('pending')
    await clock.advance(1)
    expect(call.state).toBe('rejected')
    expect(CallTimeout.is(call.error)).toBe(true)
    expect(call.error).toMatchObject({ target: pid, timeoutMs: 5000 })
    expect(rt.stats().pendingCalls).toBe(0)
  })

  it('rejects with CallTimeout after a custom timeoutMs', async () => {
    const clock = new ManualClock()
    await using rt = new Runtime({ logger: silentLogger, clock })
    const pid = await rt.start(Deferring, undefined)
    const call = track(rt.call(pid, 'never', { timeoutMs: 200 }))
    await clock.advance(199)
    expect(call.state).toBe('pending')
    await clock.advance(1)
    expect(call.error).toBeInstanceOf(CallTimeout)
    expect(call.error).toMatchObject({ timeoutMs: 200 })
  })

  it('drops a reply that arrives after the call timed out', async () => {
    const clock = new ManualClock()
    await using rt = new Runtime({ logger: silentLogger, clock })
    const pid = await rt.start(Deferring, undefined)
    const timedOut = track(rt.call(pid, 'slow', { timeoutMs: 100 }))
    await clock.advance(100)
    expect(CallTimeout.is(timedOut.error)).toBe(true)
    // The late answer must not land on the next call, nor crash the actor.
    const next = track(rt.call(pid, 'next'))
    rt.cast(pid, 'late answer')
    rt.cast(pid, 'answer to next')
    await next.settled
    expect(next.value).toBe('answer to next')
    expect(timedOut.state).toBe('rejected')
    expect(rt.isAlive(pid)).toBe(true)
  })

  it('rejects with NoProc when calling a pid that has exited', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const pid = await rt.start(Counter, 0)
    await rt.stop(pid)
    const err = await rt.call(pid, 'get').catch((e: unknown) => e)
    expect(NoProc.is(err)).toBe(true)
    expect(err).toMatchObject({ target: pid, reason: 'noproc' })
  })

  it('rejects with NoProc when calling a local pid that never existed', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    await expect(rt.call(formatPid(rt.nodeId, 9999), 'x')).rejects.toBeInstanceOf(NoProc)
  })

  it('rejects with Exited and the reason when the callee dies mid-call', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const gate = deferred()
    const pid = await rt.start(Slow, { gate: gate.promise, log: [] })
    const call = track(rt.call(pid, 'x'))
    await settle()
    rt.exit(pid, 'gone')
    await call.settled
    expect(Exited.is(call.error)).toBe(true)
    expect(call.error).toMatchObject({ target: pid, reason: 'gone' })
    gate.resolve()
  })

  it('rejects with Exited carrying the error when handleCall throws', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const pid = await rt.start(Counter, 0)
    const err = await rt.call(pid, 'bad').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(Exited)
    const reason = (err as Exited).reason
    expect(reason).toBeInstanceOf(Error)
    expect((reason as Error).message).toBe('unexpected bad')
    expect(rt.isAlive(pid)).toBe(false)
  })

  it('rejects with Exited when an async handleCall rejects', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const gate: Deferred<void> = deferred()
    const pid = await rt.start(Slow, { gate: gate.promise, log: [] })
    const call = track(rt.call(pid, 'x'))
    await settle()
    gate.reject(new Error('rejected inside'))
    await call.settled
    expect(call.error).toBeInstanceOf(Exited)
    expect(((call.error as Exited).reason as Error).message).toBe('rejected inside')
  })

  it('ends an actor without handleCall that receives a call', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    class Mute extends Actor {}
    const pid = await rt.start(Mute, undefined)
    await expect(rt.call(pid, 'hello')).rejects.toBeInstanceOf(Exited)
    expect(rt.isAlive(pid)).toBe(false)
  })
})

describe('actor lifecycle and handlers', () => {
  it('runs init with its args before the first message', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const log: string[] = []
    const initGate = deferred()
    class Logged extends Actor<string> {
      override async init(tag: string): Promise<void> {
        log.push(`init ${tag}`)
        await initGate.promise
      }
      override handleCall(msg: unknown): unknown {
        log.push(`call ${String(msg)}`)
        return msg
      }
    }
    const pid = rt.spawn(Logged, 'a')
    const call = rt.call(pid, 'first')
    await settle()
    expect(log).toEqual(['init a'])
    initGate.resolve()
    await expect(call).resolves.toBe('first')
    expect(log).toEqual(['init a', 'call first'])
  })

  it('rejects start with InitFailed carrying the error when init throws, and the process is gone', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const boom = new Error('no init for you')
    class Broken extends Actor {
      override init(): void {
        throw boom
      }
    }
    const err = await rt.start(Broken, undefined).catch((e: unknown) => e)
    expect(InitFailed.is(err)).toBe(true)
    expect((err as InitFailed).reason).toBe(boom)
    expect(causeChain(err)).toContain(boom)
    expect(rt.isAlive((err as InitFailed).pid as Pid)).toBe(false)
    expect(rt.processes()).toEqual([])
  })

  it('rejects start with InitFailed when an async init rejects', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    class Broken extends Actor {
      override async init(): Promise<void> {
        await settle(1)
        throw new Error('later')
      }
    }
    const err = await rt.start(Broken, undefined).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(InitFailed)
    expect(((err as InitFailed).reason as Error).message).toBe('later')
    expect(rt.processes()).toEqual([])
  })

  it('routes casts to handleCast and other messages to handleInfo', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const casts: unknown[] = []
    const infos: unknown[] = []
    class Split extends Actor {
      override handleCast(msg: unknown): void {
        casts.push(msg)
      }
      override handleInfo(msg: unknown): void {
        infos.push(msg)
      }
    }
    const pid = await rt.start(Split, undefined)
    rt.cast(pid, 'c1')
    rt.send(pid, 'i1')
    rt.cast(pid, { n: 2 })
    await vi.waitFor(() => expect(casts.length + infos.length).toBe(3))
    expect(casts).toEqual(['c1', { n: 2 }])
    expect(infos).toEqual(['i1'])
  })

  it('keeps state in fields between messages', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const pid = await rt.start(Counter, 0)
    for (let i = 0; i < 10; i++) rt.cast(pid, 'ignored') // no handleCast: dropped, no crash
    for (let i = 0; i < 5; i++) await rt.call(pid, 'inc')
    await expect(rt.call(pid, 'get')).resolves.toBe(5)
  })
})
