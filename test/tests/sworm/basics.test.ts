// The sworm facade across three nodes in one process: registerName places a worker on the
// node its name hashes to and every node resolves it; calls, unregister, concurrency, init
// failures, restarts and groups, through each node's instance twin (`Rooms.on(node)`).
import { describe, expect, it } from 'vitest'
import {
  AlreadyRegistered,
  BadArgument,
  InitFailed,
  NotFound,
  nodeOf,
  type Pid,
} from '@swormjs/actor'
import { NotSerializable } from '@swormjs/cluster'
import { encodeName } from '@swormjs/registry'
import { UnknownActorType } from '@swormjs/supervisor'
import {
  Actor,
  Sworm,
  SwormInstance,
  SwormNotRunning,
  runSworm,
  type SwormNode,
} from '@swormjs/sworm'
import { waitUntil } from '../../src/index.js'
import { swormCluster } from './swormCluster.js'

class Counter extends Actor<{ start?: number; fail?: boolean } | undefined> {
  n = 0
  override init(args: { start?: number; fail?: boolean } | undefined): void {
    if (args?.fail) throw new Error('no counter today')
    this.n = args?.start ?? 0
  }
  override handleCall(msg: string): unknown {
    if (msg === 'inc') return ++this.n
    if (msg === 'crash') throw new Error('crash on demand')
    return this.n
  }
}

/** Registers `${prefix}0`, `${prefix}1`, … until one lands on `node`; returns that name. */
async function registeredOn(
  rooms: SwormInstance,
  node: SwormNode,
  prefix: string,
): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const pid = await rooms.registerName(`${prefix}${i}`, Counter)
    if (nodeOf(pid) === node.id) return `${prefix}${i}`
  }
  throw new Error(`none of 100 names hashed to ${node.name}`)
}

class Rooms extends Sworm {
  static override actors = { Counter }
}

class Lobby extends Sworm {
  static override actors = { Counter }
}

/** `n` in-process nodes running `Rooms`, as an array (disposed with `await using`). */
async function cluster(n: number): Promise<SwormNode[] & AsyncDisposable> {
  const c = await swormCluster(n, [Rooms])
  return Object.assign(c.nodes, { [Symbol.asyncDispose]: () => c[Symbol.asyncDispose]() })
}

