// Links and exit signals, Erlang's rules: two-way, `normal` is harmless, `trapExit` turns signals
// into messages, and `kill` is the one signal nobody can trap.
import { describe, expect, it } from 'vitest'
import {
  Actor,
  Runtime,
  formatPid,
  settle,
  silentLogger,
  type ExitReason,
  type Pid,
} from '@swormjs/actor'
import { exitOf, spawnInbox } from './helpers.js'

/** Records the reason its `terminate` ran with, in the array handed to `init`. */
class Mortal extends Actor<ExitReason[]> {
  private log: ExitReason[] = []
  override init(log: ExitReason[]): void {
    this.log = log
  }
  override handleCall(msg: unknown): unknown {
    if (msg === 'stop') this.stop()
    return 'ok'
  }
  override terminate(reason: ExitReason): void {
    this.log.push(reason)
  }
}

describe('links', () => {
  it('ends a linked process with the reason of its partner’s abnormal exit', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const a = spawnInbox(rt)
    const b = spawnInbox(rt, { link: a.pid })
    const aEnds = exitOf(rt, a.pid)
    const boom = new Error('boom')
    rt.exit(b.pid, boom)
    expect(await aEnds).toBe(boom)
    expect(rt.isAlive(a.pid)).toBe(false)
  })

  it('works both ways', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const a = spawnInbox(rt)
    const b = spawnInbox(rt, { link: a.pid })
    const bEnds = exitOf(rt, b.pid)
    rt.exit(a.pid, 'crashed')
    expect(await bEnds).toBe('crashed')
  })

  // A hub linked to many processes (a supervisor of 10,000 children): its links unlink one by
  // one, and its crash still ends every process it is linked to.
  it('keeps 10,000 links of one process: unlinks some, and its crash ends the rest', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const hub = spawnInbox(rt)
    const spokes = Array.from({ length: 10_000 }, () => spawnInbox(rt, { link: hub.pid }).pid)
    expect(rt.processInfo(hub.pid)?.links).toHaveLength(10_000)
    const kept = spokes.filter((_, i) => i % 2 === 0)
    for (let i = 1; i < spokes.length; i += 2) rt.unlink(hub.pid, spokes[i]!)
    expect(new Set(rt.processInfo(hub.pid)?.links)).toEqual(new Set(kept))
    rt.exit(hub.pid, 'crashed')
    await settle()
    expect(kept.filter((p) => rt.isAlive(p))).toEqual([])
    expect(spokes.filter((p) => rt.isAlive(p))).toHaveLength(5_000)
  })

  it('carries an abnormal exit along a chain of links', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const a = spawnInbox(rt)
    const b = spawnInbox(rt, { link: a.pid })
    const c = spawnInbox(rt, { link: b.pid })
    const cEnds = exitOf(rt, c.pid)
    rt.exit(a.pid, 'crashed')
    expect(await cEnds).toBe('crashed')
    expect(rt.processes()).toEqual([])
  })

  it('leaves a linked process running when its partner exits normally', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const a = spawnInbox(rt)
    const b = await rt.start(Mortal, [], { link: a.pid })
    const bEnds = exitOf(rt, b)
    await rt.call(b, 'stop')
    expect(await bEnds).toBe('normal')
    await settle()
    expect(rt.isAlive(a.pid)).toBe(true)
    expect(rt.processInfo(a.pid)?.links).toEqual([])
  })

  it('runs terminate of a linked actor that an exit signal ends', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const a = spawnInbox(rt)
    const log: ExitReason[] = []
    const b = await rt.start(Mortal, log, { link: a.pid })
    const bEnds = exitOf(rt, b)
    rt.exit(a.pid, 'crashed')
    await bEnds
    expect(log).toEqual(['crashed'])
  })

  it('stops propagating once unlinked', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const a = spawnInbox(rt)
    const b = spawnInbox(rt, { link: a.pid })
    rt.unlink(b.pid, a.pid)
    expect(rt.processInfo(a.pid)?.links).toEqual([])
    const bEnds = exitOf(rt, b.pid)
    rt.exit(b.pid, 'crashed')
    await bEnds
    await settle()
    expect(rt.isAlive(a.pid)).toBe(true)
  })

  it('links from inside a process with ctx.link', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const target = spawnInbox(rt)
    const linker = rt.spawn((msg, ctx) => {
      ctx.link(msg as Pid)
    })
    rt.send(linker, target.pid)
    await settle()
    expect(rt.processInfo(target.pid)?.links).toEqual([linker])
    const linkerEnds = exitOf(rt, linker)
    rt.exit(target.pid, 'crashed')
    expect(await linkerEnds).toBe('crashed')
  })
})

