// The mesh: nodes find each other by gossip from one seed, report nodeUp/nodeDown, tell a
// graceful leave from a crash, redial what they lost, and keep one connection per pair.
import { once, type EventEmitter } from 'node:events'
import { createServer } from 'node:net'
import { describe, expect, it } from 'vitest'
import { Actor, silentLogger } from '@swormjs/actor'
import {
  FaultProxy,
  TEST_COOKIE,
  nodeIdStartingWith,
  pause,
  testCluster,
  waitUntil,
} from '../../src/index.js'
import {
  startNode,
  type DownReason,
  type Node,
  type NodeInfo,
  type NodeOptions,
} from '@swormjs/cluster'
import { Inbox } from './helpers.js'

const base: NodeOptions = {
  cookie: TEST_COOKIE,
  logger: silentLogger,
  reconnectMinMs: 20,
  reconnectMaxMs: 200,
}

/** Records every nodeUp and nodeDown of a node. */
function watch(node: Node): {
  ups: NodeInfo[]
  downs: Array<[NodeInfo, DownReason]>
} {
  const ups: NodeInfo[] = []
  const downs: Array<[NodeInfo, DownReason]> = []
  node.on('nodeUp', (info) => ups.push(info))
  node.on('nodeDown', (info, reason) => downs.push([info, reason]))
  return { ups, downs }
}

const ids = (infos: NodeInfo[]): string[] => infos.map((i) => i.id).sort()

/** A port that is free on 127.0.0.1 right now. */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (typeof address !== 'object' || address === null) throw new Error('no port')
  return address.port
}

