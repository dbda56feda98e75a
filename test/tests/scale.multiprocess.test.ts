// A busy node is not a dead node, at ten nodes: ten node processes on 127.0.0.1, each seeded to
// the first, one sworm with handoff on; one node registers 10,000 names while two others register
// 3,000 each, all at once. Every registration succeeds, no node is taken down, and afterwards every
// node resolves the same 16,000 names to the same pids.
//
// SWORM_SCALE_BURST scales the counts (a fraction of the full size, `1` by default): CI runs the
// full size; a slow machine may set `0.3`. The `scale` benchmark suite runs the same burst.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import {
  burst,
  explain,
  killAllChildren,
  membershipEvents,
  scaleCluster,
  scaleNodeScript,
  settledDigests,
} from '../src/index.js'

if (!existsSync(fileURLToPath(scaleNodeScript))) {
  throw new Error(`${fileURLToPath(scaleNodeScript)} is missing: build first (npm test builds)`)
}

afterAll(killAllChildren)

const SCALE = Number(process.env['SWORM_SCALE_BURST'] ?? '1')
const NODES = 10
/** Node 0 registers `BIG` names; nodes 4 and 7 register `SMALL` each, all at the same time. */
const BIG = Math.max(1, Math.round(10_000 * SCALE))
const SMALL = Math.max(1, Math.round(3_000 * SCALE))
/** Each node's heap: ten processes on a small CI machine. */
const MAX_OLD_SPACE_MB = 256

describe('ten node processes under a registration burst', () => {
  it(
    `registers ${BIG} + 2 × ${SMALL} names from three nodes at once, takes no node down, and every node agrees on them`,
    { timeout: 120_000 },
    async () => {
      await using cluster = await scaleCluster({ nodes: NODES, maxOldSpaceMb: MAX_OLD_SPACE_MB })
      const parts = [
        { node: 0, prefix: 'big:', count: BIG },
        { node: 4, prefix: 'left:', count: SMALL },
        { node: 7, prefix: 'right:', count: SMALL },
      ]
      const total = BIG + 2 * SMALL
      const results = await burst(cluster, parts)
      // Until every node holds the same names (or the bound passed): a node busy applying them
      // could still take another down meanwhile, so the downs are counted after this.
      const views = await settledDigests(cluster.nodes, total, 30_000)

      // Taken down while alive, and registrations that failed: what this test is about. Both in
      // one assertion, so that a failure shows the two together, with the downs' reasons.
      const events = membershipEvents(cluster)
      const downs = events.filter((e) => e.event === 'nodeDown')
      expect(
        {
          downs: downs.map((e) => `${e.on} took ${e.about} down (${e.reason})`),
          failed: results
            .filter((r) => r.failed > 0)
            .map((r) => ({ on: cluster.nodes[r.node]!.name, ...r })),
        },
        explain(cluster, events),
      ).toEqual({ downs: [], failed: [] })

      // Every node resolves the same names to the same pids (equal hashes of the sorted views).
      expect(views.map((v) => v.count)).toEqual(Array<number>(NODES).fill(total))
      expect(new Set(views.map((v) => v.digest)).size, 'distinct views').toBe(1)
      // And they are the names registered, each once.
      const names = (
        (await cluster.nodes[1]!.request({ op: 'registered' })) as Array<[string, string]>
      ).map(([name]) => name)
      const expected = parts.flatMap((p) =>
        Array.from({ length: p.count }, (_, i) => `${p.prefix}${i}`),
      )
      expect(names).toEqual(expected.sort())

      const spans = results.map(
        (r) => `${cluster.nodes[r.node]!.name} ${Math.round(r.end - r.start)} ms`,
      )
      const suspected = events.filter((e) => e.event === 'unreachable').length
      console.info(
        `burst of ${total} names on ${NODES} nodes: ${spans.join(', ')}; ${suspected} suspicions, none down`,
      )
    },
  )
})
