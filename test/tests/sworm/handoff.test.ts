// Handoff across in-process nodes: a name whose node stops gracefully moves with its state
// (`beginHandoff`/`endHandoff`, or the `sworm:*` messages in `handleInfo`), the handed-over
// state comes before any other message, nothing sent to a name during its move is lost, a
// worker that does not answer moves without state, and groups follow the worker.
import { describe, expect, it } from 'vitest'
import { Actor as BaseActor, nodeOf, silentLogger, type Pid } from '@swormjs/actor'
import { Actor, Sworm, startNode, type SwormNode } from '@swormjs/sworm'
import { encodeName } from '@swormjs/registry'
import { rendezvous } from '@swormjs/supervisor/internal'
import { TEST_COOKIE, waitUntil } from '../../src/index.js'
import { swormCluster } from './swormCluster.js'

/** A counter that hands its count over, and remembers the first message it saw. */
class Counter extends Actor<{ start?: number } | undefined> {
  n = 0
  first: unknown
  seen: number[] = []
  override init(args: { start?: number } | undefined): void {
    this.n = args?.start ?? 0
  }
  override handleCall(msg: unknown): unknown {
    this.first ??= msg
    if (msg === 'inc') return ++this.n
    if (msg === 'first') return this.first
    if (msg === 'seen') return this.seen
    return this.n
  }
  override handleCast(msg: unknown): void {
    this.first ??= msg
    if (typeof msg === 'number') this.seen.push(msg)
  }
  override beginHandoff(): unknown {
    return { n: this.n, seen: this.seen }
  }
  override endHandoff(state: { n: number; seen: number[] }): void {
    this.first ??= 'end_handoff'
    this.n = state.n
    this.seen = state.seen
  }
}

/** The same counter with the message protocol only, as any actor can speak it. */
class PlainCounter extends BaseActor {
  n = 0
  override handleCall(msg: unknown): unknown {
    return msg === 'inc' ? ++this.n : this.n
  }
  override handleInfo(msg: unknown): void {
    const m = msg as { type?: string; delegate?: Pid; ref?: string; state?: number }
    if (m.type === 'sworm:begin_handoff') {
      this.send(m.delegate!, { type: 'sworm:handoff_state', ref: m.ref, state: this.n })
    } else if (m.type === 'sworm:end_handoff') {
      this.n = m.state!
    }
  }
}

/** Never answers `sworm:begin_handoff`. */
class Mute extends BaseActor {
  n = 0
  override handleCall(): unknown {
    return ++this.n
  }
  override handleInfo(): void {}
}

class Rooms extends Sworm {
  static override options = { handoff: true, handoffTimeoutMs: 300 }
  static override actors = { Counter, PlainCounter, Mute }
}

class Plain extends Sworm {
  static override actors = { Counter }
}

class Spread extends Sworm {
  static override options = { handoff: true, redistribution: 'active' as const }
  static override actors = { Counter }
}

/** A name hosted by node `host` of `nodes` (registered from node 0 until one lands there). */
async function nameOn(
  nodes: SwormNode[],
  host: number,
  register: (name: string) => Promise<Pid>,
): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const name = `room:${host}:${i}`
    const pid = await register(name)
    if (nodeOf(pid) === nodes[host]!.id) return name
  }
  throw new Error(`no name hashed to node ${host}`)
}

