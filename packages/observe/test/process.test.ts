// `metrics: { processMetrics: true }` adds prom-client's metrics of the OS process to a node's
// /metrics, labelled with the node; without it they are absent (several nodes may share a process).
import { describe, expect, it } from 'vitest'
import { silentLogger } from '@swormjs/actor'
import { startNode } from '@swormjs/cluster'
import { BadArgument } from '@swormjs/actor'
import { observe } from '../src/index.js'
import { TEST_COOKIE } from './cluster.js'

const base = { cookie: TEST_COOKIE, logger: silentLogger, host: '127.0.0.1' }

async function metricsOf(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
}

describe('process metrics', () => {
  it('are served with processMetrics, and only then', async () => {
    await using a = await startNode({ ...base, name: 'a' })
    await using b = await startNode({ ...base, name: 'b' })
    using _obsA = observe(a, { metrics: { processMetrics: true } })
    using _obsB = observe(b)
    const withThem = await metricsOf(a.port)
    expect(withThem).toMatch(/^process_cpu_user_seconds_total\{node="a"\} \d/m)
    expect(withThem).toMatch(/^nodejs_heap_size_used_bytes\{node="a"\} \d/m)
    expect(withThem).toMatch(/^sworm_nodes_up\{node="a"\} 1/m)
    const without = await metricsOf(b.port)
    expect(without).not.toMatch(/process_cpu_user_seconds_total/)
    expect(without).toMatch(/^sworm_nodes_up\{node="b"\} 1/m)
  })

  it('a metrics option of the wrong shape is a BadArgument', async () => {
    await using a = await startNode({ ...base })
    expect(() => observe(a, { metrics: { processMetrics: 'yes' as never } })).toThrow(BadArgument)
    expect(() => observe(a, { metrics: { tokn: 'x' } as never })).toThrow(/unknown key 'tokn'/)
  })
})

describe('the Grafana dashboard', () => {
  it('asks only for metrics the observer serves', async () => {
    const { readFile } = await import('node:fs/promises')
    const json = await readFile(new URL('../grafana/sworm-dashboard.json', import.meta.url), 'utf8')
    const asked = new Set(
      [...json.matchAll(/\b(sworm_[a-z_]+)/g)].map((m) => m[1]!.replace(/_bucket$/, '')),
    )
    expect(asked.size).toBeGreaterThan(10)
    await using a = await startNode({ ...base, name: 'a' })
    using _obs = observe(a)
    const served = new Set(
      [...(await metricsOf(a.port)).matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]!),
    )
    for (const name of asked) expect(served, name).toContain(name)
  })
})
