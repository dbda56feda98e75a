// Start on first message (`static activation = 'onDemand'`): a call, cast or send to a name
// nobody holds starts it once in the cluster, however many nodes send at once, and is delivered
// to it; messages sent meanwhile keep their order; `activate` says what a name runs.
import { describe, expect, it } from 'vitest'
import { BadArgument, NotFound, nodeOf } from '@swormjs/actor'
import { decodeValue } from '@swormjs/cluster'
import { Actor, Sworm, type Activation, type Name } from '@swormjs/sworm'
import { waitUntil } from '../../src/index.js'
import { swormCluster } from './swormCluster.js'

/** Inits, counted across every node of this process. */
let inits = 0

class Log extends Actor<{ prefix?: string } | undefined> {
  got: unknown[] = []
  prefix = ''
  override init(args?: { prefix?: string }): void {
    inits++
    this.prefix = args?.prefix ?? ''
  }
  override handleCall(msg: unknown): unknown {
    if (msg === 'get') return this.got
    this.got.push(msg)
    return `${this.prefix}${this.got.length}`
  }
  override handleCast(msg: unknown): void {
    this.got.push(msg)
  }
  override handleInfo(msg: unknown): void {
    this.got.push({ info: msg })
  }
}

class Other extends Actor {}

/** A `Log` whose messages survive a crash (`replicas: 1`). */
class DurableLog extends Log {
  override beginHandoff(): unknown[] {
    return this.got
  }
  override endHandoff(got: unknown[]): void {
    this.got = got
  }
}

class Logs extends Sworm {
  static override actors = { Log }
  static override activation = 'onDemand' as const
}

/** Says what each name runs: `room:` names get a prefix, `none:` names are not started. */
class Rooms extends Sworm {
  static override actors = { Log, Other }
  static override activation = 'onDemand' as const
  static override activate(name: Name): Activation | undefined {
    if (typeof name !== 'string' || name.startsWith('none:')) return undefined
    return { type: Log, args: { prefix: `${name}#` } }
  }
}

class Mixed extends Sworm {
  static override actors = { Log, Other }
  static override activation = 'onDemand' as const
}

class DurableLogs extends Sworm {
  static override actors = { DurableLog }
  static override activation = 'onDemand' as const
  static override options = { handoff: true, replicas: 1 }
}

class Napping extends Sworm {
  static override actors = { Log }
  static override activation = 'onDemand' as const
  static override options = { idleTimeoutMs: 200, handoffTimeoutMs: 300 }
}

class Explicit extends Sworm {
  static override actors = { Log }
}

describe('onDemand activation', () => {
  it('many nodes calling an unknown name at once start it once; every call is delivered', async () => {
    await using cluster = await swormCluster(3, [Logs])
    inits = 0
    const calls = cluster.nodes.flatMap((node, n) =>
      Array.from({ length: 20 }, (_, i) => Logs.on(node).call('x', `${n}:${i}`)),
    )
    const answers = await Promise.all(calls)
    expect(new Set(answers).size).toBe(60) // 1..60: one worker took them all
    // The call that started it was its worker's first message: a node's first call, answered 1.
    const firstOf = [0, 1, 2].filter((n) => answers[n * 20] === '1')
    expect(firstOf).toHaveLength(1)
    expect(inits).toBe(1)
    const got = await Logs.on(cluster.at(0)).call<string[]>('x', 'get')
    expect(got).toHaveLength(60)
    expect(got[0]).toBe(`${firstOf[0]}:0`)
    // Each node's calls arrive in the order it made them.
    for (let n = 0; n < 3; n++) {
      const mine = got.filter((m) => m.startsWith(`${n}:`))
      expect(mine).toEqual(Array.from({ length: 20 }, (_, i) => `${n}:${i}`))
    }
    for (const node of cluster.nodes) {
      await waitUntil(() => Logs.on(node).registered().length === 1)
    }
  })

  it('with replicas, the call that starts a name is its first message, answered once kept', async () => {
    await using cluster = await swormCluster(3, [DurableLogs])
    const calls = cluster.nodes.flatMap((node, n) =>
      Array.from({ length: 10 }, (_, i) => DurableLogs.on(node).call('d', `${n}:${i}`)),
    )
    const answers = await Promise.all(calls)
    expect(new Set(answers).size).toBe(30)
    const firstOf = [0, 1, 2].filter((n) => answers[n * 10] === '1')
    expect(firstOf).toHaveLength(1)
    const got = await DurableLogs.on(cluster.at(0)).call<string[]>('d', 'get')
    expect(got[0]).toBe(`${firstOf[0]}:0`)
    // Names whose only call is the one that starts them: when its answer comes, the name's
    // backup holds its effect already.
    const sworm = DurableLogs.on(cluster.at(0))
    for (let i = 0; i < 8; i++) {
      const name = `e${i}`
      expect(await sworm.call(name, 'only')).toBe('1')
      const owner = cluster.nodes.find((n) => n.id === nodeOf(sworm.whereis(name)!))!
      const backup = DurableLogs.on(owner).supervisor.placementOrder(`s${name}`, 2)[1]
      const holder = cluster.nodes.find((n) => n.id === backup)!
      const copy = DurableLogs.on(holder).replicas!.copies.get(`s${name}`)
      expect(copy && (decodeValue(copy.bytes) as { s: unknown }).s, name).toEqual(['only'])
    }
  })

  it('casts and sends start it too, first message first, in the order sent', async () => {
    await using cluster = await swormCluster(2, [Logs])
    const sworm = Logs.on(cluster.at(1))
    for (let i = 0; i < 10; i++) sworm.cast('y', i)
    sworm.send('y', 'hello')
    sworm.cast('z', 'first')
    expect(await sworm.call('y', 'get')).toEqual([
      ...Array.from({ length: 10 }, (_, i) => i),
      { info: 'hello' },
    ])
    expect(await sworm.call('z', 'get')).toEqual(['first'])
  })

  it('activate says what a name runs, or leaves it NotFound', async () => {
    await using cluster = await swormCluster(2, [Rooms, Mixed, Explicit])
    const rooms = Rooms.on(cluster.at(0))
    expect(await rooms.call('room:1', 'hi')).toBe('room:1#1')
    await expect(rooms.call('none:1', 'hi')).rejects.toBeInstanceOf(NotFound)
    expect(rooms.whereis('none:1')).toBeUndefined()
    // Several types and no activate: a clear error, nothing started.
    await expect(Mixed.on(cluster.at(0)).call('m', 'hi')).rejects.toBeInstanceOf(BadArgument)
    // The default stays: a name nobody holds is NotFound.
    await expect(Explicit.on(cluster.at(0)).call('e', 'hi')).rejects.toBeInstanceOf(NotFound)
    expect(() => Explicit.on(cluster.at(0)).cast('e', 'hi')).toThrow(NotFound)
  })

  it('a name passivated without handoff starts afresh on its next message', async () => {
    await using cluster = await swormCluster(2, [Napping])
    const sworm = Napping.on(cluster.at(0))
    expect(await sworm.call('n', 'a')).toBe('1')
    expect(await sworm.call('n', 'b')).toBe('2')
    await waitUntil(() => sworm.whereis('n') === undefined, 3000, 'the idle name to end')
    expect(await sworm.call('n', 'c')).toBe('1')
  })
})
