// Two in-process nodes whose every connection runs through fault proxies (via the `rewriteUrl`
// option), so a test can cut the link between them and heal it again.
import { FaultProxy, testCluster, waitUntil, type TestCluster } from '../../src/index.js'
import type { Node, NodeOptions } from '@sworm/cluster'

export interface ProxiedPair extends AsyncDisposable {
  readonly cluster: TestCluster
  readonly a: Node
  readonly b: Node
  /** Cuts the link both ways (open connections and new ones) and waits until both see it. */
  cut(): Promise<void>
  /** Lets connections through again and waits until the two are connected. */
  heal(timeoutMs?: number): Promise<void>
}

export async function proxiedPair(options: NodeOptions = {}): Promise<ProxiedPair> {
  const routes = new Map<string, string>()
  const proxies: FaultProxy[] = []
  const cluster = await testCluster(1, {
    reconnectMinMs: 20,
    reconnectMaxMs: 200,
    ...options,
    rewriteUrl: (url) => routes.get(url) ?? url,
  })
  const a = cluster.node(0)
  const toA = await FaultProxy.start({ target: { port: a.port } })
  proxies.push(toA)
  routes.set(a.url, toA.wsUrl)
  const b = await cluster.add()
  const toB = await FaultProxy.start({ target: { port: b.port } })
  proxies.push(toB)
  routes.set(b.url, toB.wsUrl)
  return {
    cluster,
    a,
    b,
    async cut() {
      for (const p of proxies) p.setMode('close')
      await waitUntil(() => !a.isUp(b.id) && !b.isUp(a.id), 5000, 'both sides to see the cut')
    },
    async heal(timeoutMs = 10_000) {
      for (const p of proxies) p.setMode('pass')
      await waitUntil(() => a.isUp(b.id) && b.isUp(a.id), timeoutMs, 'the link to heal')
    },
    async [Symbol.asyncDispose]() {
      await cluster.stop()
      await Promise.all(proxies.map((p) => p.close()))
    },
  }
}
