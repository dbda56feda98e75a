// The local Supervisor: strategies, restart policies, intensity, and shutdown order and timeouts.
import { describe, expect, it } from 'vitest'
import { ManualClock, Runtime, Supervisor, settle, silentLogger } from '@swormjs/actor'
import { deferred, exitOf, track } from './helpers.js'
import { Worker, crash, pidsOf, startSup, worker, type WorkerArgs } from './supervisorFixtures.js'

describe('Supervisor strategies', () => {
  it('starts its children in order', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const log: string[] = []
    const sup = await startSup(rt, log)
    expect(log).toEqual(['start a', 'start b', 'start c'])
    const pids = await pidsOf(rt, sup)
    for (const id of ['a', 'b', 'c']) {
      expect(rt.isAlive(pids[id]!)).toBe(true)
      await expect(rt.call(pids[id]!, 'who')).resolves.toBe(id)
      expect(rt.processInfo(pids[id]!)?.parent).toBe(sup)
    }
  })

  it('restarts only the crashed child under one_for_one', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const log: string[] = []
    const sup = await startSup(rt, log, { strategy: 'one_for_one' })
    const before = await pidsOf(rt, sup)
    await crash(rt, before['b'])
    const after = await pidsOf(rt, sup)
    expect(after['a']).toBe(before['a'])
    expect(after['c']).toBe(before['c'])
    expect(after['b']).not.toBe(before['b'])
    expect(rt.isAlive(after['b']!)).toBe(true)
    await expect(rt.call(after['b']!, 'who')).resolves.toBe('b')
  })

  it('restarts every child under one_for_all, stopping the others newest first', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const log: string[] = []
    const sup = await startSup(rt, log, { strategy: 'one_for_all' })
    const before = await pidsOf(rt, sup)
    log.length = 0
    await crash(rt, before['b'])
    const after = await pidsOf(rt, sup)
    for (const id of ['a', 'b', 'c']) {
      expect(after[id]).not.toBe(before[id])
      expect(rt.isAlive(after[id]!)).toBe(true)
      expect(rt.isAlive(before[id]!)).toBe(false)
    }
    expect(log).toEqual([
      'stop b crashed',
      'stop c shutdown',
      'stop a shutdown',
      'start a',
      'start b',
      'start c',
    ])
  })

  it('restarts the crashed child and those started after it under rest_for_one', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const log: string[] = []
    const sup = await startSup(rt, log, { strategy: 'rest_for_one' })
    const before = await pidsOf(rt, sup)
    log.length = 0
    await crash(rt, before['b'])
    const after = await pidsOf(rt, sup)
    expect(after['a']).toBe(before['a'])
    expect(after['b']).not.toBe(before['b'])
    expect(after['c']).not.toBe(before['c'])
    expect(rt.isAlive(after['c']!)).toBe(true)
    expect(log).toEqual(['stop b crashed', 'stop c shutdown', 'start b', 'start c'])
  })
})

describe('Supervisor restart policies', () => {
  it('restarts a permanent child even after a normal exit', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const log: string[] = []
    const sup = await Supervisor.start(rt, { children: [worker('p', log)] })
    const before = (await pidsOf(rt, sup))['p']!
    const ends = exitOf(rt, before)
    await rt.call(before, 'stop')
    expect(await ends).toBe('normal')
    const after = (await pidsOf(rt, sup))['p']
    expect(after).toBeDefined()
    expect(after).not.toBe(before)
    expect(rt.isAlive(after!)).toBe(true)
  })

  it('restarts a transient child after a crash but not after a normal exit', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const log: string[] = []
    const sup = await Supervisor.start(rt, {
      children: [worker('t', log, { restart: 'transient' })],
    })
    const first = (await pidsOf(rt, sup))['t']
    await crash(rt, first)
    const second = (await pidsOf(rt, sup))['t']
    expect(second).toBeDefined()
    expect(second).not.toBe(first)
    const ends = exitOf(rt, second!)
    await rt.call(second!, 'stop')
    await ends
    const children = await Supervisor.whichChildren(rt, sup)
    expect(children).toEqual([{ id: 't', pid: undefined, type: 'worker', restart: 'transient' }])
  })

  it('does not restart a transient child that exits with shutdown', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const sup = await Supervisor.start(rt, {
      children: [worker('t', [], { restart: 'transient' })],
    })
    const pid = (await pidsOf(rt, sup))['t']!
    const ends = exitOf(rt, pid)
    rt.exit(pid, { shutdown: 'done' })
    await ends
    expect((await pidsOf(rt, sup))['t']).toBeUndefined()
  })

  it('never restarts a temporary child and forgets it once it has exited', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const log: string[] = []
    const sup = await Supervisor.start(rt, {
      children: [worker('keep', log), worker('tmp', log, { restart: 'temporary' })],
    })
    await crash(rt, (await pidsOf(rt, sup))['tmp'])
    const children = await Supervisor.whichChildren(rt, sup)
    expect(children.map((c) => c.id)).toEqual(['keep'])
    expect(log.filter((l) => l === 'start tmp')).toHaveLength(1)
  })
})

