// Stopping: `terminate(reason)` on stop and crash but not on `killed`, async terminate awaited,
// `stop()` from inside a handler, `runtime.stop(pid)` and disposal of the whole runtime.
import { describe, expect, it } from 'vitest'
import {
  Actor,
  Exited,
  ManualClock,
  NoProc,
  Runtime,
  RuntimeStopped,
  describeReason,
  formatPid,
  settle,
  silentLogger,
  type ExitReason,
  type NodeId,
  type Pid,
} from '@swormjs/actor'
import { deferred, exitOf, track } from './helpers.js'

interface Probe {
  log: string[]
  /** When set, `terminate` awaits it. */
  stopGate?: Promise<void>
  /** When set, `handleCall('block')` awaits it. */
  callGate?: Promise<void>
}

class Probed extends Actor<Probe> {
  private probe!: Probe
  override init(probe: Probe): void {
    this.probe = probe
  }
  override async handleCall(msg: unknown): Promise<unknown> {
    if (msg === 'crash') throw new Error('crash')
    if (msg === 'block') await this.probe.callGate
    if (msg === 'stop') this.stop('done')
    this.probe.log.push(`handled ${String(msg)}`)
    return `ok ${String(msg)}`
  }
  override async terminate(reason: ExitReason): Promise<void> {
    this.probe.log.push(
      `terminate ${reason instanceof Error ? reason.message : describeReason(reason)}`,
    )
    await this.probe.stopGate
    this.probe.log.push('terminated')
  }
}

describe('terminate', () => {
  it('runs with normal on runtime.stop(pid)', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const log: string[] = []
    const pid = await rt.start(Probed, { log })
    await rt.stop(pid)
    expect(log).toEqual(['terminate normal', 'terminated'])
    expect(rt.isAlive(pid)).toBe(false)
  })

  it('runs with the reason given to runtime.stop(pid, reason)', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const log: string[] = []
    const pid = await rt.start(Probed, { log })
    const ends = exitOf(rt, pid)
    await rt.stop(pid, 'shutdown')
    expect(log[0]).toBe('terminate shutdown')
    expect(await ends).toBe('shutdown')
  })

  it('runs with the error when a handler crashes', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const log: string[] = []
    const pid = await rt.start(Probed, { log })
    await rt.call(pid, 'crash').catch(() => undefined)
    expect(log).toEqual(['terminate crash', 'terminated'])
  })

  it('does not run when the process is killed', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const log: string[] = []
    const pid = await rt.start(Probed, { log })
    const ends = exitOf(rt, pid)
    rt.exit(pid, 'kill')
    expect(await ends).toBe('killed')
    expect(log).toEqual([])
  })

  it('keeps the process alive until an async terminate has finished', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const log: string[] = []
    const stopGate = deferred()
    const pid = await rt.start(Probed, { log, stopGate: stopGate.promise })
    const stopped = track(rt.stop(pid))
    await settle()
    expect(log).toEqual(['terminate normal'])
    expect(stopped.state).toBe('pending')
    expect(rt.isAlive(pid)).toBe(true)
    expect(rt.processInfo(pid)?.status).toBe('exiting')
    stopGate.resolve()
    await stopped.settled
    expect(stopped.state).toBe('fulfilled')
    expect(log).toEqual(['terminate normal', 'terminated'])
    expect(rt.isAlive(pid)).toBe(false)
  })

  it('ends the process with its original reason when terminate throws', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    class BadTerminate extends Actor {
      override terminate(): void {
        throw new Error('terminate failed')
      }
    }
    const pid = await rt.start(BadTerminate, undefined)
    const ends = exitOf(rt, pid)
    rt.exit(pid, 'crashed')
    expect(await ends).toBe('crashed')
  })
})

describe('stopping', () => {
  it('stops from inside a handler once the handler returns, with the given reason', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const log: string[] = []
    const pid = await rt.start(Probed, { log })
    const ends = exitOf(rt, pid)
    await expect(rt.call(pid, 'stop')).resolves.toBe('ok stop')
    expect(await ends).toBe('done')
    expect(log).toEqual(['handled stop', 'terminate done', 'terminated'])
  })

  it('stops a function process from inside its handler', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const seen: unknown[] = []
    const pid = rt.spawn((msg, ctx) => {
      seen.push(msg)
      ctx.stop({ shutdown: 'finished' })
    })
    const ends = exitOf(rt, pid)
    rt.send(pid, 1)
    rt.send(pid, 2)
    expect(await ends).toEqual({ shutdown: 'finished' })
    expect(seen).toEqual([1])
  })

  it('lets runtime.stop(pid) wait for the message in hand', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const log: string[] = []
    const callGate = deferred()
    const pid = await rt.start(Probed, { log, callGate: callGate.promise })
    const call = rt.call(pid, 'block')
    await settle()
    const stopped = track(rt.stop(pid))
    await settle()
    expect(log).toEqual([])
    expect(stopped.state).toBe('pending')
    callGate.resolve()
    await expect(call).resolves.toBe('ok block')
    await stopped.settled
    expect(log).toEqual(['handled block', 'terminate normal', 'terminated'])
  })

  it('kills a process whose terminate outlasts the stop timeout', async () => {
    const clock = new ManualClock()
    await using rt = new Runtime({ logger: silentLogger, clock })
    const stopGate = deferred()
    const log: string[] = []
    const pid = await rt.start(Probed, { log, stopGate: stopGate.promise })
    const ends = exitOf(rt, pid)
    const stopped = track(rt.stop(pid, 'normal', 1000))
    await clock.advance(999)
    expect(rt.isAlive(pid)).toBe(true)
    await clock.advance(1)
    await stopped.settled
    expect(await ends).toBe('killed')
    expect(log).toEqual(['terminate normal'])
    stopGate.resolve()
  })

  it('unlinks the caller before shutdownProcess ends a linked process', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const owner = rt.spawn(() => undefined)
    const log: string[] = []
    const child = await rt.start(Probed, { log }, { link: owner })
    await expect(rt.shutdownProcess(child, 1000, owner)).resolves.toBe('shutdown')
    expect(log).toEqual(['terminate shutdown', 'terminated'])
    await settle()
    expect(rt.isAlive(owner)).toBe(true)
  })

  it('lets shutdownProcess kill at once with brutal_kill', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const log: string[] = []
    const child = await rt.start(Probed, { log })
    await expect(rt.shutdownProcess(child, 'brutal_kill')).resolves.toBe('killed')
    expect(log).toEqual([])
  })

  it('rejects runtime.stop(pid) with NoProc for a pid that has exited', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const pid = await rt.start(Probed, { log: [] })
    await rt.stop(pid)
    await expect(rt.stop(pid)).rejects.toBeInstanceOf(NoProc)
  })
})

