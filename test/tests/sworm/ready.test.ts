// Ready before serving: `node.ready()` waits until `minNodes` nodes are up and every sworm runs on
// that many; `startNode({ minNodes })` resolves only then, and a name registered before waits;
// `/healthz` and `/readyz` tell probes; a wait gives up with `NotReady` or `AbortError`.
import { describe, expect, it } from 'vitest'
import { Actor, nodeOf, silentLogger } from '@swormjs/actor'
import { startNode as startClusterNode, type Node } from '@swormjs/cluster'
import {
  AbortError,
  BadConfig,
  NotReady,
  Sworm,
  runSworm,
  startNode,
  type SwormNode,
} from '@swormjs/sworm'
import { TEST_COOKIE, freePorts, waitUntil } from '../../src/index.js'

class Counter extends Actor {
  n = 0
  override handleCall(msg: 'inc'): number {
    if (msg === 'inc') this.n++
    return this.n
  }
}
class Counters extends Sworm {
  static override actors = { Counter }
}

const base = { cookie: TEST_COOKIE, logger: silentLogger, host: '127.0.0.1' }

async function status(node: Node, path: string): Promise<[number, string]> {
  const res = await fetch(`http://127.0.0.1:${node.port}${path}`)
  return [res.status, (await res.text()).trim()]
}

describe('ready', () => {
  it('resolves once minNodes nodes are up, and the probes say so', async () => {
    const stop: Node[] = []
    try {
      const a = await startClusterNode({ ...base, name: 'a', minNodes: 2, health: true })
      stop.push(a)
      expect(a.isReady()).toBe(false)
      expect(await status(a, '/healthz')).toEqual([200, 'ok'])
      expect(await status(a, '/readyz')).toEqual([503, '1 of 2 nodes up'])
      let ready = false
      const waiting = a.ready().then(() => (ready = true))
      await new Promise((r) => setTimeout(r, 100))
      expect(ready).toBe(false)
      stop.push(await startClusterNode({ ...base, name: 'b', seeds: [a.url] }))
      await waiting
      expect(a.isReady()).toBe(true)
      expect(await status(a, '/readyz')).toEqual([200, 'ready'])
      // Ready once is ready for good: a peer lost later is failover's business.
      await stop.pop()!.stop()
      await waitUntil(() => a.nodes().length === 0)
      expect(await status(a, '/readyz')).toEqual([200, 'ready'])
      // A leaving node is not ready; it still serves, so it is healthy.
      const leaving = a.stop()
      expect(a.isReady()).toBe(false)
      await leaving
    } finally {
      for (const n of stop) await n.stop()
    }
  })

  it('without the option, the probes are not served', async () => {
    await using a = await startClusterNode({ ...base })
    expect((await status(a, '/readyz'))[0]).toBe(404)
    expect(a.isReady()).toBe(true)
  })

  it('gives up with NotReady after timeoutMs, and with AbortError when the signal aborts', async () => {
    await using a = await startClusterNode({ ...base })
    const late = await a.ready({ minNodes: 3, timeoutMs: 200 }).catch((e: unknown) => e)
    expect(NotReady.is(late)).toBe(true)
    expect((late as NotReady).met).toBe(1)
    expect((late as NotReady).minNodes).toBe(3)
    expect((late as Error).message).toMatch(/1 of 3 nodes up/)
    const ac = new AbortController()
    const waiting = a.ready({ minNodes: 2, signal: ac.signal })
    ac.abort(new Error('deploy cancelled'))
    const aborted = await waiting.catch((e: unknown) => e)
    expect(aborted).toBeInstanceOf(AbortError)
    expect((aborted as AbortError).cause).toEqual(new Error('deploy cancelled'))
  })

  it('a minNodes that is not a whole number ≥ 1 is a BadConfig', async () => {
    await expect(startNode({ ...base, minNodes: 0 })).rejects.toBeInstanceOf(BadConfig)
    await expect(startNode({ ...base, minNodes: 1.5 })).rejects.toThrow(/minNodes/)
  })
})

describe('startNode with minNodes', () => {
  it('resolves only once minNodes nodes run the sworm', async () => {
    const nodes: SwormNode[] = []
    try {
      const port = (await freePorts(1))[0]!
      const first = startNode({ ...base, name: 'a', port, minNodes: 3, children: [Counters] })
      let firstDone = false
      void first.then(() => (firstDone = true))
      await new Promise((r) => setTimeout(r, 150))
      expect(firstDone).toBe(false)
      const seeds = [`ws://127.0.0.1:${port}`]
      const b = await startNode({ ...base, name: 'b', seeds, children: [Counters] })
      nodes.push(b)
      await new Promise((r) => setTimeout(r, 150))
      expect(firstDone).toBe(false) // two of three
      nodes.push(await startNode({ ...base, name: 'c', seeds, children: [Counters] }))
      nodes.push(await first)
      for (const n of nodes) await waitUntil(() => Counters.on(n).nodes().length === 3)
      expect(Counters.on(nodes[2]!).nodes()).toHaveLength(3)
    } finally {
      for (const n of nodes) await n.stop()
    }
  })

  it('a name registered before the node is ready waits, and lands where the others place it', async () => {
    const nodes: Node[] = []
    try {
      const a = await startClusterNode({ ...base, name: 'a', minNodes: 3 })
      nodes.push(a)
      const early = (await runSworm(a, Counters)).registerName('page:home', Counter)
      let settled = false
      void early.finally(() => (settled = true))
      for (const name of ['b', 'c']) {
        await new Promise((r) => setTimeout(r, 100))
        expect(settled).toBe(false)
        const n = await startClusterNode({ ...base, name, seeds: [a.url] })
        nodes.push(n)
        await runSworm(n, Counters)
      }
      const pid = await early
      for (const n of nodes) await waitUntil(() => Counters.on(n).nodes().length === 3)
      // Every node places the name on the node that runs it: it was placed on the full view.
      for (const n of nodes) {
        expect(Counters.on(n).supervisor.placementOrder('spage:home', 1)[0]).toBe(nodeOf(pid))
      }
    } finally {
      for (const n of nodes) await n.stop()
    }
  })

  it('fails with NotReady after readyTimeoutMs, and the node is stopped', async () => {
    const err = await startNode({
      ...base,
      minNodes: 2,
      readyTimeoutMs: 200,
      children: [Counters],
    }).catch((e: unknown) => e)
    expect(NotReady.is(err)).toBe(true)
    expect((err as Error).message).toMatch(/1 of 2 nodes up; still waiting for sworm Counters/)
  })
})

describe('the options added for the lifecycle', () => {
  it('a protocolVersions, rebalance or readyTimeoutMs that cannot work fails the start, naming it', async () => {
    await expect(startNode({ ...base, protocolVersions: { min: 3, max: 2 } })).rejects.toThrow(
      /protocolVersions/,
    )
    await expect(
      startNode({ ...base, protocolVersions: { min: 1, max: 3 } }),
    ).rejects.toBeInstanceOf(BadConfig)
    await expect(startNode({ ...base, readyTimeoutMs: -1 })).rejects.toThrow(/readyTimeoutMs/)
    class Rebalanced extends Sworm {
      static override actors = { Counter }
      static override options = { rebalance: { maxMovesPerRound: 0, intervalMs: 100 } }
    }
    await expect(startNode({ ...base, children: [Rebalanced] })).rejects.toThrow(
      /Rebalanced.*rebalance/,
    )
  })
})
