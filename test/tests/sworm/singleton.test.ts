// Singletons: `Jobs.startSingleton(Scheduler)` on every node runs one Scheduler in the cluster;
// it moves with its state when its node leaves and starts again elsewhere, from its newest
// state (replicas), when its node crashes.
import { describe, expect, it } from 'vitest'
import { BadArgument, nodeOf } from '@swormjs/actor'
import { Actor, Sworm } from '@swormjs/sworm'
import { waitUntil } from '../../src/index.js'
import { swormCluster } from './swormCluster.js'

let started = 0

class Scheduler extends Actor<{ everyMs: number }> {
  ticks = 0
  everyMs = 0
  override init(args: { everyMs: number }): void {
    started++
    this.everyMs = args.everyMs
  }
  override handleCall(msg: 'tick' | 'status'): { ticks: number; everyMs: number } {
    if (msg === 'tick') this.ticks++
    return { ticks: this.ticks, everyMs: this.everyMs }
  }
  override beginHandoff(): number {
    return this.ticks
  }
  override endHandoff(ticks: number): void {
    this.ticks = ticks
  }
}

class Stranger extends Actor {}

class Jobs extends Sworm {
  static override actors = { Scheduler }
  static override options = { handoff: true, replicas: 1 }
}

describe('singletons', () => {
  it('every node starting it runs one; it moves on a leave and comes back after a crash', async () => {
    await using cluster = await swormCluster(4, [Jobs])
    started = 0
    const pids = await Promise.all(
      cluster.nodes.map((n) => Jobs.on(n).startSingleton(Scheduler, { everyMs: 1000 })),
    )
    expect(new Set(pids).size).toBe(1)
    expect(started).toBe(1)
    // Where every live node sees it (undefined until they agree: a node learns of a move or an
    // adoption a moment after it happened).
    const at = (): string | undefined => {
      const pids = new Set(cluster.live().map((n) => Jobs.on(n).whereis('singleton:Scheduler')))
      const [pid] = pids
      return pids.size === 1 && pid !== undefined ? nodeOf(pid) : undefined
    }
    const handle = (): ReturnType<typeof Jobs.singleton<typeof Scheduler>> =>
      Jobs.on(cluster.live().find((n) => n.id !== at())!).singleton(Scheduler)
    for (let i = 0; i < 3; i++) await handle().call('tick')
    expect(await handle().call('status')).toEqual({ ticks: 3, everyMs: 1000 })

    // Its node leaves: it moves with its ticks.
    const first = at()!
    await cluster.nodes.find((n) => n.id === first)!.stop()
    await waitUntil(() => at() !== undefined && at() !== first, 5000, 'the singleton to move')
    expect(await handle().call('tick')).toEqual({ ticks: 4, everyMs: 1000 })

    // Its node crashes: it starts again on another, from its newest state (a copy).
    const second = at()!
    await cluster.nodes.find((n) => n.id === second)!.kill()
    await waitUntil(() => at() !== undefined && at() !== second, 10_000, 'the singleton back')
    expect(await handle().call('status')).toEqual({ ticks: 4, everyMs: 1000 })
    // Still one: every live node resolves it to the same pid (what `at` waited for).
    expect(cluster.live()).toHaveLength(2)
    expect(at()).toBeDefined()
  })

  it('a type the sworm does not run is a BadArgument', async () => {
    await using cluster = await swormCluster(1, [Jobs])
    await expect(Jobs.on(cluster.at(0)).startSingleton(Stranger)).rejects.toBeInstanceOf(
      BadArgument,
    )
    expect(() => Jobs.on(cluster.at(0)).singleton(Stranger)).toThrow(BadArgument)
  })
})