describe('sworm basics', () => {
  it('registers a name: the caller resolves it at once, every node soon after', async () => {
    await using nodes = await cluster(3)
    const pid = await Rooms.on(nodes[1]!).registerName('room:1', Counter, { start: 41 })
    // Read your writes: the reply travels behind the registration, on the caller's socket.
    expect(Rooms.on(nodes[1]!).whereis('room:1')).toBe(pid)
    await waitUntil(
      () => nodes.every((n) => Rooms.on(n).whereis('room:1') === pid),
      2000,
      'replication',
    )
    expect(nodes.some((n) => n.id === nodeOf(pid))).toBe(true)
    expect(await Rooms.on(nodes[2]!).call('room:1', 'inc')).toBe(42)
    expect(Rooms.on(nodes[0]!).registered()).toEqual([['room:1', pid]])
  })

  it('gives one winner and nine AlreadyRegistered naming it to ten concurrent registrations', async () => {
    await using nodes = await cluster(3)
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => Rooms.on(nodes[i % 3]!).registerName('hot', Counter)),
    )
    const won = results.filter((r) => r.status === 'fulfilled') as Array<
      PromiseFulfilledResult<Pid>
    >
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    expect(won).toHaveLength(1)
    expect(lost).toHaveLength(9)
    for (const r of lost) {
      expect(AlreadyRegistered.is(r.reason)).toBe(true)
      expect((r.reason as AlreadyRegistered).pid).toBe(won[0]!.value)
    }
  })

  it('stops the worker on unregisterName, and NotFound for a name nobody holds', async () => {
    await using nodes = await cluster(2)
    const pid = await Rooms.on(nodes[0]!).registerName('gone', Counter)
    await waitUntil(() => Rooms.on(nodes[1]!).whereis('gone') === pid, 2000, 'replication')
    await Rooms.on(nodes[1]!).unregisterName('gone')
    await waitUntil(
      () => nodes.every((n) => Rooms.on(n).whereis('gone') === undefined),
      2000,
      'unregister',
    )
    expect(nodes.some((n) => n.runtime.isAlive(pid))).toBe(false)
    await expect(Rooms.on(nodes[0]!).unregisterName('gone')).rejects.toSatisfy((e: unknown) =>
      NotFound.is(e),
    )
    expect(() => Rooms.on(nodes[0]!).send('gone', 'x')).toThrow(/no process is registered/)
  })

  it('gives the worker’s init error to the caller and leaves nothing registered', async () => {
    await using nodes = await cluster(2)
    await expect(Rooms.on(nodes[0]!).registerName('bad', Counter, { fail: true })).rejects.toThrow(
      /no counter today/,
    )
    expect(Rooms.on(nodes[1]!).whereis('bad')).toBeUndefined()
  })

  it('restarts a crashed worker under the name (transient), with a new pid', async () => {
    await using nodes = await cluster(2)
    const pid = await Rooms.on(nodes[0]!).registerName('phoenix', Counter)
    await expect(Rooms.on(nodes[0]!).call('phoenix', 'crash')).rejects.toThrow()
    await waitUntil(
      () => {
        const now = Rooms.on(nodes[1]!).whereis('phoenix')
        return now !== undefined && now !== pid
      },
      3000,
      'the worker to come back under its name',
    )
  })

  it('refuses a message by name that cannot cross the wire, with a typed error, and goes on', async () => {
    await using nodes = await cluster(2)
    const rooms = Rooms.on(nodes[0]!)
    const name = await registeredOn(rooms, nodes[1]!, 'far')
    expect(() => rooms.send(name, { fn: () => 1 })).toThrow(
      expect.objectContaining({ code: 'NOT_SERIALIZABLE' }),
    )
    await expect(rooms.call(name, { fn: () => 1 })).rejects.toSatisfy((e: unknown) =>
      NotSerializable.is(e),
    )
    expect(await rooms.call(name, 'inc')).toBe(1)
  })

  it('refuses an actor type the sworm does not list, with a typed error naming it', async () => {
    await using nodes = await cluster(2)
    class Stranger extends Actor {}
    await expect(Rooms.on(nodes[0]!).registerName('odd', Stranger as never)).rejects.toSatisfy(
      (e: unknown) => BadArgument.is(e) && /Stranger is not one of sworm Rooms/.test(String(e)),
    )
    expect(Rooms.on(nodes[1]!).whereis('odd')).toBeUndefined()
  })

  it('answers a malformed hold request with false and keeps serving holds', async () => {
    await using nodes = await cluster(2)
    const rooms = Rooms.on(nodes[0]!)
    const router = rooms.registry.infoOf('router').get(nodes[1]!.id) as Pid
    for (const bad of [null, 'hold', { op: 'hold' }, { op: 'hold', items: [[1, 2]] }]) {
      expect(await nodes[0]!.runtime.call(router, bad)).toBe(false)
    }
    expect(await nodes[0]!.runtime.call(router, { op: 'hold', items: [] })).toBe(true)
  })

  it('answers a call held during a move before a call made just after it, as the worker did', async () => {
    // Two callers on one node call the same counter: the first while the name is held, the
    // second in the very turn the hold ends. The worker answers the first with 1 and the second
    // with 2, and the callers must see the answers in that order too.
    await using nodes = await cluster(2)
    const rooms = Rooms.on(nodes[0]!)
    const name = await registeredOn(rooms, nodes[1]!, 'held')
    const delegate = rooms.registry.resolve(name)!.meta as { delegate: Pid }
    const router = rooms.registry.infoOf('router').get(nodes[0]!.id) as Pid
    const items = [[encodeName(name), delegate.delegate]]
    expect(await nodes[0]!.runtime.call(router, { op: 'hold', items })).toBe(true)
    const seen: number[] = []
    const first = rooms.call<number>(name, 'inc').then((n) => seen.push(n))
    let second: Promise<number> | undefined
    const off = rooms.registry.on('register', (n) => {
      if (n !== name || second !== undefined) return
      second = rooms.call<number>(name, 'inc').then((v) => seen.push(v))
    })
    await rooms.unregisterName(name)
    await rooms.registerName(name, Counter)
    await waitUntil(() => second !== undefined, 2000, 'the name registered again')
    await Promise.all([first, second])
    off()
    expect(seen).toEqual([1, 2])
  })

  it('takes only its own actor types by name: constructor and toString are unknown types', async () => {
    await using nodes = await cluster(1)
    const rooms = Rooms.on(nodes[0]!)
    expect(rooms.actorType('Counter')).toBe(Counter)
    for (const type of ['constructor', 'toString', '__proto__']) {
      expect(rooms.actorType(type)).toBeUndefined()
      // A delegate asked for such a type (as a forged start would) fails naming it.
      const key = encodeName(`forged:${type}`)
      await expect(
        rooms.supervisor.startChild({ id: key, type: 'Delegate', args: { key, type, args: 1 } }),
      ).rejects.toSatisfy(
        (e: unknown) => InitFailed.is(e) && UnknownActorType.is(e.reason) && e.reason.type === type,
      )
      expect(rooms.whereis(`forged:${type}`)).toBeUndefined()
    }
  })

  it('lists and announces the sworms of a node, and stops one with await using', async () => {
    await using nodes = await cluster(2)
    const [a, b] = [nodes[0]!, nodes[1]!]
    const started: string[] = []
    const off = SwormInstance.onStart(a, (sworm) => started.push(sworm.name))
    const onB = await runSworm(b, Lobby)
    const names = Array.from({ length: 12 }, (_, i) => `lobby:${i}`)
    let stopped = 0
    {
      await using lobby = await runSworm(a, Lobby)
      expect(started).toEqual(['Lobby'])
      expect(SwormInstance.all(a).map((s) => s.name)).toEqual(['Rooms', 'Lobby'])
      expect(SwormInstance.of(a, 'Lobby')).toBe(lobby)
      lobby.on('stop', () => stopped++)
      await waitUntil(() => lobby.nodes().length === 2, 2000, 'Lobby on both nodes')
      for (const name of names) await lobby.registerName(name, Counter)
      expect(names.some((name) => nodeOf(lobby.whereis(name)!) === a.id)).toBe(true)
    }
    // Disposed: Lobby left node a, and its names moved to b.
    expect(stopped).toBe(1)
    expect(SwormInstance.all(a).map((s) => s.name)).toEqual(['Rooms'])
    expect(() => Lobby.on(a)).toThrow(SwormNotRunning)
    await waitUntil(
      () => names.every((name) => nodeOf(onB.whereis(name) ?? ('' as Pid)) === b.id),
      3000,
      'every name on b',
    )
    off()
  })
})
