// What Sworm's and Swarm's own tests check, ported to in-process nodes: whereisOrRegisterName
// starts once, groups (also joined from inside the worker), restart policies of a killed worker,
// two sworms side by side, only nodes that run a sworm host its processes, a plain process
// registered by pid, and a send to an unknown name.
import { describe, expect, it } from 'vitest'
import {
  Actor as BaseActor,
  AlreadyRegistered,
  NotFound,
  nodeOf,
  silentLogger,
  type Pid,
} from '@swormjs/actor'
import { Actor, Sworm, SwormNotRunning, startNode, type SwormNode } from '@swormjs/sworm'
import { TEST_COOKIE, pause, rejectionOf, waitUntil } from '../../src/index.js'
import { swormCluster } from './swormCluster.js'

/** Every Counter init in this OS process, by name: the ground truth behind "starts once". */
const inits = new Map<string, number>()

/**
 * A counter that can join groups through the static API, from its `init` (`joinOnInit`) or
 * from a call (`{ join }` / `{ leave }`): the statics bind to the worker's own node.
 */
class Counter extends Actor<{ name?: string; joinOnInit?: string } | undefined> {
  n = 0
  override async init(args: { name?: string; joinOnInit?: string } | undefined): Promise<void> {
    if (args?.name !== undefined) inits.set(args.name, (inits.get(args.name) ?? 0) + 1)
    if (args?.joinOnInit !== undefined) await Rooms.join(args.joinOnInit, this.self)
  }
  override async handleCall(msg: unknown): Promise<unknown> {
    if (msg === 'inc') return ++this.n
    if (typeof msg === 'object' && msg !== null) {
      const m = msg as { join?: string; leave?: string }
      if (m.join !== undefined) await Rooms.join(m.join, this.self)
      if (m.leave !== undefined) await Rooms.leave(m.leave, this.self)
      return 'ok'
    }
    return this.n
  }
}

class Rooms extends Sworm {
  static override actors = { Counter }
}

class Lobby extends Sworm {
  static override actors = { Counter }
}

class Once extends Sworm {
  static override options = { restart: 'temporary' as const }
  static override actors = { Counter }
}

/** A process that is not a sworm worker: started on its own, then registered by pid. */
class Plain extends BaseActor {
  override handleCall(): unknown {
    return 'plain'
  }
}

/** Resolves once every node resolves `name` to `pid` (undefined: to nothing). */
function agreed(nodes: SwormNode[], sworm: typeof Sworm, name: string, pid: Pid | undefined) {
  return () => nodes.every((n) => sworm.on(n).whereis(name) === pid)
}

