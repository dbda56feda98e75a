// Mailboxes: FIFO per sender, one message at a time even across awaits, crashes as exit reasons.
import { describe, expect, it, vi } from 'vitest'
import {
  Actor,
  BadArgument,
  Runtime,
  createLogger,
  settle,
  silentLogger,
  type Pid,
} from '@swormjs/actor'
import { deferred, exitOf, spawnInbox } from './helpers.js'

class Echo extends Actor {
  override handleCall(msg: unknown): unknown {
    return msg
  }
}

describe('message delivery', () => {
  it('delivers the messages of one sender in the order they were sent', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const inbox = spawnInbox(rt)
    for (let i = 0; i < 200; i++) rt.send(inbox.pid, i)
    await vi.waitFor(() => expect(inbox.messages).toHaveLength(200))
    expect(inbox.messages).toEqual([...Array(200).keys()])
  })

  it('keeps the order of messages a process sends from its handler', async () => {
    await using rt = new Runtime({ logger: silentLogger, reductions: 4 })
    const inbox = spawnInbox(rt)
    const sender = rt.spawn((msg, ctx) => {
      for (let i = 0; i < 50; i++) ctx.send(inbox.pid, `${String(msg)}-${i}`)
    })
    rt.send(sender, 'a')
    rt.send(sender, 'b')
    await vi.waitFor(() => expect(inbox.messages).toHaveLength(100))
    const expected = ['a', 'b'].flatMap((p) => [...Array(50).keys()].map((i) => `${p}-${i}`))
    expect(inbox.messages).toEqual(expected)
  })

  it('holds the next message while an async handler awaits', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const gate = deferred()
    const log: string[] = []
    const pid = rt.spawn(async (msg) => {
      log.push(`start ${String(msg)}`)
      if (msg === 1) await gate.promise
      log.push(`end ${String(msg)}`)
    })
    rt.send(pid, 1)
    rt.send(pid, 2)
    await settle()
    expect(log).toEqual(['start 1'])
    expect(rt.processInfo(pid)?.mailboxLength).toBe(1)
    gate.resolve()
    await vi.waitFor(() => expect(log).toEqual(['start 1', 'end 1', 'start 2', 'end 2']))
  })

  it('drops a message sent to a local process that has exited', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const inbox = spawnInbox(rt)
    await rt.stop(inbox.pid)
    expect(() => rt.send(inbox.pid, 'late')).not.toThrow()
    await settle()
    expect(inbox.messages).toEqual([])
  })

  it('throws BadArgument when sending to something that is not a pid', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    expect(() => rt.send('not-a-pid' as Pid, 'x')).toThrow(BadArgument)
  })

  it('lets other processes keep running while one handler awaits', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const gate = deferred()
    const slow = rt.spawn(async () => {
      await gate.promise
    })
    rt.send(slow, 'block')
    const echo = await rt.start(Echo, undefined)
    await expect(rt.call(echo, 'hi')).resolves.toBe('hi')
    gate.resolve()
  })
})

describe('crashing handlers', () => {
  it('ends the process with the error a handler throws as its reason', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const boom = new Error('boom')
    const pid = rt.spawn(() => {
      throw boom
    })
    const reason = exitOf(rt, pid)
    rt.send(pid, 'go')
    expect(await reason).toBe(boom)
    expect(rt.isAlive(pid)).toBe(false)
  })

  it('ends the process with the rejection of an async handler as its reason', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const boom = new Error('async boom')
    const pid = rt.spawn(async () => {
      await settle(1)
      throw boom
    })
    const reason = exitOf(rt, pid)
    rt.send(pid, 'go')
    expect(await reason).toBe(boom)
  })

  it('drops the messages still queued behind the one that crashed', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const seen: unknown[] = []
    const pid = rt.spawn((msg) => {
      seen.push(msg)
      if (msg === 'crash') throw new Error('crash')
    })
    const reason = exitOf(rt, pid)
    rt.send(pid, 'a')
    rt.send(pid, 'crash')
    rt.send(pid, 'b')
    await reason
    await settle()
    expect(seen).toEqual(['a', 'crash'])
  })

  it('keeps the runtime and its other processes running after a crash', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const echo = await rt.start(Echo, undefined)
    const crasher = rt.spawn(() => {
      throw new Error('boom')
    })
    const reason = exitOf(rt, crasher)
    rt.send(crasher, 'go')
    await reason
    await expect(rt.call(echo, 'still here')).resolves.toBe('still here')
    const fresh = await rt.start(Echo, undefined)
    await expect(rt.call(fresh, 'new')).resolves.toBe('new')
  })

  it('logs a crash that no link or monitor observes', async () => {
    const lines: string[] = []
    const logger = createLogger({ level: 'error', write: (l) => lines.push(l) })
    await using rt = new Runtime({ logger })
    const pid = rt.spawn(() => {
      throw new Error('unobserved')
    })
    rt.send(pid, 'go')
    await vi.waitFor(() => expect(rt.isAlive(pid)).toBe(false))
    expect(lines).toHaveLength(1)
    const line = JSON.parse(lines[0]!) as { msg: string; pid: string }
    expect(line.msg).toBe('process crashed')
    expect(line.pid).toBe(pid)
  })

  it('does not log a process that ends normally', async () => {
    const lines: string[] = []
    const logger = createLogger({ level: 'debug', write: (l) => lines.push(l) })
    await using rt = new Runtime({ logger })
    const pid = rt.spawn((_msg, ctx) => ctx.stop())
    rt.send(pid, 'go')
    await vi.waitFor(() => expect(rt.isAlive(pid)).toBe(false))
    expect(lines.filter((l) => l.includes('crashed'))).toEqual([])
  })
})
