// A call never waits forever: a start the target node does not finish within callTimeoutMs
// rejects with SupervisorTimeout, naming the child and the node; and starts sent together are
// not failed together because their children's inits add up past it.
import { describe, expect, it } from 'vitest'
import { Actor } from '@swormjs/actor'
import { DistributedSupervisor, SupervisorTimeout } from '@swormjs/supervisor'
import { testCluster, waitUntil } from '../../src/index.js'

/** Its init never finishes: the node that starts it never answers the start. */
class Stuck extends Actor<void> {
  override init(): Promise<void> {
    return new Promise(() => undefined)
  }
}

/** Its init takes 150 ms (it loads something, say). */
class SlowInit extends Actor<void> {
  override async init(): Promise<void> {
    await new Promise((r) => setTimeout(r, 150))
  }
}

describe('timeouts', () => {
  it('rejects a start that another node does not finish in time with SupervisorTimeout', async () => {
    await using cluster = await testCluster(2)
    const [a, b] = cluster.nodes
    // Only b knows the type, so every start of it goes to b.
    const supA = await DistributedSupervisor.start(a!, 's', { actors: {}, callTimeoutMs: 200 })
    await DistributedSupervisor.start(b!, 's', { actors: { Stuck } })
    await waitUntil(() => supA.stats().members === 2, 5000, 'a to see b’s supervisor')
    const started = Date.now()
    const err = await supA.startChild({ id: 'stuck', type: 'Stuck' }).catch((e: unknown) => e)
    expect(SupervisorTimeout.is(err)).toBe(true)
    expect((err as Error).message).toContain('stuck')
    expect((err as Error).message).toContain(b!.id)
    expect(Date.now() - started).toBeLessThan(3000)
    // Starts sent together (one request) time out together, each naming its own child.
    const ids = ['stuck-a', 'stuck-b', 'stuck-c']
    const errs = await Promise.all(
      ids.map((id) => supA.startChild({ id, type: 'Stuck' }).catch((e: unknown) => e)),
    )
    ids.forEach((id, i) => {
      expect(SupervisorTimeout.is(errs[i])).toBe(true)
      expect((errs[i] as Error).message).toContain(id)
      expect((errs[i] as Error).message).toContain(b!.id)
    })
  })

  it('answers starts sent together in time when their slow inits add up past the timeout', async () => {
    await using cluster = await testCluster(2)
    const [a, b] = cluster.nodes
    const supA = await DistributedSupervisor.start(a!, 's', { actors: {}, callTimeoutMs: 600 })
    const supB = await DistributedSupervisor.start(b!, 's', { actors: { SlowInit } })
    await waitUntil(() => supA.stats().members === 2, 5000, 'a to see b’s supervisor')
    // One goes alone, the next ones together: 7 inits of 150 ms are 1,050 ms, past the 600 ms
    // each start may wait. The node starts them for half of it and answers the rest "again".
    const ids = Array.from({ length: 12 }, (_, i) => `slow-${i}`)
    const results = await Promise.allSettled(
      ids.map((id) => supA.startChild({ id, type: 'SlowInit' })),
    )
    expect(results.filter((r) => r.status === 'rejected')).toEqual([])
    expect(supB.stats().local).toBe(12)
  })
})
