// Passivation: a worker idle for `idleTimeoutMs`, or one that calls `this.passivate()`, stops;
// with handoff its name stays and the next message starts a worker from its state, after which
// it is delivered; messages sent meanwhile wait and are delivered in order; with `replicas` a
// passivated name's state still survives a crash; without handoff the name ends.
import { describe, expect, it } from 'vitest'
import { NotFound, nodeOf, type Pid } from '@swormjs/actor'
import { Actor, ConfigError, Sworm, startNode } from '@swormjs/sworm'
import { waitUntil } from '../../src/index.js'
import { swormCluster } from './swormCluster.js'

/** A counter that keeps what it was sent, in order; `slow` makes its handoff take 100 ms. */
class Tally extends Actor<{ slow?: boolean } | undefined> {
  seen: number[] = []
  slow = false
  override init(args?: { slow?: boolean }): void {
    this.slow = args?.slow === true
  }
  override async handleCall(msg: unknown): Promise<unknown> {
    if (typeof msg === 'number') {
      this.seen.push(msg)
      return this.seen.length
    }
    if (msg === 'join') {
      await Sleepy.join('tallies', this.self)
      return true
    }
    return this.seen
  }
  override handleCast(msg: unknown): void {
    if (typeof msg === 'number') this.seen.push(msg)
    if (msg === 'sleep') this.passivate()
  }
  override async beginHandoff(): Promise<unknown> {
    if (this.slow) await new Promise((r) => setTimeout(r, 100))
    return this.seen
  }
  override endHandoff(seen: number[]): void {
    this.seen = seen
  }
}

class Sleepy extends Sworm {
  static override actors = { Tally }
  static override options = { handoff: true, idleTimeoutMs: 300 }
}

class Kept extends Sworm {
  static override actors = { Tally }
  static override options = { handoff: true, replicas: 1, idleTimeoutMs: 300 }
}

class Gone extends Sworm {
  static override actors = { Tally }
  static override options = { idleTimeoutMs: 300 }
}