describe('trapping exits', () => {
  it('turns an exit signal into an EXIT message for a process that traps exits', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const trapper = spawnInbox(rt, { trapExit: true })
    const b = spawnInbox(rt, { link: trapper.pid })
    const boom = new Error('boom')
    rt.exit(b.pid, boom)
    await exitOf(rt, b.pid)
    await settle()
    expect(trapper.messages).toEqual([{ type: 'EXIT', from: b.pid, reason: boom }])
    expect(rt.isAlive(trapper.pid)).toBe(true)
  })

  it('delivers an EXIT message for a normal exit of a linked process too', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const trapper = spawnInbox(rt, { trapExit: true })
    const b = await rt.start(Mortal, [], { link: trapper.pid })
    await rt.call(b, 'stop')
    await exitOf(rt, b)
    await settle()
    expect(trapper.messages).toEqual([{ type: 'EXIT', from: b, reason: 'normal' }])
  })

  it('turns trapping on from inside an actor', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const got: unknown[] = []
    class Trapper extends Actor {
      override init(): void {
        this.trapExit = true
      }
      override handleInfo(msg: unknown): void {
        got.push(msg)
      }
    }
    const t = await rt.start(Trapper, undefined)
    expect(rt.processInfo(t)?.trapExit).toBe(true)
    const b = spawnInbox(rt, { link: t })
    rt.exit(b.pid, 'crashed')
    await exitOf(rt, b.pid)
    await settle()
    expect(got).toEqual([{ type: 'EXIT', from: b.pid, reason: 'crashed' }])
  })

  it('stops a trapping actor whose parent exits, with the parent’s reason', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const parent = spawnInbox(rt)
    const log: ExitReason[] = []
    class Child extends Mortal {
      override init(l: ExitReason[]): void {
        super.init(l)
        this.trapExit = true
      }
    }
    const child = await rt.start(Child, log, { parent: parent.pid })
    expect(rt.processInfo(child)?.parent).toBe(parent.pid)
    const childEnds = exitOf(rt, child)
    rt.exit(parent.pid, 'parent died')
    expect(await childEnds).toBe('parent died')
    expect(log).toEqual(['parent died'])
  })
})

describe('exit()', () => {
  it('ends a non-trapping process with the given abnormal reason', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const log: ExitReason[] = []
    const pid = await rt.start(Mortal, log)
    const ends = exitOf(rt, pid)
    rt.exit(pid, { shutdown: 'maintenance' })
    expect(await ends).toEqual({ shutdown: 'maintenance' })
    expect(log).toEqual([{ shutdown: 'maintenance' }])
  })

  it('ignores exit(pid, "normal") sent by another process to a non-trapping process', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const target = spawnInbox(rt)
    const sender = rt.spawn((_msg, ctx) => ctx.exit(target.pid, 'normal'))
    rt.send(sender, 'go')
    await settle()
    expect(rt.isAlive(target.pid)).toBe(true)
  })

  it('ends a process that sends itself exit(self, "normal")', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const pid = rt.spawn((_msg, ctx) => ctx.exit(ctx.self, 'normal'))
    const ends = exitOf(rt, pid)
    rt.send(pid, 'go')
    expect(await ends).toBe('normal')
  })

  it('ends even a trapping process with killed on exit(pid, "kill"), without terminate', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const log: ExitReason[] = []
    class Trapper extends Mortal {
      override init(l: ExitReason[]): void {
        super.init(l)
        this.trapExit = true
      }
    }
    const pid = await rt.start(Trapper, log)
    const ends = exitOf(rt, pid)
    rt.exit(pid, 'kill')
    expect(await ends).toBe('killed')
    expect(log).toEqual([])
  })

  it('sends killed through links as a signal a trapping process can trap', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const trapper = spawnInbox(rt, { trapExit: true })
    const victim = spawnInbox(rt, { link: trapper.pid })
    rt.exit(victim.pid, 'kill')
    await exitOf(rt, victim.pid)
    await settle()
    expect(trapper.messages).toEqual([{ type: 'EXIT', from: victim.pid, reason: 'killed' }])
    expect(rt.isAlive(trapper.pid)).toBe(true)
  })

  it('carries a process’s own exit reason kill through links as a trappable signal', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const trapper = spawnInbox(rt, { trapExit: true })
    const quitter = rt.spawn((_msg, ctx) => ctx.stop('kill'), { link: trapper.pid })
    rt.send(quitter, 'go')
    await exitOf(rt, quitter)
    await settle()
    expect(trapper.messages).toEqual([{ type: 'EXIT', from: quitter, reason: 'kill' }])
    expect(rt.isAlive(trapper.pid)).toBe(true)
  })

  it('ends a non-trapping linked process with killed when its partner is killed', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const a = spawnInbox(rt)
    const victim = spawnInbox(rt, { link: a.pid })
    const aEnds = exitOf(rt, a.pid)
    rt.exit(victim.pid, 'kill')
    expect(await aEnds).toBe('killed')
  })

  it('names the sending process as from in the EXIT message', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const trapper = spawnInbox(rt, { trapExit: true })
    const sender = rt.spawn((_msg, ctx) => ctx.exit(trapper.pid, 'go away'))
    rt.send(sender, 'go')
    await settle()
    expect(trapper.messages).toEqual([{ type: 'EXIT', from: sender, reason: 'go away' }])
    rt.exit(trapper.pid, 'from outside')
    await settle()
    expect(trapper.messages[1]).toEqual({
      type: 'EXIT',
      from: rt.systemPid,
      reason: 'from outside',
    })
  })
})

describe('linking to a dead pid', () => {
  it('sends a trapping process an EXIT with noproc', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const dead = spawnInbox(rt)
    await rt.stop(dead.pid)
    const trapper = spawnInbox(rt, { trapExit: true })
    rt.link(trapper.pid, dead.pid)
    await settle()
    expect(trapper.messages).toEqual([{ type: 'EXIT', from: dead.pid, reason: 'noproc' }])
    expect(rt.processInfo(trapper.pid)?.links).toEqual([])
  })

  it('ends a non-trapping process with noproc', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const never = formatPid(rt.nodeId, 4242)
    const p = spawnInbox(rt)
    const ends = exitOf(rt, p.pid)
    rt.link(p.pid, never)
    expect(await ends).toBe('noproc')
  })

  it('fails start with a link to a dead pid', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const dead = spawnInbox(rt)
    await rt.stop(dead.pid)
    await expect(rt.start(Mortal, [], { link: dead.pid })).rejects.toMatchObject({
      reason: 'noproc',
    })
    expect(rt.processes()).toEqual([])
  })
})