describe('Supervisor restart intensity', () => {
  it('restarts a crashed child within maxRestarts', async () => {
    const clock = new ManualClock()
    await using rt = new Runtime({ logger: silentLogger, clock })
    const sup = await Supervisor.start(rt, {
      maxRestarts: 2,
      maxSeconds: 5,
      children: [worker('w', [])],
    })
    for (let i = 0; i < 2; i++) await crash(rt, (await pidsOf(rt, sup))['w'])
    expect(rt.isAlive(sup)).toBe(true)
    expect(rt.isAlive((await pidsOf(rt, sup))['w']!)).toBe(true)
  })

  it('exits with shutdown and takes its children down after more than maxRestarts in maxSeconds', async () => {
    const clock = new ManualClock()
    await using rt = new Runtime({ logger: silentLogger, clock })
    const log: string[] = []
    const sup = await Supervisor.start(rt, {
      maxRestarts: 2,
      maxSeconds: 5,
      children: [worker('w', log), worker('other', log)],
    })
    const supEnds = exitOf(rt, sup)
    for (let i = 0; i < 2; i++) await crash(rt, (await pidsOf(rt, sup))['w'])
    const last = await pidsOf(rt, sup)
    await clock.advance(4000) // still inside the 5 s window
    await crash(rt, last['w'])
    expect(await supEnds).toBe('shutdown')
    expect(rt.isAlive(last['other']!)).toBe(false)
    expect(log.at(-1)).toBe('stop other shutdown')
    expect(rt.processes()).toEqual([])
  })

  it('forgives restarts older than maxSeconds', async () => {
    const clock = new ManualClock()
    await using rt = new Runtime({ logger: silentLogger, clock })
    const sup = await Supervisor.start(rt, {
      maxRestarts: 2,
      maxSeconds: 5,
      children: [worker('w', [])],
    })
    for (let i = 0; i < 6; i++) {
      await crash(rt, (await pidsOf(rt, sup))['w'])
      await clock.advance(3000)
    }
    expect(rt.isAlive(sup)).toBe(true)
    expect(rt.isAlive((await pidsOf(rt, sup))['w']!)).toBe(true)
  })

  it('gives up with shutdown when a child keeps failing to start again', async () => {
    const clock = new ManualClock()
    await using rt = new Runtime({ logger: silentLogger, clock })
    const log: string[] = []
    const args: WorkerArgs = { id: 'flaky', log }
    const sup = await Supervisor.start(rt, {
      maxRestarts: 3,
      children: [{ id: 'flaky', actor: Worker, args }],
    })
    const supEnds = exitOf(rt, sup)
    args.failInit = true
    await crash(rt, (await pidsOf(rt, sup))['flaky'])
    expect(await supEnds).toBe('shutdown')
    // The first start, then one try for each of the 3 restarts the intensity allows.
    expect(log.filter((l) => l === 'start flaky')).toHaveLength(4)
    expect(rt.processes()).toEqual([])
  })

  it('lets a process linked to the supervisor hear of its give-up', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const got: unknown[] = []
    const owner = rt.spawn((m) => void got.push(m), { trapExit: true })
    const sup = await Supervisor.start(
      rt,
      { maxRestarts: 0, children: [worker('w', [])] },
      { link: owner },
    )
    await crash(rt, (await pidsOf(rt, sup))['w'])
    await exitOf(rt, sup)
    await settle()
    expect(got).toEqual([{ type: 'EXIT', from: sup, reason: 'shutdown' }])
  })
})

