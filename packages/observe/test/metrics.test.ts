// GET /metrics of a 3-node cluster with a registry and a distributed supervisor: the values a
// scrape reads are the cluster's real ones, and the event counters move when things happen.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Node } from '@swormjs/cluster'
import type { Registry } from '@swormjs/registry'
import type { DistributedSupervisor } from '@swormjs/supervisor'
import { observe, type Observer } from '../src/index.js'
import {
  get,
  idle,
  scrape,
  startCluster,
  startComponents,
  stopAll,
  valueOf,
  waitUntil,
  type Sample,
} from './cluster.js'

describe('GET /metrics', () => {
  let nodes: Node[]
  let regs: Registry[]
  let sups: DistributedSupervisor[]
  let observers: Observer[]

  beforeEach(async () => {
    nodes = await startCluster(3)
    ;({ regs, sups } = await startComponents(nodes))
    observers = nodes.map((node, i) =>
      observe(node, {
        sworms: () => [{ name: 'Rooms', registry: regs[i]!, supervisor: sups[i]! }],
      }),
    )
  })
  afterEach(async () => {
    for (const o of observers) o.close()
    await stopAll(nodes)
  })

  /** The sum of `name` over the three nodes' scrapes. */
  async function clusterSum(name: string, labels: Record<string, string>): Promise<number> {
    let sum = 0
    for (const node of nodes) {
      sum += valueOf(await scrape(node), name, { ...labels, node: node.name })
    }
    return sum
  }

  it('reports the nodes, names, children and processes the cluster has', async () => {
    for (let i = 0; i < 4; i++) {
      await regs[0]!.register(`room:${i}`, idle(nodes[0]!), undefined, { awaitReplication: true })
    }
    for (let i = 0; i < 6; i++) await sups[0]!.startChild({ id: `w${i}`, type: 'Worker' })
    await waitUntil(
      () => sups.every((s) => s.countChildren().active === 6),
      5000,
      'every node to see the 6 children',
    )

    const m = await scrape(nodes[1]!)
    const n1 = { node: 'n1' }
    expect(valueOf(m, 'sworm_nodes_up', n1)).toBe(3)
    expect(valueOf(m, 'sworm_nodes_known', n1)).toBe(3)
    expect(valueOf(m, 'sworm_registered_names', { ...n1, registry: 'r' })).toBe(4)
    expect(valueOf(m, 'sworm_registered_names_local', { ...n1, registry: 'r' })).toBe(0)
    expect(valueOf(m, 'sworm_supervisor_children', { ...n1, supervisor: 's' })).toBe(6)
    // Nobody went down: nothing to adopt.
    expect(valueOf(m, 'sworm_supervisor_adopting', { ...n1, supervisor: 's' })).toBe(0)
    expect(valueOf(m, 'sworm_processes', n1)).toBe(nodes[1]!.runtime.processCount)

    const m0 = await scrape(nodes[0]!)
    expect(valueOf(m0, 'sworm_registered_names_local', { node: 'n0', registry: 'r' })).toBe(4)
    expect(await clusterSum('sworm_supervisor_children_local', { supervisor: 's' })).toBe(6)
    // Starting children on other nodes went over the mesh.
    expect(valueOf(m0, 'sworm_messages_out_total', { node: 'n0' })).toBeGreaterThan(0)
    expect(await clusterSum('sworm_messages_in_total', {})).toBeGreaterThan(0)
    expect(valueOf(m0, 'sworm_doc_bytes', { node: 'n0', doc: 'registry/r' })).toBeGreaterThan(0)
    expect(valueOf(m0, 'sworm_doc_bytes', { node: 'n0', doc: 'supervisor/s' })).toBeGreaterThan(0)
    expect(valueOf(m0, 'sworm_doc_compactions_total', { node: 'n0', doc: 'registry/r' })).toBe(0)
    const delay = valueOf(m0, 'sworm_event_loop_delay_p99_seconds', { node: 'n0' })
    expect(delay).toBeGreaterThanOrEqual(0)
    expect(delay).toBeLessThan(10)
  })

  it('reports doc bytes that grow with the names, close to the encoded size, without encoding', async () => {
    const node = nodes[0]!
    const regDocs = () => node.docs.names(node.id).filter((d) => d.startsWith('registry/r/'))
    const bytes = async () =>
      valueOf(await scrape(node), 'sworm_doc_bytes', { node: 'n0', doc: 'registry/r' })
    let last = await bytes()
    for (const count of [10, 100, 1000]) {
      for (let i = 0; i < count; i++) await regs[0]!.register(`grow:${count}:${i}`, idle(node))
      // A write counts once its turn's transaction has ended; a loop of registrations pauses
      // once a turn is spent, so its last writes may end with the next turn.
      await new Promise((r) => setImmediate(r))
      const now = await bytes()
      const encoded = regDocs().reduce((sum, d) => sum + node.docs.encodedSize(d), 0)
      expect(now).toBeGreaterThan(last)
      expect(now).toBeGreaterThanOrEqual(encoded)
      expect(now).toBeLessThanOrEqual(3 * encoded)
      last = now
    }

    // A scrape never reads a doc's store, which encoding the doc does: the collect runs
    // synchronously inside the call, so counting the reads around the call sees all of it.
    let reads = 0
    const docs = node.docs.names(node.id).map((d) => node.docs.get(d)!)
    const stores = docs.map((doc) => doc.store)
    docs.forEach((doc, i) =>
      Object.defineProperty(doc, 'store', {
        configurable: true,
        get: () => {
          reads++
          return stores[i]
        },
      }),
    )
    const text = observers[0]!.promRegistry!.getSingleMetricAsString('sworm_doc_bytes')
    const readsDuringScrape = reads
    node.docs.encodedSize(regDocs()[0]!)
    expect(reads).toBeGreaterThan(readsDuringScrape)
    expect(readsDuringScrape).toBe(0)
    expect(await text).toContain('sworm_doc_bytes{')
  })

  it('times the calls a node makes', async () => {
    const pid = await sups[0]!.startChild({ id: 'timed', type: 'Worker' })
    const before = valueOf(await scrape(nodes[2]!), 'sworm_call_duration_seconds_count', {
      node: 'n2',
      outcome: 'ok',
    })
    for (let i = 0; i < 5; i++) await nodes[2]!.runtime.call(pid, 'hello')
    const m = await scrape(nodes[2]!)
    const labels = { node: 'n2', outcome: 'ok' }
    expect(valueOf(m, 'sworm_call_duration_seconds_count', labels) - before).toBe(5)
    expect(valueOf(m, 'sworm_call_duration_seconds_sum', labels)).toBeGreaterThan(0)
    expect(
      valueOf(m, 'sworm_call_duration_seconds_bucket', { ...labels, le: '+Inf' }),
    ).toBeGreaterThanOrEqual(5)
  })

  it('counts a name conflict once, on the node whose process lost it', async () => {
    expect(await clusterSum('sworm_conflicts_total', { sworm: 'Rooms' })).toBe(0)
    const a = idle(nodes[1]!)
    const b = idle(nodes[2]!)
    // Both in one turn: neither node has heard of the other's registration yet.
    await Promise.all([regs[1]!.register('the-one', a), regs[2]!.register('the-one', b)])
    await waitUntil(
      () => !nodes[1]!.runtime.isAlive(a) || !nodes[2]!.runtime.isAlive(b),
      5000,
      'the loser to exit',
    )
    const loser = nodes[1]!.runtime.isAlive(a) ? nodes[2]! : nodes[1]!
    await waitUntil(
      async () =>
        valueOf(await scrape(loser), 'sworm_conflicts_total', {
          node: loser.name,
          sworm: 'Rooms',
        }) === 1,
      5000,
      'the conflict to be counted',
    )
    expect(await clusterSum('sworm_conflicts_total', { sworm: 'Rooms' })).toBe(1)
    // The loser's node has it among its recent events (a node that heard of both at once
    // never saw the loser hold the name, so not every node has it).
    const recorded = observers[nodes.indexOf(loser)]!.state().events.find(
      (e) => e.kind === 'conflict',
    )
    expect(recorded).toMatchObject({ name: 'the-one', node: loser.name, sworm: 'Rooms' })
  })

  it('counts restarts of crashed children, and the hand-offs the layer above reports', async () => {
    const pid = await sups[0]!.startChild({ id: 'fragile', type: 'Worker' })
    const home = nodes.find((n) => n.runtime.isLocal(pid))!
    const obs = observers[nodes.indexOf(home)]!
    await expect(nodes[0]!.runtime.call(pid, 'crash')).rejects.toThrow()
    let m: Sample[] = []
    await waitUntil(
      async () => {
        m = await scrape(home)
        return valueOf(m, 'sworm_restarts_total', { node: home.name, sworm: 'Rooms' }) === 1
      },
      5000,
      'the restart to be counted',
    )
    expect(obs.state().events[0]).toMatchObject({
      kind: 'restart',
      sworm: 'Rooms',
      name: 'fragile',
    })

    const n0 = { node: 'n0', sworm: 'Rooms' }
    expect(valueOf(await scrape(nodes[0]!), 'sworm_handoffs_total', n0)).toBe(0)
    observers[0]!.note({ kind: 'handoff', sworm: 'Rooms', name: 'room:7', detail: 'n1 → n0' })
    observers[0]!.note({ kind: 'handoff', sworm: 'Rooms', name: 'room:8' })
    observers[0]!.note({ kind: 'rebalance', detail: 'not a counted kind' })
    const after = await scrape(nodes[0]!)
    expect(valueOf(after, 'sworm_handoffs_total', n0)).toBe(2)
    expect(
      observers[0]!
        .state()
        .events.slice(0, 3)
        .map((e) => e.kind),
    ).toEqual(['rebalance', 'handoff', 'handoff'])
  })
})

describe('GET /metrics with a token', () => {
  it('answers 401 without the token, and the metrics with it as a bearer or ?token=', async () => {
    const nodes = await startCluster(1)
    const token = 'a-token-for-the-scraper'
    const observer = observe(nodes[0]!, { metrics: { token } })
    try {
      expect((await get(nodes[0]!, '/metrics')).status).toBe(401)
      expect((await get(nodes[0]!, '/metrics?token=wrong-token-here')).status).toBe(401)
      const bearer = await get(nodes[0]!, '/metrics', {
        headers: { authorization: `Bearer ${token}` },
      })
      expect(bearer.status).toBe(200)
      expect(await bearer.text()).toMatch(/sworm_nodes/)
      expect((await get(nodes[0]!, `/metrics?token=${token}`)).status).toBe(200)
      expect(() => observe(nodes[0]!, { metrics: { token: '' } })).toThrow(/metrics/)
    } finally {
      observer.close()
      await stopAll(nodes)
    }
  })
})
