// The local DynamicSupervisor: children added at run time, each restarted alone by its policy,
// a maxChildren limit, and start failures that go to the caller and not into a crash.
import { describe, expect, it } from 'vitest'
import {
  Actor,
  BadArgument,
  DynamicSupervisor,
  InitFailed,
  MaxChildren,
  NotFound,
  Runtime,
  silentLogger,
  type DynamicChildSpec,
  type ExitReason,
  type Pid,
} from '@swormjs/actor'
import { causeChain, exitOf } from './helpers.js'

interface RoomArgs {
  name: string
  log: string[]
  failInit?: boolean
}

class Room extends Actor<RoomArgs> {
  private args!: RoomArgs
  override init(args: RoomArgs): void {
    this.args = args
    args.log.push(`start ${args.name}`)
    if (args.failInit) throw new Error(`no room for ${args.name}`)
  }
  override handleCall(msg: unknown): unknown {
    if (msg === 'leave') this.stop()
    return this.args.name
  }
  override terminate(reason: ExitReason): void {
    this.args.log.push(`stop ${this.args.name} ${typeof reason === 'string' ? reason : 'error'}`)
  }
}

function room(
  name: string,
  log: string[],
  extra: Omit<DynamicChildSpec, 'actor' | 'args' | 'start'> & { failInit?: boolean } = {},
): DynamicChildSpec {
  const { failInit, ...spec } = extra
  const args: RoomArgs = failInit === undefined ? { name, log } : { name, log, failInit }
  return { actor: Room, args, ...spec }
}

async function crash(rt: Runtime, pid: Pid): Promise<void> {
  const ends = exitOf(rt, pid)
  rt.exit(pid, 'crashed')
  await ends
}

async function childPids(rt: Runtime, sup: Pid): Promise<(Pid | undefined)[]> {
  return (await DynamicSupervisor.whichChildren(rt, sup)).map((c) => c.pid)
}

