// Compaction of a supervisor's doc: once removals outweigh the children a node runs, it moves
// its doc to a new generation holding only them, in steps, while children come and go.
import { beforeEach, describe, expect, it } from 'vitest'
import { testCluster, waitUntil } from '../../src/index.js'
import {
  SETTLE_MS,
  eachRunsOnce,
  idsPlacedOn,
  resetCensus,
  startSupervisors,
  view,
  worker,
} from './helpers.js'

beforeEach(resetCensus)

describe('supervisor compaction', () => {
  it('compacts while children stop and start, and every node sees exactly those left', async () => {
    await using cluster = await testCluster(2)
    const sups = await startSupervisors(cluster.nodes, { compactMinDead: 20 })
    const [a, b] = sups as [(typeof sups)[0], (typeof sups)[0]]
    const n0 = cluster.node(0)
    const ids = idsPlacedOn(a, n0.id, 400, 'c')
    await Promise.all(ids.slice(0, 300).map((id) => a.startChild(worker(id))))
    const gen = a.stats().generation

    // Removals pass the children left half-way: a compaction starts while the rest stop, and
    // while new ones start.
    await Promise.all([
      ...ids.slice(0, 200).map((id) => a.terminateChild(id)),
      ...ids.slice(300).map((id) => a.startChild(worker(id))),
    ])
    const left = ids.slice(200)
    await waitUntil(
      () =>
        a.stats().generation > gen && [a, b].every((s) => s.countChildren().active === left.length),
      SETTLE_MS,
      'a compaction, and both nodes to see the children left',
    )
    expect(view(a).map(([id]) => id)).toEqual([...left].sort())
    expect(view(b)).toEqual(view(a))
    expect(eachRunsOnce(cluster.nodes, left)).toBe(true)
    // n1 follows n0's latest generation only, and it holds the children left and nothing else.
    const latest = `supervisor/s/${n0.id}/${a.stats().generation}`
    await waitUntil(
      () => {
        const held = cluster
          .node(1)
          .docs.names(n0.id)
          .filter((d) => d.startsWith('supervisor/s/'))
        return held.length === 1 && held[0] === latest
      },
      SETTLE_MS,
      'n1 to follow the latest generation only',
    )
    const children = cluster.node(1).docs.get(latest)!.getMap('children')
    expect([...children.keys()].sort()).toEqual([...left].sort())
  })
})
