// The local Supervisor's start failures and child-management calls (which, count, terminate,
// restart, delete, start).
import { describe, expect, it } from 'vitest'
import {
  BadArgument,
  InitFailed,
  NotFound,
  Runtime,
  Supervisor,
  settle,
  silentLogger,
  type ChildSpec,
} from '@swormjs/actor'
import { causeChain } from './helpers.js'
import { crash, pidsOf, startSup, worker } from './supervisorFixtures.js'

describe('Supervisor start failures', () => {
  it('fails Supervisor.start with InitFailed when a child’s init throws, and stops the children already started', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const log: string[] = []
    const err = await Supervisor.start(rt, {
      children: [worker('a', log), worker('b', log, { failInit: true }), worker('c', log)],
    }).catch((e: unknown) => e)
    expect(InitFailed.is(err)).toBe(true)
    expect(causeChain(err).some((e) => e instanceof Error && e.message === 'init b failed')).toBe(
      true,
    )
    expect(log).toEqual(['start a', 'start b', 'stop a shutdown'])
    expect(rt.processes()).toEqual([])
  })

  it('rejects a spec list with a duplicate id', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const err = await Supervisor.start(rt, {
      children: [worker('a', []), worker('a', [])],
    }).catch((e: unknown) => e)
    expect(InitFailed.is(err)).toBe(true)
    expect(causeChain(err).some((e) => BadArgument.is(e))).toBe(true)
    expect(rt.processes()).toEqual([])
  })
})

describe('Supervisor child management', () => {
  it('reports its children with whichChildren and countChildren', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const sup = await Supervisor.start(rt, {
      children: [worker('a', []), worker('b', [], { restart: 'transient' })],
    })
    const children = await Supervisor.whichChildren(rt, sup)
    expect(children).toEqual([
      { id: 'a', pid: expect.any(String), type: 'worker', restart: 'permanent' },
      { id: 'b', pid: expect.any(String), type: 'worker', restart: 'transient' },
    ])
    expect(await Supervisor.countChildren(rt, sup)).toEqual({
      specs: 2,
      active: 2,
      workers: 2,
      supervisors: 0,
    })
  })

  it('stops a child with terminateChild and keeps its spec, without restarting it', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const log: string[] = []
    const sup = await startSup(rt, log)
    const before = await pidsOf(rt, sup)
    await Supervisor.terminateChild(rt, sup, 'b')
    expect(rt.isAlive(before['b']!)).toBe(false)
    await settle()
    const after = await pidsOf(rt, sup)
    expect(after).toEqual({ a: before['a'], b: undefined, c: before['c'] })
    expect(await Supervisor.countChildren(rt, sup)).toMatchObject({ specs: 3, active: 2 })
    expect(log.filter((l) => l.startsWith('start b'))).toHaveLength(1)
  })

  it('forgets a temporary child’s spec when terminateChild stops it', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const sup = await Supervisor.start(rt, {
      children: [worker('a', []), worker('t', [], { restart: 'temporary' })],
    })
    await Supervisor.terminateChild(rt, sup, 't')
    expect((await Supervisor.whichChildren(rt, sup)).map((c) => c.id)).toEqual(['a'])
    await expect(Supervisor.restartChild(rt, sup, 't')).rejects.toBeInstanceOf(NotFound)
  })

  it('starts a stopped child again with restartChild', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const sup = await startSup(rt, [])
    await Supervisor.terminateChild(rt, sup, 'b')
    const pid = await Supervisor.restartChild(rt, sup, 'b')
    expect(rt.isAlive(pid)).toBe(true)
    expect((await pidsOf(rt, sup))['b']).toBe(pid)
  })

  it('refuses restartChild and deleteChild for a running child', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const sup = await startSup(rt, [])
    await expect(Supervisor.restartChild(rt, sup, 'a')).rejects.toBeInstanceOf(BadArgument)
    await expect(Supervisor.deleteChild(rt, sup, 'a')).rejects.toBeInstanceOf(BadArgument)
    expect(rt.isAlive(sup)).toBe(true)
  })

  it('removes the spec of a stopped child with deleteChild', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const sup = await startSup(rt, [])
    await Supervisor.terminateChild(rt, sup, 'b')
    await Supervisor.deleteChild(rt, sup, 'b')
    expect((await Supervisor.whichChildren(rt, sup)).map((c) => c.id)).toEqual(['a', 'c'])
    await expect(Supervisor.restartChild(rt, sup, 'b')).rejects.toBeInstanceOf(NotFound)
  })

  it('rejects an unknown id with NotFound', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const sup = await startSup(rt, [])
    await expect(Supervisor.terminateChild(rt, sup, 'zz')).rejects.toBeInstanceOf(NotFound)
    await expect(Supervisor.restartChild(rt, sup, 'zz')).rejects.toBeInstanceOf(NotFound)
    await expect(Supervisor.deleteChild(rt, sup, 'zz')).rejects.toBeInstanceOf(NotFound)
  })

  it('adds and starts a child with startChild, then supervises it', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const log: string[] = []
    const sup = await startSup(rt, log)
    const pid = await Supervisor.startChild(rt, sup, worker('d', log))
    expect(rt.isAlive(pid)).toBe(true)
    expect((await Supervisor.whichChildren(rt, sup)).map((c) => c.id)).toEqual(['a', 'b', 'c', 'd'])
    await crash(rt, pid)
    const restarted = (await pidsOf(rt, sup))['d']
    expect(restarted).not.toBe(pid)
    expect(rt.isAlive(restarted!)).toBe(true)
  })

  it('rejects startChild with a duplicate id or a bad spec, and keeps running', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const sup = await startSup(rt, [])
    await expect(Supervisor.startChild(rt, sup, worker('a', []))).rejects.toBeInstanceOf(
      BadArgument,
    )
    await expect(
      Supervisor.startChild(rt, sup, { id: 'bad' } as unknown as ChildSpec),
    ).rejects.toBeInstanceOf(BadArgument)
    expect(rt.isAlive(sup)).toBe(true)
    expect(await Supervisor.countChildren(rt, sup)).toMatchObject({ specs: 3 })
  })

  it('rejects startChild with InitFailed when the child’s init throws, and keeps running', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const sup = await startSup(rt, [])
    const err = await Supervisor.startChild(rt, sup, worker('x', [], { failInit: true })).catch(
      (e: unknown) => e,
    )
    expect(InitFailed.is(err)).toBe(true)
    expect(causeChain(err).some((e) => e instanceof Error && e.message === 'init x failed')).toBe(
      true,
    )
    expect(rt.isAlive(sup)).toBe(true)
    expect((await Supervisor.whichChildren(rt, sup)).map((c) => c.id)).toEqual(['a', 'b', 'c'])
  })
})
