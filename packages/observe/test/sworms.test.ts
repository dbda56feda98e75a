// `observe(node)` on a node that runs sworms: it follows them through sworm's public API, those
// started after it at once, and counts their handoffs; a sworm stopped on the node leaves its view.
import { describe, expect, it } from 'vitest'
import { nodeOf, silentLogger } from '@swormjs/actor'
import { Actor, Sworm, startNode } from '@swormjs/sworm'
import { observe } from '../src/index.js'
import { TEST_COOKIE, scrape, valueOf, waitUntil } from './cluster.js'

class Counter extends Actor<undefined> {
  n = 0
  override handleCall(): number {
    return ++this.n
  }
  override beginHandoff(): number {
    return this.n
  }
  override endHandoff(n: number): void {
    this.n = n
  }
}

class Rooms extends Sworm {
  static override options = { handoff: true }
  static override actors = { Counter }
}

class Lobby extends Sworm {
  static override actors = { Counter }
}

const base = { cookie: TEST_COOKIE, logger: silentLogger, host: '127.0.0.1' }

describe("observing a node's sworms", () => {
  it('follows a sworm that starts later at once, and counts the handoffs of one that stops', async () => {
    await using a = await startNode({ ...base, name: 'a', children: [Rooms] })
    await using b = await startNode({ ...base, name: 'b', seeds: [a.url], children: [Rooms] })
    await waitUntil(
      () => [a, b].every((n) => Rooms.on(n).nodes().length === 2),
      5000,
      'Rooms on both nodes',
    )
    using obs = observe(a, { metrics: true })
    using obsB = observe(b, { metrics: false })
    const sworms = (): string[] => obs.state().workers.map((w) => `${w.kind} ${w.name}`)
    expect(sworms()).toEqual(['sworm Rooms'])
    await a.start(Lobby)
    // Told by the sworm's start, not found at the next refresh a second later.
    expect(sworms()).toEqual(['sworm Lobby', 'sworm Rooms'])

    const rooms = Rooms.on(a)
    const names = Array.from({ length: 16 }, (_, i) => `room:${i}`)
    for (const name of names) {
      await rooms.registerName(name, Counter)
      await rooms.call(name, 'inc')
    }
    const onA = names.filter((name) => nodeOf(rooms.whereis(name)!) === a.id)
    expect(onA.length).toBeGreaterThan(0)

    // Rooms stops on node a: its names move to b with their counts, a handoff each.
    await rooms.stop()
    const handoffs = obs.state().events.filter((e) => e.kind === 'handoff')
    expect(handoffs.map((e) => e.name).sort()).toEqual([...onA].sort())
    expect(handoffs.every((e) => e.sworm === 'Rooms' && e.detail === 'with state')).toBe(true)
    const m = await scrape(a)
    expect(valueOf(m, 'sworm_handoffs_total', { node: 'a', sworm: 'Rooms' })).toBe(onA.length)
    expect(valueOf(m, 'sworm_handoffs_total', { node: 'a', sworm: 'Lobby' })).toBe(0)
    // The stopped sworm is no longer followed here.
    expect(sworms()).toEqual(['sworm Lobby'])
    for (const name of onA) expect(await Rooms.on(b).call(name, 'inc')).toBe(2)
    // b's observer lists each move under the name as its user wrote it (`room:3`, not its key).
    const moves = (): string[] =>
      obsB
        .state()
        .events.filter((e) => e.kind === 'move')
        .map((e) => e.name ?? '')
        .sort()
    await waitUntil(() => moves().length === onA.length, 5000, 'the moves on b')
    expect(moves()).toEqual([...onA].sort())
  })
})
