// `replicas` across real node processes on 127.0.0.1 (test/dist/fixtures/swormNode.js): under
// a steady load of checked increments by name from the survivors, kill -9 of a node (two at
// once with `replicas: 2`; a backup, then the owner, with `replicas: 1`) loses no acknowledged
// increment: every counter ends at least at the increments its callers saw acknowledged, and at
// most at those plus the ones whose outcome they do not know. With `persist`, the same holds
// after kill -9 of every node and a restart from their directories.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import type { ChildNode } from '../src/index.js'
import { SLOW_MS, settled, swormNodes, type CounterState } from './swormProcesses.js'

const NAMES = Array.from({ length: 300 }, (_, i) => `k${i}`)

interface LoadResult {
  acked: Record<string, number>
  failed: Record<string, number>
  errors: Record<string, number>
}

/** Sums per name over the results of several nodes' loads. */
function sum(results: LoadResult[], key: 'acked' | 'failed'): Map<string, number> {
  const out = new Map<string, number>()
  for (const r of results)
    for (const [name, n] of Object.entries(r[key])) out.set(name, (out.get(name) ?? 0) + n)
  return out
}

/** What each counter holds now, read by name from `node`. */
async function counts(node: ChildNode): Promise<Map<string, number>> {
  const states = (await node.request({ op: 'states', names: NAMES })) as Record<
    string,
    CounterState
  >
  return new Map(Object.entries(states).map(([name, s]) => [name, s.n]))
}

/**
 * Every counter holds at least the increments acknowledged to the loads, and at most those
 * plus the ones that failed; returns the names that lost some (with what they lost).
 */
function losses(final: Map<string, number>, loads: LoadResult[]): string[] {
  const acked = sum(loads, 'acked')
  const failed = sum(loads, 'failed')
  const out: string[] = []
  for (const name of NAMES) {
    const n = final.get(name) ?? 0
    const a = acked.get(name) ?? 0
    if (n < a) out.push(`${name}: ${n} < ${a} acknowledged`)
    if (n > a + (failed.get(name) ?? 0)) out.push(`${name}: ${n} > ${a} + ${failed.get(name)}`)
  }
  return out
}

/** Waits until every name resolves on `nodes` to a worker none of `dead` runs. */
async function allBack(nodes: ChildNode[], dead: string[]): Promise<void> {
  await vi.waitFor(
    async () => {
      const view = await settled(nodes, NAMES.length)
      for (const pid of view.values()) for (const d of dead) expect(pid).not.toContain(`@${d}>`)
    },
    { timeout: SLOW_MS, interval: 100 },
  )
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/**
 * `n` nodes with `replicas`; A registers the names, A and B load them (they survive), `crash`
 * kills the others its own way, the load goes on a while and stops once they are all back on
 * A and B. Returns the loads' tallies and the counts A reads afterwards.
 */
async function crashUnderLoad(
  n: number,
  replicas: number,
  crash: (nodes: ChildNode[]) => Promise<void>,
): Promise<{ loads: LoadResult[]; final: Map<string, number> }> {
  await using cluster = await swormNodes(n, { REPLICAS: String(replicas) })
  const [a, b] = cluster.nodes as [ChildNode, ChildNode]
  await a.request({ op: 'register', names: NAMES })
  await settled(cluster.nodes, NAMES.length)
  for (const x of [a, b]) await x.request({ op: 'loadStart', names: NAMES, lanes: 16 })
  await pause(1_000)
  await crash(cluster.nodes)
  await pause(1_500)
  const loads = (await Promise.all(
    [a, b].map((x) => x.request({ op: 'loadStop' })),
  )) as LoadResult[]
  await allBack([a, b], cluster.ids.slice(2))
  return { loads, final: await counts(a) }
}

describe('replicas across node processes', () => {
  it(
    'loses no acknowledged increment when a node is killed under load (replicas: 1)',
    { timeout: 90_000 },
    async () => {
      const { loads, final } = await crashUnderLoad(3, 1, (nodes) => nodes[2]!.kill9())
      const acked = [...sum(loads, 'acked').values()].reduce((x, y) => x + y, 0)
      expect(acked).toBeGreaterThan(NAMES.length)
      expect(losses(final, loads)).toEqual([])
    },
  )

  it(
    'loses none when two nodes are killed at once (replicas: 2)',
    { timeout: 90_000 },
    async () => {
      const { loads, final } = await crashUnderLoad(4, 2, async (nodes) => {
        await Promise.all([nodes[2]!.kill9(), nodes[3]!.kill9()])
      })
      expect(losses(final, loads)).toEqual([])
    },
  )

  it(
    'loses none when a backup is killed and then the owner (replicas: 1)',
    { timeout: 90_000 },
    async () => {
      const { loads, final } = await crashUnderLoad(4, 1, async (nodes) => {
        const [a, b, c, d] = nodes as [ChildNode, ChildNode, ChildNode, ChildNode]
        await c.kill9()
        // The names whose backup c was get a new one: every name has its one copy again.
        await vi.waitFor(
          async () => {
            const held = await Promise.all([a, b, d].map((x) => x.request({ op: 'copies' })))
            expect((held as number[]).reduce((x, y) => x + y, 0)).toBe(NAMES.length)
          },
          { timeout: SLOW_MS, interval: 100 },
        )
        await d.kill9()
      })
      expect(losses(final, loads)).toEqual([])
    },
  )
})

describe('persist across node processes', () => {
  it(
    'brings every counter back with its acknowledged count after kill -9 of every node',
    { timeout: 120_000 },
    async () => {
      const root = mkdtempSync(join(tmpdir(), 'sworm-persist-mp-'))
      // `{node}`: each node (A, B, C, the same names again after the restart) its own directory.
      const env = { PERSIST_DIR: join(root, '{node}') }
      try {
        let loads: LoadResult[]
        {
          await using cluster = await swormNodes(3, env)
          const [a, b] = cluster.nodes as [ChildNode, ChildNode]
          await a.request({ op: 'register', names: NAMES })
          await settled(cluster.nodes, NAMES.length)
          for (const x of [a, b]) await x.request({ op: 'loadStart', names: NAMES, lanes: 16 })
          await pause(1_500)
          loads = (await Promise.all(
            [a, b].map((x) => x.request({ op: 'loadStop' })),
          )) as LoadResult[]
          // At once, with nothing stopped gracefully: what was acknowledged is all on disk.
          await Promise.all(cluster.nodes.map((x) => x.kill9()))
        }
        const acked = [...sum(loads, 'acked').values()].reduce((x, y) => x + y, 0)
        expect(acked).toBeGreaterThan(NAMES.length)
        await using again = await swormNodes(3, env)
        await settled(again.nodes, NAMES.length)
        expect(losses(await counts(again.nodes[0]!), loads)).toEqual([])
      } finally {
        rmSync(root, { recursive: true, force: true })
      }
    },
  )
})