describe('disposing the runtime', () => {
  it('stops every process with shutdown, newest first, and refuses new ones', async () => {
    const log: string[] = []
    let pids: Pid[]
    let rt: Runtime
    {
      await using scoped = new Runtime({ logger: silentLogger })
      rt = scoped
      class Named extends Actor<string> {
        private tag = ''
        override init(tag: string): void {
          this.tag = tag
        }
        override terminate(reason: ExitReason): void {
          log.push(`${this.tag} ${describeReason(reason)}`)
        }
      }
      pids = [await rt.start(Named, 'first'), await rt.start(Named, 'second')]
    }
    expect(log).toEqual(['second shutdown', 'first shutdown'])
    expect(pids.some((p) => rt.isAlive(p))).toBe(false)
    expect(() => rt.spawn(() => undefined)).toThrow(RuntimeStopped)
    await expect(rt.call(pids[0]!, 'x')).rejects.toBeInstanceOf(RuntimeStopped)
  })

  it('cancels its timers, leaving nothing on the clock', async () => {
    const clock = new ManualClock()
    const rt = new Runtime({ logger: silentLogger, clock })
    const p = rt.spawn(() => undefined)
    rt.sendAfter(p, 'later', 1000)
    rt.sendAfter(rt.systemPid, 'later', 1000)
    expect(clock.pending).toBe(2)
    await rt.shutdown()
    expect(clock.pending).toBe(0)
  })

  it('rejects calls waiting on its processes with Exited and the shutdown reason', async () => {
    const rt = new Runtime({ logger: silentLogger })
    const target = rt.spawn(() => undefined) // never replies
    const caller = deferred<unknown>()
    const pid = rt.spawn((_msg, ctx) => {
      ctx.call(target, 'hello').then(caller.resolve, caller.resolve)
    })
    rt.send(pid, 'go')
    await settle()
    const outside = track(rt.call(target, 'also'))
    expect(rt.stats().pendingCalls).toBe(2)
    await rt.shutdown()
    expect(outside.error).toBeInstanceOf(Exited)
    expect(outside.error).toMatchObject({ reason: 'shutdown' })
    expect(await caller.promise).toBeInstanceOf(Exited)
    expect(rt.stats().pendingCalls).toBe(0)
  })

  it('rejects calls waiting on other nodes with RuntimeStopped', async () => {
    const rt = new Runtime({ logger: silentLogger })
    const sent: unknown[] = []
    rt.setRoute({
      send: (_to, msg) => void sent.push(msg),
      call: (_to, _ref, envelope) => sent.push(envelope) > 0,
      reply: () => undefined,
      exit: () => undefined,
      link: () => true,
      unlink: () => undefined,
      monitor: () => true,
      demonitor: () => undefined,
    })
    const remote = formatPid('other-node' as NodeId, 1)
    const call = track(rt.call(remote, 'hello'))
    expect(sent).toHaveLength(1)
    await rt.shutdown()
    expect(call.error).toBeInstanceOf(RuntimeStopped)
  })
})

describe('what an ended process never read', () => {
  // A layer above may take some on (the sworm forwards what was sent to a worker whose name
  // moved on); by default they are dropped, as in Erlang.
  it('goes to the dead-letter handlers once it has ended, in the order it came', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const gate = deferred<void>()
    class Slow extends Actor {
      override async handleInfo(msg: unknown): Promise<void> {
        if (msg === 'first') await gate.promise
      }
    }
    const pid = rt.spawn(Slow, undefined)
    const seen: Array<[Pid, unknown, boolean]> = []
    rt.onDeadLetter((to, msg) => {
      seen.push([to, msg, rt.isAlive(to)])
      return true
    })
    for (const m of ['first', 'second', 'third']) rt.send(pid, m)
    await settle()
    // The first is in hand; the others wait in the mailbox when it is killed.
    rt.exit(pid, 'kill')
    await settle()
    expect(seen).toEqual([
      [pid, 'second', false],
      [pid, 'third', false],
    ])
    gate.resolve()
  })
})