describe('Supervisor shutdown', () => {
  it('stops its children newest first when it stops', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const log: string[] = []
    const sup = await startSup(rt, log)
    const pids = await pidsOf(rt, sup)
    log.length = 0
    await rt.stop(sup)
    expect(log).toEqual(['stop c shutdown', 'stop b shutdown', 'stop a shutdown'])
    expect(Object.values(pids).some((p) => rt.isAlive(p!))).toBe(false)
  })

  it('kills a child whose terminate outlasts its shutdownMs', async () => {
    const clock = new ManualClock()
    await using rt = new Runtime({ logger: silentLogger, clock })
    const log: string[] = []
    const gate = deferred()
    const sup = await Supervisor.start(rt, {
      children: [worker('slow', log, { shutdownMs: 1000, stopGate: gate.promise })],
    })
    const pid = (await pidsOf(rt, sup))['slow']!
    const ends = exitOf(rt, pid)
    const done = track(Supervisor.terminateChild(rt, sup, 'slow'))
    await clock.advance(999)
    expect(log).toEqual(['start slow', 'stop slow shutdown'])
    expect(rt.isAlive(pid)).toBe(true)
    expect(done.state).toBe('pending')
    await clock.advance(1)
    expect(await ends).toBe('killed')
    await done.settled
    expect(done.state).toBe('fulfilled')
    gate.resolve()
  })

  it('waits for a child that finishes its terminate within shutdownMs', async () => {
    const clock = new ManualClock()
    await using rt = new Runtime({ logger: silentLogger, clock })
    const gate = deferred()
    const sup = await Supervisor.start(rt, {
      children: [worker('slow', [], { shutdownMs: 1000, stopGate: gate.promise })],
    })
    const pid = (await pidsOf(rt, sup))['slow']!
    const ends = exitOf(rt, pid)
    const done = track(Supervisor.terminateChild(rt, sup, 'slow'))
    await clock.advance(500)
    gate.resolve()
    expect(await ends).toBe('shutdown')
    await done.settled
    expect(done.state).toBe('fulfilled')
  })

  it('lets a child that traps exits finish the message in hand before its terminate', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const log: string[] = []
    const gate = deferred()
    class Careful extends Worker {
      override init(args: WorkerArgs): void {
        super.init(args)
        this.trapExit = true
      }
      override async handleCall(msg: unknown): Promise<unknown> {
        await gate.promise
        log.push(`handled ${String(msg)}`)
        return 'ok'
      }
    }
    const sup = await Supervisor.start(rt, {
      children: [{ id: 'careful', actor: Careful, args: { id: 'careful', log } }],
    })
    const pid = (await pidsOf(rt, sup))['careful']!
    const call = track(rt.call(pid, 'job'))
    await settle()
    const done = track(Supervisor.terminateChild(rt, sup, 'careful'))
    await settle()
    expect(log).toEqual(['start careful'])
    gate.resolve()
    await done.settled
    await call.settled
    expect(call.value).toBe('ok')
    expect(log).toEqual(['start careful', 'handled job', 'stop careful shutdown'])
  })

  it('kills a brutal_kill child at once, without terminate', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const log: string[] = []
    const sup = await Supervisor.start(rt, {
      children: [worker('brute', log, { shutdownMs: 'brutal_kill' })],
    })
    const pid = (await pidsOf(rt, sup))['brute']!
    const ends = exitOf(rt, pid)
    await Supervisor.terminateChild(rt, sup, 'brute')
    expect(await ends).toBe('killed')
    expect(log).toEqual(['start brute'])
  })

  it('stops a nested supervisor with its own children', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const log: string[] = []
    const top = await Supervisor.start(rt, {
      children: [
        worker('a', log),
        {
          id: 'inner',
          type: 'supervisor',
          start: (r, parent) => Supervisor.start(r, { children: [worker('x', log)] }, { parent }),
        },
        worker('b', log),
      ],
    })
    expect(await Supervisor.countChildren(rt, top)).toEqual({
      specs: 3,
      active: 3,
      workers: 2,
      supervisors: 1,
    })
    log.length = 0
    await rt.stop(top)
    expect(log).toEqual(['stop b shutdown', 'stop x shutdown', 'stop a shutdown'])
    expect(rt.processes()).toEqual([])
  })
})
