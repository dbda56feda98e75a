// The local name registry: one process per name, the holder named in a conflict, names freed on exit.
import { describe, expect, it } from 'vitest'
import {
  Actor,
  AlreadyRegistered,
  BadArgument,
  NoProc,
  Runtime,
  silentLogger,
} from '@swormjs/actor'
import { exitOf, spawnInbox } from './helpers.js'

class Idle extends Actor {}

describe('local registry', () => {
  it('finds a registered process with whereis until it is unregistered', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const p = spawnInbox(rt)
    expect(rt.whereis('logger')).toBeUndefined()
    rt.register('logger', p.pid)
    expect(rt.whereis('logger')).toBe(p.pid)
    expect(rt.registeredNames()).toEqual(['logger'])
    expect(rt.processInfo(p.pid)?.name).toBe('logger')
    expect(rt.unregister('logger')).toBe(true)
    expect(rt.whereis('logger')).toBeUndefined()
    expect(rt.processInfo(p.pid)?.name).toBeUndefined()
    expect(rt.unregister('logger')).toBe(false)
    expect(rt.isAlive(p.pid)).toBe(true)
  })

  it('refuses a taken name with AlreadyRegistered naming the holder', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const holder = spawnInbox(rt)
    const other = spawnInbox(rt)
    rt.register('svc', holder.pid)
    let err: unknown
    try {
      rt.register('svc', other.pid)
    } catch (e) {
      err = e
    }
    expect(AlreadyRegistered.is(err)).toBe(true)
    expect(err).toMatchObject({ registeredName: 'svc', pid: holder.pid })
    expect(rt.whereis('svc')).toBe(holder.pid)
  })

  it('accepts registering a process again under the name it already holds', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const p = spawnInbox(rt)
    rt.register('svc', p.pid)
    expect(() => rt.register('svc', p.pid)).not.toThrow()
    expect(rt.whereis('svc')).toBe(p.pid)
  })

  it('refuses a second name for a process that already has one', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const p = spawnInbox(rt)
    rt.register('first', p.pid)
    expect(() => rt.register('second', p.pid)).toThrow(BadArgument)
    expect(rt.whereis('second')).toBeUndefined()
  })

  it('refuses to register a pid that has exited with NoProc', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const p = spawnInbox(rt)
    await rt.stop(p.pid)
    expect(() => rt.register('late', p.pid)).toThrow(NoProc)
    expect(rt.whereis('late')).toBeUndefined()
  })

  it('frees the name when its process exits, for the next one to take', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const first = spawnInbox(rt, { name: 'svc' })
    const ends = exitOf(rt, first.pid)
    rt.exit(first.pid, 'crashed')
    await ends
    expect(rt.whereis('svc')).toBeUndefined()
    expect(rt.registeredNames()).toEqual([])
    const second = spawnInbox(rt, { name: 'svc' })
    expect(rt.whereis('svc')).toBe(second.pid)
  })

  it('registers the new process under the name given to spawn and start', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const p = spawnInbox(rt, { name: 'inbox' })
    expect(rt.whereis('inbox')).toBe(p.pid)
    const actor = await rt.start(Idle, undefined, { name: 'idle' })
    expect(rt.whereis('idle')).toBe(actor)
    rt.send(rt.whereis('inbox')!, 'hello')
    await expect.poll(() => p.messages).toEqual(['hello'])
  })

  it('refuses spawn under a taken name and starts no process', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const holder = spawnInbox(rt, { name: 'svc' })
    const before = rt.stats()
    expect(() => rt.spawn(() => undefined, { name: 'svc' })).toThrow(AlreadyRegistered)
    await expect(rt.start(Idle, undefined, { name: 'svc' })).rejects.toMatchObject({
      pid: holder.pid,
    })
    expect(rt.processes()).toEqual([holder.pid])
    expect(rt.stats()).toEqual(before)
    expect(rt.whereis('svc')).toBe(holder.pid)
  })

  it('frees the name of a process whose start failed', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    class Broken extends Actor {
      override init(): void {
        throw new Error('nope')
      }
    }
    await expect(rt.start(Broken, undefined, { name: 'svc' })).rejects.toThrow()
    expect(rt.whereis('svc')).toBeUndefined()
  })
})
