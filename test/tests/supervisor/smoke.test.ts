import { it, expect } from 'vitest'
import { Actor } from '@sworm/actor'
import { DistributedSupervisor } from '@sworm/supervisor'
import { testCluster, waitUntil } from '../../src/index.js'

class Worker extends Actor<number> {
  n = 0
  override init(n: number) {
    this.n = n
  }
  override handleCall() {
    return this.n
  }
}

it('smoke', async () => {
  await using c = await testCluster(3)
  const sups = await Promise.all(
    c.nodes.map((n) => DistributedSupervisor.start(n, 's', { actors: { Worker } })),
  )
  const [a, b] = sups as [DistributedSupervisor, DistributedSupervisor, DistributedSupervisor]
  await waitUntil(() => sups.every((s) => s.stats().members === 3), 2000, 'members')
  const N = 3000
  let t = performance.now()
  await Promise.all(
    Array.from({ length: N }, (_, i) => a.startChild({ id: 'c' + i, type: 'Worker', args: i })),
  )
  console.log('startChild/s', N / ((performance.now() - t) / 1000))
  await waitUntil(() => b.countChildren().active === N, 3000, 'count')
  console.log('byNode', Object.values(b.countChildren().byNode))
  await expect(a.startChild({ id: 'c1', type: 'Worker' })).rejects.toThrow(/already runs/)
  const victim = c.node(2)
  const lost = sups[2]!.stats().local
  t = performance.now()
  await victim.kill()
  await waitUntil(
    () =>
      !c.node(0).isUp(victim.id) &&
      !c.node(1).isUp(victim.id) &&
      a.countChildren().active === N &&
      b.countChildren().active === N,
    5000,
    'adoption',
  )
  console.log('adopted', lost, 'in ms', performance.now() - t)
  expect(new Set(a.whichChildren().map((x) => x.id)).size).toBe(N)
  const pid = a.whichChildren().find((x) => x.id === 'c7')!.pid
  expect(await c.node(0).runtime.call(pid, 'x')).toBe(7)
})