describe('ported from Sworm and Swarm', () => {
  it('starts one worker for ten concurrent whereisOrRegisterName calls from three nodes', async () => {
    await using c = await swormCluster(3, [Rooms])
    inits.delete('once')
    const pids = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        Rooms.on(c.at(i % 3)).whereisOrRegisterName('once', Counter, { name: 'once' }),
      ),
    )
    expect(new Set(pids).size).toBe(1)
    expect(inits.get('once')).toBe(1)
    await waitUntil(agreed(c.nodes, Rooms, 'once', pids[0]), 2000, 'replication')
    // Once it runs, whereisOrRegisterName resolves it without starting another.
    expect(await Rooms.on(c.at(2)).whereisOrRegisterName('once', Counter, { name: 'once' })).toBe(
      pids[0],
    )
    expect(inits.get('once')).toBe(1)
  })

  it('lists group members 1 → 2 → 1 as workers join and leave, also from inside the worker', async () => {
    await using c = await swormCluster(2, [Rooms])
    const [a, b] = [Rooms.on(c.at(0)), Rooms.on(c.at(1))]
    // The first joins from its own init, through the static `Rooms.join`.
    const first = await a.registerName('w1', Counter, { joinOnInit: 'lobby' })
    await waitUntil(() => b.members('lobby').length === 1, 2000, 'the join from init')
    expect(b.members('lobby')).toEqual([first])

    // The second joins from a handler, also through the static API.
    const second = await a.registerName('w2', Counter)
    expect(await a.call('w2', { join: 'lobby' })).toBe('ok')
    await waitUntil(() => b.members('lobby').length === 2, 2000, 'the join from a handler')
    expect(b.members('lobby').sort()).toEqual([first, second].sort())
    expect(b.publish('lobby', 'hello')).toBe(2)

    // Leaving is idempotent; the instance twin works from any node, for a worker of any node.
    await b.leave('lobby', first)
    await b.leave('lobby', first)
    await waitUntil(() => a.members('lobby').length === 1, 2000, 'the leave')
    expect(a.members('lobby')).toEqual([second])
    const replies = await a.multiCall('lobby', 'get')
    expect(replies).toEqual([{ pid: second, ok: true, value: 0 }])

    // The worker leaves from inside too.
    expect(await b.call('w2', { leave: 'lobby' })).toBe('ok')
    await waitUntil(() => a.members('lobby').length === 0, 2000, 'the leave from a handler')
  })

  it('re-registers a killed worker under transient, and drops it under temporary', async () => {
    await using c = await swormCluster(2, [Rooms, Once])
    const kill = (pid: Pid): void =>
      c.nodes.find((n) => n.id === nodeOf(pid))!.runtime.exit(pid, 'kill')

    const first = await Rooms.on(c.at(0)).registerName('phoenix', Counter)
    await Rooms.on(c.at(0)).call('phoenix', 'inc')
    await waitUntil(agreed(c.nodes, Rooms, 'phoenix', first), 2000, 'replication')
    kill(first)
    await waitUntil(
      () => c.nodes.every((n) => ![undefined, first].includes(Rooms.on(n).whereis('phoenix'))),
      3000,
      'a new worker under the name on every node',
    )
    // A new worker, from scratch (no handoff on a crash).
    expect(await Rooms.on(c.at(1)).call('phoenix', 'get')).toBe(0)

    const once = await Once.on(c.at(0)).registerName('once', Counter)
    await waitUntil(agreed(c.nodes, Once, 'once', once), 2000, 'replication')
    kill(once)
    await waitUntil(agreed(c.nodes, Once, 'once', undefined), 2000, 'the name to go')
    // Given time to come back (the transient one above did within this), it stays gone.
    await pause(300)
    for (const n of c.nodes) {
      expect(Once.on(n).whereis('once')).toBeUndefined()
      expect(Once.on(n).supervisor.whichChildren()).toEqual([])
    }
  })

  it('keeps the names of two sworms of one cluster apart', async () => {
    await using c = await swormCluster(2, [Rooms, Lobby])
    const room = await Rooms.on(c.at(0)).registerName('shared', Counter)
    await Rooms.on(c.at(0)).call('shared', 'inc')
    await waitUntil(agreed(c.nodes, Rooms, 'shared', room), 2000, 'replication')
    for (const n of c.nodes) {
      expect(Lobby.on(n).whereis('shared')).toBeUndefined()
      expect(Lobby.on(n).registered()).toEqual([])
    }
    // The same name is free in the other sworm, and is another worker there.
    const lobby = await Lobby.on(c.at(1)).registerName('shared', Counter)
    expect(lobby).not.toBe(room)
    await waitUntil(agreed(c.nodes, Lobby, 'shared', lobby), 2000, 'replication')
    expect(await Lobby.on(c.at(0)).call('shared', 'get')).toBe(0)
    expect(await Rooms.on(c.at(1)).call('shared', 'get')).toBe(1)
    await Lobby.on(c.at(0)).unregisterName('shared')
    await waitUntil(agreed(c.nodes, Lobby, 'shared', undefined), 2000, 'the unregister')
    expect(Rooms.on(c.at(1)).whereis('shared')).toBe(room)
  })

  it('never places a name on a node that does not run the sworm', async () => {
    // Node 0 runs Rooms from the start, node 1 starts it later (`node.start`), node 2 runs
    // another sworm only.
    const nodes: SwormNode[] = []
    const start = async (children: Array<typeof Sworm>): Promise<SwormNode> => {
      const node = await startNode({
        name: `s${nodes.length}`,
        cookie: TEST_COOKIE,
        logger: silentLogger,
        children,
        seeds: nodes.length === 0 ? [] : [nodes[0]!.url],
      })
      nodes.push(node)
      return node
    }
    await using _ = {
      async [Symbol.asyncDispose]() {
        await Promise.all(nodes.map((n) => n.stop()))
      },
    }
    const [a, b, outsider] = [await start([Rooms]), await start([]), await start([Lobby])]
    await b.start(Rooms)
    await waitUntil(
      () =>
        nodes.every((n) => n.nodes().filter((p) => p.status === 'up').length === 2) &&
        [a, b].every((n) => Rooms.on(n).supervisor.stats().members === 2),
      5000,
      'the mesh, and Rooms on two nodes',
    )
    expect(() => Rooms.on(outsider)).toThrow(SwormNotRunning)

    const pids: Pid[] = []
    for (let i = 0; i < 100; i++) {
      pids.push(await Rooms.on(i % 2 === 0 ? a : b).registerName(`room:${i}`, Counter))
    }
    const hosts = new Set(pids.map((p) => nodeOf(p)))
    expect(hosts).toEqual(new Set([a.id, b.id]))
    expect(outsider.runtime.processes().filter((p) => pids.includes(p))).toEqual([])
  })

  it('registers a running process by pid: not moved, not restarted, gone when it exits', async () => {
    await using c = await swormCluster(3, [Rooms])
    const plainOn = (i: number): Promise<Pid> => c.at(i).runtime.start(Plain, undefined)

    // Gone when it exits, and not restarted.
    const first = await plainOn(1)
    expect(await Rooms.on(c.at(1)).registerName('plain', first)).toBe(first)
    await waitUntil(agreed(c.nodes, Rooms, 'plain', first), 2000, 'replication')
    expect(await Rooms.on(c.at(0)).call('plain', 'hi')).toBe('plain')
    const taken = await rejectionOf(Rooms.on(c.at(1)).registerName('plain', await plainOn(1)))
    expect(AlreadyRegistered.is(taken) && taken.pid).toBe(first)
    c.at(1).runtime.exit(first, 'kill')
    await waitUntil(agreed(c.nodes, Rooms, 'plain', undefined), 2000, 'the name to go')
    await pause(300)
    expect(c.nodes.map((n) => Rooms.on(n).whereis('plain'))).toEqual([
      undefined,
      undefined,
      undefined,
    ])

    // Not moved when its node stops: the name goes with it.
    const second = await plainOn(2)
    await Rooms.on(c.at(2)).registerName('plain', second)
    await waitUntil(agreed(c.nodes, Rooms, 'plain', second), 2000, 'replication')
    await c.at(2).stop()
    const rest = c.nodes.slice(0, 2)
    await waitUntil(agreed(rest, Rooms, 'plain', undefined), 2000, 'the name to go with its node')
    await pause(300)
    expect(rest.map((n) => Rooms.on(n).whereis('plain'))).toEqual([undefined, undefined])
  })

  it('throws NotFound on a send, cast or call to a name nobody holds', async () => {
    await using c = await swormCluster(1, [Rooms])
    const rooms = Rooms.on(c.at(0))
    const thrown = (f: () => void): unknown => {
      try {
        f()
      } catch (e) {
        return e
      }
      return undefined
    }
    expect(NotFound.is(thrown(() => rooms.send('nobody', 'x')))).toBe(true)
    expect(NotFound.is(thrown(() => rooms.cast('nobody', 'x')))).toBe(true)
    expect(NotFound.is(await rejectionOf(rooms.call('nobody', 'x')))).toBe(true)
  })
})
