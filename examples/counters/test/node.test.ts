// The README's program (src/node.ts) on three real processes started at the same instant, each
// seeded with all three addresses, as a StatefulSet starts its pods in parallel: each counts
// `page:home` once, and they end with one counter at 3, not two copies of it.
import { describe, expect, it } from 'vitest'
import { freePorts } from '@swormjs/test'
import { run, stopAll } from './run.js'

describe("the README's program", () => {
  it('started on three processes at the same instant ends with one counter', async () => {
    const ports = await freePorts(3)
    const seeds = ports.map((p) => `ws://127.0.0.1:${p}`).join(',')
    const runs = ports.map((port, i) =>
      run({
        HOST: '127.0.0.1',
        PORT: String(port),
        SEEDS: seeds,
        NODE_NAME: `n${i}`,
        SWORM_COOKIE: 'counters-example-test-cookie',
      }),
    )
    try {
      const lines = await Promise.all(runs.map((r) => r.counted))
      // `n1: page:home = 2, counted on n0`: one counter took three counts, so the answers are
      // 1, 2 and 3 (two copies would answer 1 twice), and every node found it on the same node.
      const seen = lines.map((line) => {
        const m = /^(n\d): page:home = (\d+), counted on (n\d)$/.exec(line)
        expect(m, line).not.toBeNull()
        return { count: Number(m![2]), on: m![3] }
      })
      expect(seen.map((s) => s.count).sort()).toEqual([1, 2, 3])
      expect(new Set(seen.map((s) => s.on)).size).toBe(1)
    } finally {
      await stopAll(runs)
    }
  }, 60_000)
})
