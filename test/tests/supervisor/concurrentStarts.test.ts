// Concurrent starts: thousands of `startChild` calls from several nodes at once all succeed, each
// id once; starting an id that already runs rejects with `AlreadyStarted` carrying its pid, on
// the node that asks and across the wire; a burst to one node goes in a few requests, each start
// answered with its own outcome.
import { beforeEach, describe, expect, it } from 'vitest'
import { InitFailed, nodeOf, type Pid } from '@swormjs/actor'
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

  it('sends a burst to one node in a few requests, each start answered with its own outcome', async () => {
    await using cluster = await testCluster(3)
    const sups = await startSupervisors(cluster.nodes)
    const target = cluster.node(2)
    const ids = idsPlacedOn(sups[0]!, target.id, 200, 'batched')
    // Five of them run already (started by their own node), three fail their init.
    const running = new Map<string, Pid>()
    for (const id of ids.slice(0, 5)) running.set(id, await sups[2]!.startChild(worker(id)))
    const failing = new Set(ids.slice(5, 8))
    await waitUntil(
      () => sups[0]!.countChildren().active === 5,
      SETTLE_MS,
      'node 0 to see the five running',
    )
    const before = cluster.node(0).stats().messagesOut
    const results = await Promise.allSettled(
      ids.map((id) =>
        sups[0]!.startChild(failing.has(id) ? { id, type: 'FailsInit', args: { id } } : worker(id)),
      ),
    )
    // Not one call per start: the node's start window (8 at first, one more per quick answer)
    // lets them go in rounds, and each round to the node is one request (10 here, 200 unbatched).
    expect(cluster.node(0).stats().messagesOut - before).toBeLessThan(25)
    ids.forEach((id, i) => {
      const r = results[i]!
      if (running.has(id)) {
        expect(r.status).toBe('rejected')
        const e = (r as PromiseRejectedResult).reason as AlreadyStarted
        expect(AlreadyStarted.is(e)).toBe(true)
        expect(e.pid).toBe(running.get(id))
      } else if (failing.has(id)) {
        expect(r.status).toBe('rejected')
        expect(InitFailed.is((r as PromiseRejectedResult).reason)).toBe(true)
      } else {
        expect(r.status).toBe('fulfilled')
        expect(nodeOf((r as PromiseFulfilledResult<Pid>).value)).toBe(target.id)
      }
    })
    const started = ids.filter((id) => !failing.has(id))
    expect(eachRunsOnce(cluster.nodes, started)).toBe(true)
    ids.forEach((id, i) => {
      if (!running.has(id) && !failing.has(id)) {
        expect(copiesOf(cluster.nodes, id)).toEqual([
          (results[i] as PromiseFulfilledResult<Pid>).value,
        ])
      }
    })
  })
})
