// A silent peer is first unreachable (suspected, and nothing done: it stays up, its names stay
// visible) and down only after it stayed unreachable for downAfterUnreachableMs; one heard from
// again before that is reachable, and it is as if nothing happened.
import { describe, expect, it } from 'vitest'
import { Actor, type Pid } from '@swormjs/actor'
import type { DownReason, Node, NodeOptions } from '@swormjs/cluster'
import { Registry } from '@swormjs/registry'
import { pause, proxiedCluster, waitUntil, type ProxiedCluster } from '../../src/index.js'

const INTERVAL_MS = 100
const DOWN_AFTER_MS = 1500
/** A regular peer is suspected about 100 + 300 + 5.2 × 50 ≈ 660 ms after its last beat. */
const DETECTION: NodeOptions = {
  heartbeatIntervalMs: INTERVAL_MS,
  acceptableHeartbeatPauseMs: 300,
  minHeartbeatStdDeviationMs: 50,
  downAfterUnreachableMs: DOWN_AFTER_MS,
  reconnectMinMs: 20,
  reconnectMaxMs: 300,
}

class Idle extends Actor {}

/** What a node said about the other nodes, in order, with the time it said it. */
interface Said {
  event: 'unreachable' | 'reachable' | 'nodeDown'
  id: string
  at: number
  reason?: DownReason
}

function listen(node: Node): Said[] {
  const said: Said[] = []
  node.on('unreachable', (n) => said.push({ event: 'unreachable', id: n.id, at: Date.now() }))
  node.on('reachable', (n) => said.push({ event: 'reachable', id: n.id, at: Date.now() }))
  node.on('nodeDown', (n, reason) =>
    said.push({ event: 'nodeDown', id: n.id, at: Date.now(), reason }),
  )
  return said
}

const about = (said: readonly Said[], node: Node): Said[] => said.filter((s) => s.id === node.id)
const kinds = (said: readonly Said[]): string[] => said.map((s) => s.event)

/** Three nodes through fault proxies, a registry on each, and the name `c` held on node 2. */
async function threeWithName(): Promise<
  AsyncDisposable & { cluster: ProxiedCluster; regs: Registry[]; pid: Pid; said: Said[][] }
> {
  const cluster = await proxiedCluster(3, DETECTION)
  try {
    const regs = await Promise.all(cluster.nodes.map((n) => Registry.start(n, 'r')))
    await waitUntil(() => regs.every((r) => r.stats().nodes === 3), 5000, 'the registries to meet')
    const pid = cluster.node(2).runtime.spawn(Idle, undefined)
    await regs[2]!.register('c', pid, undefined, { awaitReplication: true })
    return {
      cluster,
      regs,
      pid,
      said: cluster.nodes.map(listen),
      [Symbol.asyncDispose]: () => cluster[Symbol.asyncDispose](),
    }
  } catch (error) {
    await cluster[Symbol.asyncDispose]()
    throw error
  }
}

describe('unreachable before down', () => {
  it('marks a black-holed peer unreachable first, and down only after downAfterUnreachableMs', async () => {
    await using setup = await threeWithName()
    const { cluster, regs, pid, said } = setup
    const [n0, n1, n2] = [cluster.node(0), cluster.node(1), cluster.node(2)]

    cluster.setLink(0, 2, 'blackhole')
    await waitUntil(() => about(said[0]!, n2).length > 0, 5000, 'n0 to suspect n2')
    expect(kinds(about(said[0]!, n2))).toEqual(['unreachable'])
    // Suspected, not acted on: n2 is still up on n0, listed as unreachable, and its name resolves.
    expect(n0.isUp(n2.id)).toBe(true)
    expect(n0.nodes().find((n) => n.id === n2.id)?.status).toBe('unreachable')
    expect(n0.members().find((m) => m.id === n2.id)?.status).toBe('unreachable')
    expect(regs[0]!.whereis('c')).toBe(pid)

    await waitUntil(() => about(said[0]!, n2).length > 1, 10_000, 'n0 to take n2 down')
    const [unreachable, down] = about(said[0]!, n2) as [Said, Said]
    expect(kinds(about(said[0]!, n2))).toEqual(['unreachable', 'nodeDown'])
    expect(down.reason).toBe('timeout')
    // The bound is judged once an interval, with half an interval of slack for timer jitter.
    expect(down.at - unreachable.at).toBeGreaterThanOrEqual(DOWN_AFTER_MS - INTERVAL_MS)
    expect(n0.isUp(n2.id)).toBe(false)
    expect(regs[0]!.whereis('c')).toBeUndefined()
    // n1 still hears n2: it suspected nothing.
    expect(about(said[1]!, n2)).toEqual([])
    expect(n1.isUp(n2.id)).toBe(true)
  })

  it('makes a peer healed before the bound reachable again, never down, its names visible throughout', async () => {
    await using setup = await threeWithName()
    const { cluster, regs, pid, said } = setup
    const [n0, n2] = [cluster.node(0), cluster.node(2)]
    let misses = 0
    const looking = setInterval(() => {
      if (regs[0]!.whereis('c') !== pid || !n0.isUp(n2.id)) misses++
    }, 5)
    try {
      cluster.setLink(0, 2, 'blackhole')
      await waitUntil(
        () => about(said[0]!, n2).length > 0 && about(said[2]!, n0).length > 0,
        5000,
        'n0 and n2 to suspect each other',
      )
      expect(n0.members().find((m) => m.id === n2.id)?.status).toBe('unreachable')
      cluster.setLink(0, 2, 'pass')
      await waitUntil(
        () => about(said[0]!, n2).length > 1 && about(said[2]!, n0).length > 1,
        5000,
        'n0 and n2 to hear each other again',
      )
      // Longer than the downing bound: a late down would show by now.
      await pause(DOWN_AFTER_MS + 2 * INTERVAL_MS)
    } finally {
      clearInterval(looking)
    }
    expect(kinds(about(said[0]!, n2))).toEqual(['unreachable', 'reachable'])
    expect(kinds(about(said[2]!, n0))).toEqual(['unreachable', 'reachable'])
    for (const s of said) expect(s.filter((e) => e.event === 'nodeDown')).toEqual([])
    expect(n0.members().find((m) => m.id === n2.id)?.status).toBe('up')
    expect(misses).toBe(0)
    expect(regs[0]!.whereis('c')).toBe(pid)
  })
})
