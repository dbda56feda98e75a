// Concurrent starts: thousands of `startChild` calls from several nodes at once all succeed, each
// id once; starting an id that already runs rejects with `AlreadyStarted` carrying its pid, on
// the node that asks and across the wire.
import { beforeEach, describe, expect, it } from 'vitest'
import { nodeOf, type Pid } from '@swormjs/actor'
import { AlreadyStarted } from '@swormjs/supervisor'
import { rejectionOf, testCluster, waitUntil } from '../../src/index.js'
import {
  SETTLE_MS,
  copiesOf,
  eachRunsOnce,
  idsPlacedOn,
  resetCensus,
  startSupervisors,
  viewsAgree,
  worker,
} from './helpers.js'

beforeEach(resetCensus)

describe('concurrent starts', () => {
  it('accepts 2,000 concurrent startChild calls from 3 nodes, each id once', async () => {
    await using cluster = await testCluster(3)
    const sups = await startSupervisors(cluster.nodes)
    const ids = Array.from({ length: 2000 }, (_, i) => `burst-${i}`)
    const results = await Promise.allSettled(
      ids.map((id, i) => sups[i % 3]!.startChild(worker(id))),
    )
    const failed = results.filter((r) => r.status === 'rejected')
    expect(failed).toEqual([])
    const pids = results.map((r) => (r as PromiseFulfilledResult<Pid>).value)
    expect(new Set(pids).size).toBe(2000)
    expect(eachRunsOnce(cluster.nodes, ids)).toBe(true)
    await waitUntil(
      () => viewsAgree(sups) && sups[0]!.countChildren().active === 2000,
      SETTLE_MS,
      'every node to report the 2,000 children',
    )
    expect(Object.keys(sups[0]!.countChildren().byNode)).toHaveLength(3)
  })

  it('rejects a start of a running id with AlreadyStarted and its pid', async () => {
    await using cluster = await testCluster(3)
    const sups = await startSupervisors(cluster.nodes)
    const pid = await sups[0]!.startChild(worker('once'))
    await waitUntil(
      () => viewsAgree(sups) && sups[2]!.countChildren().active === 1,
      SETTLE_MS,
      'replication',
    )
    for (const sup of sups) {
      const e = await rejectionOf(sup.startChild(worker('once')))
      expect(AlreadyStarted.is(e)).toBe(true)
      expect((e as AlreadyStarted).pid).toBe(pid)
      expect((e as AlreadyStarted).message).toContain('once')
    }
    expect(copiesOf(cluster.nodes, 'once')).toEqual([pid])
  })

  it('carries the pid of AlreadyStarted across the wire when two nodes start one id at once', async () => {
    await using cluster = await testCluster(3)
    const sups = await startSupervisors(cluster.nodes)
    // Ids that live on node 2: nodes 0 and 1 both ask node 2, which decides.
    const ids = idsPlacedOn(sups[0]!, cluster.node(2).id, 20, 'race')
    for (const id of ids) {
      const [a, b] = await Promise.allSettled([
        sups[0]!.startChild(worker(id)),
        sups[1]!.startChild(worker(id)),
      ])
      const won = [a, b].filter((r) => r.status === 'fulfilled')
      const lost = [a, b].filter((r) => r.status === 'rejected')
      expect(won).toHaveLength(1)
      expect(lost).toHaveLength(1)
      const pid = (won[0] as PromiseFulfilledResult<Pid>).value
      const e = (lost[0] as PromiseRejectedResult).reason as unknown
      expect(AlreadyStarted.is(e)).toBe(true)
      expect((e as AlreadyStarted).pid).toBe(pid)
      expect(nodeOf(pid)).toBe(cluster.node(2).id)
    }
    expect(eachRunsOnce(cluster.nodes, ids)).toBe(true)
  })

  it('starts one copy when every node starts the same ids at once', async () => {
    await using cluster = await testCluster(3)
    const sups = await startSupervisors(cluster.nodes)
    const ids = Array.from({ length: 300 }, (_, i) => `contended-${i}`)
    const results = await Promise.allSettled(
      ids.flatMap((id) => sups.map((s) => s.startChild(worker(id)))),
    )
    const ok = results.filter((r) => r.status === 'fulfilled')
    expect(ok).toHaveLength(300)
    for (const r of results) {
      if (r.status === 'rejected') expect(AlreadyStarted.is(r.reason)).toBe(true)
    }
    expect(eachRunsOnce(cluster.nodes, ids)).toBe(true)
  })
})
