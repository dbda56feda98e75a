// Two runtimes in one OS process share nothing: pids, names and processes stay on their side.
import { describe, expect, it } from 'vitest'
import { Actor, Runtime, UnknownNode, nodeOf, settle, silentLogger } from '@swormjs/actor'
import { exitOf, spawnInbox } from './helpers.js'

class Echo extends Actor {
  override handleCall(msg: unknown): unknown {
    return msg
  }
}

describe('two runtimes in one OS process', () => {
  it('make pids of different nodes', async () => {
    await using one = new Runtime({ logger: silentLogger })
    await using two = new Runtime({ logger: silentLogger })
    const a = one.spawn(() => undefined)
    const b = two.spawn(() => undefined)
    expect(one.nodeId).not.toBe(two.nodeId)
    expect(nodeOf(a)).toBe(one.nodeId)
    expect(nodeOf(b)).toBe(two.nodeId)
    expect(one.isLocal(a)).toBe(true)
    expect(one.isLocal(b)).toBe(false)
    expect(one.processes()).toEqual([a])
    expect(two.processes()).toEqual([b])
  })

  it('throw UnknownNode on send to a pid of the other, since no route is set', async () => {
    await using one = new Runtime({ logger: silentLogger })
    await using two = new Runtime({ logger: silentLogger })
    const inbox = spawnInbox(one)
    let err: unknown
    try {
      two.send(inbox.pid, 'hello')
    } catch (e) {
      err = e
    }
    expect(UnknownNode.is(err)).toBe(true)
    expect(err).toMatchObject({ node: one.nodeId })
    await settle()
    expect(inbox.messages).toEqual([])
  })

  it('reject a call to a pid of the other with UnknownNode', async () => {
    await using one = new Runtime({ logger: silentLogger })
    await using two = new Runtime({ logger: silentLogger })
    const echo = await one.start(Echo, undefined)
    await expect(two.call(echo, 'hi')).rejects.toBeInstanceOf(UnknownNode)
    expect(two.stats().pendingCalls).toBe(0)
    await expect(one.call(echo, 'hi')).resolves.toBe('hi')
  })

  it('do not let exit signals, links or monitors cross', async () => {
    await using one = new Runtime({ logger: silentLogger })
    await using two = new Runtime({ logger: silentLogger })
    const target = spawnInbox(one)
    expect(() => two.exit(target.pid, 'kill')).toThrow(UnknownNode)
    expect(one.isAlive(target.pid)).toBe(true)
    expect(two.isAlive(target.pid)).toBe(false)
    expect(two.processInfo(target.pid)).toBeUndefined()
    // No route: a monitor fires at once with noconnection, a link breaks with noconnection.
    await expect(exitOf(two, target.pid)).resolves.toBe('noconnection')
    const trapper = spawnInbox(two, { trapExit: true })
    two.link(trapper.pid, target.pid)
    await settle()
    expect(trapper.messages).toEqual([{ type: 'EXIT', from: target.pid, reason: 'noconnection' }])
    expect(one.processInfo(target.pid)?.links).toEqual([])
  })

  it('keep their names apart', async () => {
    await using one = new Runtime({ logger: silentLogger })
    await using two = new Runtime({ logger: silentLogger })
    const a = spawnInbox(one, { name: 'svc' })
    expect(two.whereis('svc')).toBeUndefined()
    const b = spawnInbox(two, { name: 'svc' })
    expect(one.whereis('svc')).toBe(a.pid)
    expect(two.whereis('svc')).toBe(b.pid)
    expect(two.registeredNames()).toEqual(['svc'])
  })

  it('leave one running when the other is stopped', async () => {
    await using one = new Runtime({ logger: silentLogger })
    const two = new Runtime({ logger: silentLogger })
    const echo = await one.start(Echo, undefined)
    two.spawn(() => undefined)
    await two.shutdown()
    expect(two.processes()).toEqual([])
    await expect(one.call(echo, 'still here')).resolves.toBe('still here')
  })

  it('never reach a process of a new incarnation with a pid of the old one', async () => {
    const old = new Runtime({ logger: silentLogger })
    const stale = old.spawn(() => undefined)
    await old.shutdown()
    await using fresh = new Runtime({ logger: silentLogger })
    const p = spawnInbox(fresh)
    expect(p.pid).not.toBe(stale)
    expect(() => fresh.send(stale, 'x')).toThrow(UnknownNode)
    await settle()
    expect(p.messages).toEqual([])
  })
})