describe('DynamicSupervisor', () => {
  it('starts children on demand and lists them in start order', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const log: string[] = []
    const sup = await DynamicSupervisor.start(rt)
    expect(await DynamicSupervisor.whichChildren(rt, sup)).toEqual([])
    const a = await DynamicSupervisor.startChild(rt, sup, room('a', log, { id: 'room-a' }))
    const b = await DynamicSupervisor.startChild(rt, sup, room('b', log, { restart: 'transient' }))
    await expect(rt.call(a, 'who')).resolves.toBe('a')
    expect(rt.processInfo(a)?.parent).toBe(sup)
    expect(await DynamicSupervisor.whichChildren(rt, sup)).toEqual([
      { id: 'room-a', pid: a, type: 'worker', restart: 'permanent' },
      { id: b, pid: b, type: 'worker', restart: 'transient' },
    ])
    expect(await DynamicSupervisor.countChildren(rt, sup)).toEqual({
      specs: 2,
      active: 2,
      workers: 2,
      supervisors: 0,
    })
  })

  it('stops a child for good with terminateChild', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const log: string[] = []
    const sup = await DynamicSupervisor.start(rt)
    const a = await DynamicSupervisor.startChild(rt, sup, room('a', log))
    const ends = exitOf(rt, a)
    await DynamicSupervisor.terminateChild(rt, sup, a)
    expect(await ends).toBe('shutdown')
    expect(log).toEqual(['start a', 'stop a shutdown'])
    expect(await DynamicSupervisor.countChildren(rt, sup)).toMatchObject({ active: 0 })
  })

  it('rejects (never throws) startChild for a spec without an actor or start function', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const sup = await DynamicSupervisor.start(rt)
    const bad = { restart: 'permanent' } as unknown as DynamicChildSpec
    let result: Promise<Pid> | undefined
    expect(() => {
      result = DynamicSupervisor.startChild(rt, sup, bad)
    }).not.toThrow()
    await expect(result).rejects.toBeInstanceOf(BadArgument)
    expect(await DynamicSupervisor.countChildren(rt, sup)).toMatchObject({ active: 0 })
  })

  it('rejects terminateChild for a pid that is not its child with NotFound', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const sup = await DynamicSupervisor.start(rt)
    const stranger = rt.spawn(() => undefined)
    await expect(DynamicSupervisor.terminateChild(rt, sup, stranger)).rejects.toBeInstanceOf(
      NotFound,
    )
    expect(rt.isAlive(stranger)).toBe(true)
  })

  it('rejects startChild with MaxChildren at its limit, and accepts again once a child is gone', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const log: string[] = []
    const sup = await DynamicSupervisor.start(rt, { maxChildren: 2 })
    const a = await DynamicSupervisor.startChild(rt, sup, room('a', log))
    await DynamicSupervisor.startChild(rt, sup, room('b', log))
    const err = await DynamicSupervisor.startChild(rt, sup, room('c', log)).catch((e: unknown) => e)
    expect(MaxChildren.is(err)).toBe(true)
    expect(err).toMatchObject({ max: 2 })
    expect(log).not.toContain('start c')
    await DynamicSupervisor.terminateChild(rt, sup, a)
    const c = await DynamicSupervisor.startChild(rt, sup, room('c', log))
    expect(rt.isAlive(c)).toBe(true)
  })

  it('rejects startChild with InitFailed carrying the error when init throws, and survives', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const log: string[] = []
    const sup = await DynamicSupervisor.start(rt)
    const err = await DynamicSupervisor.startChild(
      rt,
      sup,
      room('x', log, { failInit: true }),
    ).catch((e: unknown) => e)
    expect(InitFailed.is(err)).toBe(true)
    expect(causeChain(err).some((e) => e instanceof Error && e.message === 'no room for x')).toBe(
      true,
    )
    expect(rt.isAlive(sup)).toBe(true)
    expect(await DynamicSupervisor.countChildren(rt, sup)).toMatchObject({ active: 0 })
    const ok = await DynamicSupervisor.startChild(rt, sup, room('y', log))
    expect(rt.isAlive(ok)).toBe(true)
  })

  it('restarts a crashed permanent child under a new pid', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const log: string[] = []
    const sup = await DynamicSupervisor.start(rt)
    const a = await DynamicSupervisor.startChild(rt, sup, room('a', log))
    const b = await DynamicSupervisor.startChild(rt, sup, room('b', log))
    await crash(rt, a)
    const pids = await childPids(rt, sup)
    expect(pids).toHaveLength(2)
    expect(pids).toContain(b)
    expect(pids).not.toContain(a)
    const restarted = pids.find((p) => p !== b)!
    await expect(rt.call(restarted, 'who')).resolves.toBe('a')
  })

  it('restarts a permanent child after a normal exit too', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const sup = await DynamicSupervisor.start(rt)
    const a = await DynamicSupervisor.startChild(rt, sup, room('a', []))
    const ends = exitOf(rt, a)
    await rt.call(a, 'leave')
    await ends
    const pids = await childPids(rt, sup)
    expect(pids).toHaveLength(1)
    expect(pids[0]).not.toBe(a)
  })

  it('restarts a transient child after a crash but not after a normal exit', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const sup = await DynamicSupervisor.start(rt)
    const a = await DynamicSupervisor.startChild(rt, sup, room('a', [], { restart: 'transient' }))
    await crash(rt, a)
    const [again] = await childPids(rt, sup)
    expect(again).toBeDefined()
    expect(again).not.toBe(a)
    const ends = exitOf(rt, again!)
    await rt.call(again!, 'leave')
    await ends
    expect(await childPids(rt, sup)).toEqual([])
  })

  it('never restarts a temporary child', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const log: string[] = []
    const sup = await DynamicSupervisor.start(rt)
    const a = await DynamicSupervisor.startChild(rt, sup, room('a', log, { restart: 'temporary' }))
    await crash(rt, a)
    expect(await childPids(rt, sup)).toEqual([])
    expect(log.filter((l) => l === 'start a')).toHaveLength(1)
  })

  it('exits with shutdown and stops its children after more than maxRestarts in maxSeconds', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const log: string[] = []
    const sup = await DynamicSupervisor.start(rt, { maxRestarts: 1, maxSeconds: 60 })
    const supEnds = exitOf(rt, sup)
    const a = await DynamicSupervisor.startChild(rt, sup, room('a', log))
    const b = await DynamicSupervisor.startChild(rt, sup, room('b', log))
    await crash(rt, a)
    const a2 = (await childPids(rt, sup)).find((p) => p !== b)!
    await crash(rt, a2)
    expect(await supEnds).toBe('shutdown')
    expect(rt.isAlive(b)).toBe(false)
    expect(log.at(-1)).toBe('stop b shutdown')
    expect(rt.processes()).toEqual([])
  })

  it('stops its children newest first when it stops', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const log: string[] = []
    const sup = await DynamicSupervisor.start(rt)
    for (const name of ['a', 'b', 'c']) await DynamicSupervisor.startChild(rt, sup, room(name, log))
    log.length = 0
    await rt.stop(sup)
    expect(log).toEqual(['stop c shutdown', 'stop b shutdown', 'stop a shutdown'])
    expect(rt.processes()).toEqual([])
  })
})