describe('passivation', () => {
  it('stops an idle worker; the next call starts one from its state, groups and all', async () => {
    await using cluster = await swormCluster(2, [Sleepy])
    const sworm = Sleepy.on(cluster.at(0))
    const first = await sworm.registerName('t', Tally)
    expect(await sworm.call('t', 1)).toBe(1)
    expect(await sworm.call('t', 'join')).toBe(true)
    expect(await sworm.call('t', 2)).toBe(2)
    const host = cluster.nodes.find((n) => n.id === nodeOf(first))!
    // Busy: calls every 100 ms keep it awake past the bound.
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 100))
      await sworm.call('t', 'get')
    }
    expect(host.runtime.isAlive(first)).toBe(true)
    // Idle: it goes; the name stays, resting on its delegate (whereis names it).
    await waitUntil(() => !host.runtime.isAlive(first), 3000, 'the idle worker to stop')
    await waitUntil(() => sworm.whereis('t') !== first && sworm.whereis('t') !== undefined)
    expect(sworm.members('tallies')).toEqual([])
    // The next message wakes it, with its state and its groups.
    expect(await sworm.call('t', 3)).toBe(3)
    expect(await sworm.call('t', 'get')).toEqual([1, 2, 3])
    const second = sworm.whereis('t')!
    expect(second).not.toBe(first)
    expect(host.runtime.isAlive(second)).toBe(true)
    await waitUntil(() => sworm.members('tallies').length === 1)
    expect(sworm.members('tallies')).toEqual([second])
  })

  it('this.passivate(): the worker stops; what was sent meanwhile waits and comes in order', async () => {
    await using cluster = await swormCluster(2, [Sleepy])
    const caller = Sleepy.on(cluster.at(1))
    const first = await Sleepy.on(cluster.at(0)).registerName('t', Tally, { slow: true })
    await waitUntil(() => caller.whereis('t') === first)
    caller.cast('t', 'sleep')
    // Sent while the worker hands over its state (100 ms) and stops: none lost, none reordered.
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => caller.call('t', i)))
    expect(answers).toEqual(Array.from({ length: 50 }, (_, i) => i + 1))
    expect(await caller.call('t', 'get')).toEqual(Array.from({ length: 50 }, (_, i) => i))
    const host = cluster.nodes.find((n) => n.id === nodeOf(first))!
    expect(host.runtime.isAlive(first)).toBe(false)
  })

  it('with replicas, a passivated name survives its node crashing, with its state', async () => {
    await using cluster = await swormCluster(3, [Kept])
    const sworm = Kept.on(cluster.at(0))
    const names = Array.from({ length: 6 }, (_, i) => `k${i}`)
    const pids = new Map<string, Pid>()
    for (const name of names) {
      pids.set(name, await sworm.registerName(name, Tally))
      await sworm.call(name, 7)
      sworm.cast(name, 'sleep')
    }
    for (const name of names) {
      await waitUntil(() => sworm.whereis(name) !== pids.get(name), 3000, `${name} asleep`)
    }
    const victim = cluster.nodes.find(
      (n) => n !== cluster.at(0) && names.some((name) => nodeOf(pids.get(name)!) === n.id),
    )
    if (victim === undefined) return // every name hashed to node 0: nothing to crash here
    await victim.kill()
    for (const name of names) {
      await waitUntil(
        () => {
          const pid = sworm.whereis(name)
          return pid !== undefined && nodeOf(pid) !== victim.id
        },
        10_000,
        `${name} adopted`,
      )
      expect(await sworm.call(name, 'get')).toEqual([7])
    }
  })

  it('a passivated name moves with its state when its node leaves', async () => {
    await using cluster = await swormCluster(2, [Sleepy])
    const stays = Sleepy.on(cluster.at(0))
    let name = ''
    for (let i = 0; name === ''; i++) {
      const pid = await stays.registerName(`m${i}`, Tally)
      if (nodeOf(pid) === cluster.at(1).id) name = `m${i}`
    }
    await waitUntil(() => stays.whereis(name) !== undefined)
    await stays.call(name, 5)
    stays.cast(name, 'sleep')
    const worker = stays.whereis(name)!
    await waitUntil(() => !cluster.at(1).runtime.isAlive(worker), 3000, 'the worker to stop')
    await cluster.at(1).stop()
    await waitUntil(
      () => stays.whereis(name) !== undefined && nodeOf(stays.whereis(name)!) === cluster.at(0).id,
    )
    expect(await stays.call(name, 'get')).toEqual([5])
  })

  it('passivates every one of many workers that fall idle together, each with its state', async () => {
    // 1,000 names touched in one loop fall idle within a few ms of each other: their
    // passivations pass one gate, a slice's worth per turn, and none is skipped.
    await using cluster = await swormCluster(1, [Sleepy])
    const sworm = Sleepy.on(cluster.at(0))
    const node = cluster.at(0)
    const n = 1000
    const base = node.runtime.processCount
    for (let i = 0; i < n; i++) await sworm.registerName(`many${i}`, Tally)
    for (let i = 0; i < n; i++) sworm.cast(`many${i}`, i)
    // Awake: a delegate and a worker per name; asleep: the delegate only.
    await waitUntil(() => node.runtime.processCount - base === 2 * n, 3000, 'every worker up')
    await waitUntil(() => node.runtime.processCount - base === n, 10_000, 'every worker asleep')
    for (const i of [0, 499, 999]) expect(await sworm.call(`many${i}`, 'get')).toEqual([i])
  })

  it('without handoff, an idle worker ends its name', async () => {
    await using cluster = await swormCluster(2, [Gone])
    const sworm = Gone.on(cluster.at(0))
    await sworm.registerName('g', Tally)
    expect(await sworm.call('g', 1)).toBe(1)
    await waitUntil(() => sworm.whereis('g') === undefined, 3000, 'the name to end')
    await expect(sworm.call('g', 2)).rejects.toBeInstanceOf(NotFound)
    // And it can be registered again, afresh.
    await sworm.registerName('g', Tally)
    expect(await sworm.call('g', 2)).toBe(1)
  })

  it('idleTimeoutMs must be a duration', async () => {
    class Bad extends Sworm {
      static override actors = { Tally }
      static override options = { idleTimeoutMs: -1 }
    }
    await expect(startNode({ children: [Bad] })).rejects.toBeInstanceOf(ConfigError)
  })
})
