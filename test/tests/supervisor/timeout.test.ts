// A call never waits forever: a start the target node does not finish within callTimeoutMs
// rejects with SupervisorTimeout, naming the child and the node.
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
  })
})