describe('handoff', () => {
  it('moves a counter at 4 with its count when its node stops gracefully, state first', async () => {
    await using c = await swormCluster(3, [Rooms])
    const rooms = Rooms.on(c.at(0))
    const name = await nameOn(c.nodes, 2, (n) => rooms.registerName(n, Counter))
    for (let i = 0; i < 4; i++) await rooms.call(name, 'inc')
    const before = rooms.whereis(name)
    await c.at(2).stop()
    await waitUntil(
      () => {
        const pid = rooms.whereis(name)
        return pid !== undefined && pid !== before
      },
      3000,
      'the name to resolve on another node',
    )
    expect(await rooms.call(name, 'get')).toBe(4)
    expect(await rooms.call(name, 'first')).toBe('end_handoff')
  })

  it('speaks the sworm:* messages to an actor that handles them in handleInfo', async () => {
    await using c = await swormCluster(2, [Rooms])
    const rooms = Rooms.on(c.at(0))
    const name = await nameOn(c.nodes, 1, (n) => rooms.registerName(n, PlainCounter))
    for (let i = 0; i < 4; i++) await rooms.call(name, 'inc')
    await c.at(1).stop()
    await waitUntil(() => nodeOf(rooms.whereis(name) ?? ('' as Pid)) === c.at(0).id, 3000, 'move')
    expect(await rooms.call(name, 'get')).toBe(4)
  })

  it('starts afresh on the next node when handoff is off', async () => {
    await using c = await swormCluster(2, [Plain])
    const plain = Plain.on(c.at(0))
    const name = await nameOn(c.nodes, 1, (n) => plain.registerName(n, Counter))
    for (let i = 0; i < 4; i++) await plain.call(name, 'inc')
    await c.at(1).stop()
    await waitUntil(() => nodeOf(plain.whereis(name) ?? ('' as Pid)) === c.at(0).id, 3000, 'move')
    expect(await plain.call(name, 'get')).toBe(0)
  })

  it('moves a worker that never answers without its state, after handoffTimeoutMs', async () => {
    await using c = await swormCluster(2, [Rooms])
    const rooms = Rooms.on(c.at(0))
    const name = await nameOn(c.nodes, 1, (n) => rooms.registerName(n, Mute))
    await rooms.call(name, 'inc')
    const t0 = Date.now()
    await c.at(1).stop()
    await waitUntil(() => nodeOf(rooms.whereis(name) ?? ('' as Pid)) === c.at(0).id, 3000, 'move')
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250)
    expect(await rooms.call(name, 1)).toBe(1)
  })

  it('loses nothing sent by name while names move: every cast arrives once, in order', async () => {
    await using c = await swormCluster(3, [Rooms])
    const rooms = Rooms.on(c.at(0))
    const names: string[] = []
    for (let i = 0; i < 60; i++) {
      names.push(`n${i}`)
      await rooms.registerName(`n${i}`, Counter)
    }
    const leaving = c.at(2)
    const moved = names.filter((n) => nodeOf(rooms.whereis(n)!) === leaving.id)
    expect(moved.length).toBeGreaterThan(5)
    const sent = 300
    let stopped: Promise<void> | undefined
    const calls: Array<Promise<unknown>> = []
    for (let k = 0; k < sent; k++) {
      for (const n of names) rooms.cast(n, k)
      // Calls ride along: those made during the move are answered by the next worker.
      if (k % 50 === 0) for (const n of moved) calls.push(rooms.call(n, 'get'))
      if (k === 100) stopped = leaving.stop()
      if (k % 10 === 0) await new Promise((r) => setImmediate(r))
    }
    await stopped
    await Promise.all(calls)
    const expected = Array.from({ length: sent }, (_, k) => k)
    // A call by name follows this node's casts to the name: it sees all of them, in order.
    for (const n of names) expect(await rooms.call(n, 'seen')).toEqual(expected)
  })

  it('keeps the groups of a worker when it moves', async () => {
    await using c = await swormCluster(2, [Rooms])
    const rooms = Rooms.on(c.at(0))
    const name = await nameOn(c.nodes, 1, (n) => rooms.registerName(n, Counter))
    const pid = rooms.whereis(name)!
    await Rooms.on(c.at(1)).join('lobby', pid)
    await waitUntil(() => rooms.members('lobby').includes(pid), 2000, 'the join')
    await c.at(1).stop()
    await waitUntil(() => nodeOf(rooms.whereis(name) ?? ('' as Pid)) === c.at(0).id, 3000, 'move')
    expect(rooms.members('lobby')).toEqual([rooms.whereis(name)])
  })

  it('moves the names of a node that stops running the sworm, the node staying up', async () => {
    await using c = await swormCluster(2, [Rooms])
    const rooms = Rooms.on(c.at(0))
    const name = await nameOn(c.nodes, 1, (n) => rooms.registerName(n, Counter))
    await rooms.call(name, 'inc')
    await Rooms.on(c.at(1)).stop()
    expect(nodeOf(rooms.whereis(name)!)).toBe(c.at(0).id)
    expect(await rooms.call(name, 'get')).toBe(1)
    expect(rooms.supervisor.stats().members).toBe(1)
    // New names now go only to the node that still runs the sworm.
    for (let i = 0; i < 10; i++) {
      expect(nodeOf(await rooms.registerName(`after${i}`, Counter))).toBe(c.at(0).id)
    }
  })

  it('moves names with their state to a node that joins, under active redistribution', async () => {
    await using c = await swormCluster(2, [Spread])
    const spread = Spread.on(c.at(0))
    const names = Array.from({ length: 40 }, (_, i) => `spread${i}`)
    for (const n of names) {
      await spread.registerName(n, Counter, { start: 0 })
      await spread.call(n, 'inc')
      await spread.call(n, 'inc')
    }
    const joined = await startNode({
      name: 's2',
      cookie: TEST_COOKIE,
      logger: silentLogger,
      children: [Spread],
      seeds: [c.at(0).url],
    })
    try {
      // Where the hash sends each name now that three nodes run the sworm.
      await waitUntil(() => spread.nodes().length === 3, 5000, 'the new node in the directory')
      const members = spread.nodes()
      const there = names.filter((n) => rendezvous(encodeName(n), members) === joined.id)
      expect(there.length).toBeGreaterThan(0)
      await waitUntil(
        () => there.every((n) => nodeOf(spread.whereis(n) ?? ('' as Pid)) === joined.id),
        5000,
        'the names that hash to the new node to move there',
      )
      // Each arrived with its count, and the others kept theirs.
      for (const n of names) expect(await spread.call(n, 'get')).toBe(2)
    } finally {
      await joined.stop()
    }
  })
})