describe('the mesh', () => {
  it('forms a full mesh from one seed by gossip', async () => {
    await using a = await startNode({ ...base, name: 'a' })
    await using b = await startNode({ ...base, name: 'b', seeds: [a.url] })
    await using c = await startNode({ ...base, name: 'c', seeds: [a.url] })
    // b and c were never told of each other: only a's member list can bring them together.
    await waitUntil(() => b.isUp(c.id) && c.isUp(b.id), 5000, 'b and c to meet by gossip')
    expect(ids(a.nodes())).toEqual([b.id, c.id].sort())
    expect(ids(b.nodes())).toEqual([a.id, c.id].sort())
    expect(ids(c.nodes())).toEqual([a.id, b.id].sort())
    expect(b.nodes().find((n) => n.id === c.id)).toEqual({
      id: c.id,
      name: 'c',
      url: c.url,
      status: 'up',
    })
  })

  it('emits nodeUp once per peer with its NodeInfo', async () => {
    await using a = await startNode({ ...base, name: 'a' })
    const seen = watch(a)
    await using b = await startNode({ ...base, name: 'b', seeds: [a.url] })
    await using c = await startNode({ ...base, name: 'c', seeds: [a.url] })
    await waitUntil(() => seen.ups.length >= 2, 5000, 'two nodeUp events')
    await waitUntil(() => b.isUp(c.id) && c.isUp(b.id), 5000, 'the full mesh')
    await pause(100)
    expect(seen.ups).toHaveLength(2)
    expect(seen.ups).toEqual(
      expect.arrayContaining([
        { id: b.id, name: 'b', url: b.url, status: 'up' },
        { id: c.id, name: 'c', url: c.url, status: 'up' },
      ]),
    )
    expect(seen.downs).toEqual([])
  })

  it("resolves Node's events.once(node, 'nodeUp') with the peer's NodeInfo", async () => {
    await using a = await startNode({ ...base, name: 'a' })
    // At run time a node is all events.once needs (once, removeListener); its TypeScript
    // declaration asks for a whole EventEmitter, whose `on` returns the emitter, not (as a
    // node's does) the function that stops listening: hence the cast.
    const up = once(a as unknown as EventEmitter, 'nodeUp') as Promise<[NodeInfo]>
    await using b = await startNode({ ...base, name: 'b', seeds: [a.url] })
    const [info] = await up
    expect(info).toEqual({ id: b.id, name: 'b', url: b.url, status: 'up' })
  })

  it('reports a graceful stop as nodeDown with reason leave and does not redial it', async () => {
    const dialed: string[] = []
    const rewriteUrl = (url: string): string => {
      dialed.push(url)
      return url
    }
    await using a = await startNode({ ...base, name: 'a', rewriteUrl })
    await using b = await startNode({ ...base, name: 'b', seeds: [a.url], rewriteUrl })
    await using c = await startNode({ ...base, name: 'c', seeds: [a.url], rewriteUrl })
    await waitUntil(() => b.isUp(c.id) && c.isUp(b.id), 5000, 'the full mesh')
    const onA = watch(a)
    const onB = watch(b)

    await c.stop()
    await waitUntil(() => onA.downs.length > 0 && onB.downs.length > 0, 5000, 'nodeDown of c')
    const left: NodeInfo = { id: c.id, name: 'c', url: c.url, status: 'left' }
    expect(onA.downs).toEqual([[left, 'leave']])
    expect(onB.downs).toEqual([[left, 'leave']])

    const dialsOfC = dialed.filter((u) => u === c.url).length
    // Far longer than the reconnect backoff (20–200 ms): a redial would show by now.
    await pause(400)
    expect(dialed.filter((u) => u === c.url).length).toBe(dialsOfC)
    expect(a.nodes().map((n) => n.id)).toEqual([b.id])
    expect(a.members().find((m) => m.id === c.id)?.status).toBe('left')
  })

  it('reports kill() as nodeDown with reason closed at once', async () => {
    // Heartbeats are far too slow to explain a quick detection: only the closed socket can.
    await using cluster = await testCluster(3, {
      ...base,
      heartbeatIntervalMs: 10_000,
      heartbeatTimeoutMs: 30_000,
    })
    const [n0, n1, n2] = [cluster.node(0), cluster.node(1), cluster.node(2)]
    const on0 = watch(n0)
    const on1 = watch(n1)
    const started = Date.now()
    await n2.kill()
    await waitUntil(() => on0.downs.length > 0 && on1.downs.length > 0, 2000, 'nodeDown of n2')
    expect(Date.now() - started).toBeLessThan(2000)
    const down: NodeInfo = { id: n2.id, name: 'n2', url: n2.url, status: 'down' }
    expect(on0.downs).toEqual([[down, 'closed']])
    expect(on1.downs).toEqual([[down, 'closed']])
    expect(n0.isUp(n2.id)).toBe(false)
    expect(n0.members().find((m) => m.id === n2.id)?.status).toBe('down')
  })

  it('marks a silent peer down with reason timeout, and reconnects when it speaks again', async () => {
    // a and b reach each other only through proxies, which can swallow every byte.
    const routes = new Map<string, string>()
    const options: NodeOptions = {
      ...base,
      heartbeatIntervalMs: 50,
      heartbeatTimeoutMs: 300,
      handshakeTimeoutMs: 300,
      rewriteUrl: (u) => routes.get(u) ?? u,
    }
    await using a = await startNode({ ...options, name: 'a' })
    await using b = await startNode({ ...options, name: 'b' })
    await using toA = await FaultProxy.start({ target: { port: a.port } })
    await using toB = await FaultProxy.start({ target: { port: b.port } })
    routes.set(a.url, toA.wsUrl)
    routes.set(b.url, toB.wsUrl)
    a.connect(b.url)
    await waitUntil(() => a.isUp(b.id) && b.isUp(a.id), 5000, 'a and b to connect')
    const onA = watch(a)
    const onB = watch(b)
    // A process of b that a sends to before the cut and after the heal, by the same pid: the
    // peer a found for it before (and keeps per pid) must not outlive the connection.
    const received: unknown[] = []
    const inbox = b.runtime.spawn(
      class extends Actor {
        override handleInfo(msg: unknown): void {
          received.push(msg)
        }
      },
      undefined,
    )
    a.runtime.send(inbox, 'before')
    await waitUntil(() => received.length === 1, 3000, 'the message sent before the cut')

    toA.setMode('blackhole')
    toB.setMode('blackhole')
    const started = Date.now()
    await waitUntil(() => onA.downs.length > 0 && onB.downs.length > 0, 3000, 'both to time out')
    expect(Date.now() - started).toBeGreaterThanOrEqual(250)
    expect(onA.downs).toEqual([[{ id: b.id, name: 'b', url: b.url, status: 'down' }, 'timeout']])
    expect(onB.downs).toEqual([[{ id: a.id, name: 'a', url: a.url, status: 'down' }, 'timeout']])

    toA.setMode('pass')
    toB.setMode('pass')
    await waitUntil(() => a.isUp(b.id) && b.isUp(a.id), 5000, 'the link to heal')
    expect(onA.ups.map((n) => n.id)).toEqual([b.id])
    expect(onB.ups.map((n) => n.id)).toEqual([a.id])
    a.runtime.send(inbox, 'after')
    await waitUntil(() => received.length === 2, 3000, 'the message sent after the heal')
    expect(received).toEqual(['before', 'after'])
  })

  it('redials a killed peer, and a node joining later meshes with everyone', async () => {
    // Of two nodes that lost each other the smaller id redials: n2 sorts after both others.
    await using n0 = await startNode({ ...base, name: 'n0', nodeId: nodeIdStartingWith('0') })
    await using n1 = await startNode({
      ...base,
      name: 'n1',
      nodeId: nodeIdStartingWith('1'),
      seeds: [n0.url],
    })
    await using n2 = await startNode({
      ...base,
      name: 'n2',
      nodeId: nodeIdStartingWith('f'),
      seeds: [n0.url],
    })
    await waitUntil(() => n1.isUp(n2.id) && n2.isUp(n1.id), 5000, 'the full mesh')
    const port = n2.port
    const oldId = n2.id
    await n2.kill()
    await waitUntil(() => !n0.isUp(oldId) && !n1.isUp(oldId), 2000, 'n2 to be down')

    // A new incarnation at the same address, without seeds: only a redial can find it.
    await using again = await startNode({ ...base, name: 'n2-again', port })
    expect(again.url).toBe(n2.url)
    await waitUntil(
      () => n0.isUp(again.id) && n1.isUp(again.id) && again.nodes().length === 2,
      5000,
      'the survivors to redial n2',
    )
    expect(n0.isUp(oldId)).toBe(false)

    await using late = await startNode({ ...base, name: 'late', seeds: [n1.url] })
    const all = [n0, n1, again, late]
    await waitUntil(
      () => all.every((x) => all.every((y) => x === y || x.isUp(y.id))),
      5000,
      'the late node to mesh with everyone',
    )
    expect(ids(late.nodes())).toEqual([n0.id, n1.id, again.id].sort())
  })

  it('redials its seed by the URL it dialed when the seed advertises another address', async () => {
    // The seed is given by IP while the node advertises a host name (as behind a service name):
    // after the node crashes and comes back at the same port, the joiner must redial its seed
    // URL. It sorts after the seed, so no other rule would bring them back together.
    const port = await freePort()
    const advertise = `ws://localhost:${port}`
    const seed = await startNode({
      ...base,
      name: 's',
      port,
      advertise,
      nodeId: nodeIdStartingWith('0'),
    })
    await using joiner = await startNode({
      ...base,
      name: 'j',
      nodeId: nodeIdStartingWith('f'),
      seeds: [`ws://127.0.0.1:${port}`],
    })
    await waitUntil(() => joiner.isUp(seed.id), 5000, 'the joiner to reach its seed')
    const oldId = seed.id
    await seed.kill()
    await waitUntil(() => !joiner.isUp(oldId), 2000, 'the seed to be down')
    await using again = await startNode({ ...base, name: 's2', port, advertise })
    await waitUntil(() => joiner.isUp(again.id), 5000, 'the joiner to redial its seed URL')
    expect(joiner.nodes().map((n) => n.url)).toEqual([advertise])
  })

  it('keeps exactly one connection when two nodes dial each other at once', async () => {
    // Each direction goes through its own proxy, so that the TCP connections can be counted.
    const routes = new Map<string, string>()
    const rewriteUrl = (u: string): string => routes.get(u) ?? u
    await using a = await startNode({ ...base, name: 'a', rewriteUrl })
    await using b = await startNode({ ...base, name: 'b', rewriteUrl })
    await using toB = await FaultProxy.start({ target: { port: b.port } })
    await using toA = await FaultProxy.start({ target: { port: a.port } })
    routes.set(b.url, toB.wsUrl)
    routes.set(a.url, toA.wsUrl)
    const onA = watch(a)
    const onB = watch(b)
    // Messages flow from the first moment a sees b, through the time the duplicate is dropped.
    const inbox = b.runtime.spawn(Inbox, undefined)
    let sent = 0
    let pumping = true
    const pump = (): void => {
      if (!pumping) return
      for (let k = 0; k < 20; k++) a.runtime.send(inbox, sent++)
      setImmediate(pump)
    }
    a.on('nodeUp', pump)
    a.connect(b.url)
    b.connect(a.url)
    await waitUntil(() => a.isUp(b.id) && b.isUp(a.id), 5000, 'a and b to connect')
    await waitUntil(
      () => toA.stats().accepted >= 1 && toB.stats().accepted >= 1,
      5000,
      'both dials to arrive',
    )
    await waitUntil(
      () => toA.stats().open + toB.stats().open === 1,
      5000,
      'the duplicate connection to close',
    )
    pumping = false
    await pause(200)
    expect(toA.stats().open + toB.stats().open).toBe(1)
    expect(a.nodes().map((n) => n.id)).toEqual([b.id])
    expect(b.nodes().map((n) => n.id)).toEqual([a.id])
    expect(onA.ups).toHaveLength(1)
    expect(onB.ups).toHaveLength(1)
    expect(onA.downs).toEqual([])
    expect(onB.downs).toEqual([])
    for (let i = 0; i < 1000; i++) a.runtime.send(inbox, sent++)
    const got = await a.runtime.call<number[]>(inbox, 'get')
    expect(got).toEqual(Array.from({ length: sent }, (_, i) => i))
  })

  it('joins a node with connect(url), and gossip brings in its peers', async () => {
    await using cluster = await testCluster(2, base)
    await using loner = await startNode({ ...base, name: 'loner' })
    expect(loner.nodes()).toEqual([])
    loner.connect(`${cluster.node(1).url}/`)
    const all = [...cluster.nodes, loner]
    await waitUntil(
      () => all.every((x) => all.every((y) => x === y || x.isUp(y.id))),
      5000,
      'the loner to mesh with both',
    )
    expect(ids(loner.nodes())).toEqual(ids(cluster.nodes.map((x) => x.members()[0]!)))
  })

  it('lists members with their status: up, known, left and down', async () => {
    // `a` may dial nothing but what the test allows; `c` may not reach `a` either. So `a` hears
    // of `c` through `b` but cannot connect to it: `c` stays `known` until the route opens.
    await using dead = await FaultProxy.start({ target: { port: 9 }, mode: 'close' })
    const allowedFromA = new Set<string>()
    await using a = await startNode({
      ...base,
      name: 'a',
      nodeId: nodeIdStartingWith('0'),
      rewriteUrl: (u) => (allowedFromA.has(u) ? u : dead.wsUrl),
    })
    await using b = await startNode({
      ...base,
      name: 'b',
      nodeId: nodeIdStartingWith('1'),
      seeds: [a.url],
    })
    await using c = await startNode({
      ...base,
      name: 'c',
      nodeId: nodeIdStartingWith('f'),
      seeds: [b.url],
      rewriteUrl: (u) => (u === a.url ? dead.wsUrl : u),
    })
    await waitUntil(() => a.members().some((m) => m.id === c.id), 5000, 'a to hear of c')
    await waitUntil(() => dead.stats().accepted >= 2, 5000, 'a to try to dial c')
    const statusOn = (node: Node): Record<string, NodeInfo['status']> =>
      Object.fromEntries(node.members().map((m) => [m.name, m.status]))
    expect(statusOn(a)).toEqual({ a: 'up', b: 'up', c: 'known' })
    expect(statusOn(b)).toEqual({ a: 'up', b: 'up', c: 'up' })
    expect(a.nodes().map((n) => n.name)).toEqual(['b'])

    allowedFromA.add(c.url)
    await waitUntil(() => a.isUp(c.id), 5000, 'a to reach c once allowed')
    expect(statusOn(a)).toEqual({ a: 'up', b: 'up', c: 'up' })

    await b.stop()
    await c.kill()
    await waitUntil(() => a.nodes().length === 0, 2000, 'b and c to go')
    expect(statusOn(a)).toEqual({ a: 'up', b: 'left', c: 'down' })
  })
})
