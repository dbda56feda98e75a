// In-process nodes whose every link runs through a FaultProxy (node `i` dials node `j` through
// `proxy(i, j)`, by the `rewriteUrl` option), so that a test can cut links and heal them.
import { silentLogger } from '@sworm/actor'
import { startNode, type Node, type NodeOptions } from '@sworm/cluster'
import { FaultProxy, TEST_COOKIE, waitUntil, type FaultMode } from '../../src/index.js'
import { FAST } from './helpers.js'

export interface ProxiedCluster extends AsyncDisposable {
  readonly nodes: Node[]
  node(i: number): Node
  /** Sets both directions of the link between nodes `a` and `b`. */
  setLink(a: number, b: number, mode: FaultMode): void
  /** Cuts every link between `side` and the other nodes, and waits until every node sees it. */
  isolate(side: readonly number[]): Promise<void>
  /** Lets every link through again and waits for the full mesh. */
  heal(timeoutMs?: number): Promise<void>
  /** Resolves once each node sees up exactly the nodes whose link to it passes. */
  waitForLinks(timeoutMs?: number): Promise<void>
}

/**
 * Starts `n` nodes with fast failure detection (per-node options from `perNode`), a proxy on
 * every ordered pair, has every node dial the first (a seed, so they redial it after a cut), and
 * waits for the full mesh.
 */
export async function proxiedCluster(
  n: number,
  perNode: (i: number) => NodeOptions = () => ({}),
): Promise<ProxiedCluster> {
  const routes: Array<Map<string, string>> = []
  const nodes: Node[] = []
  const proxies = new Map<string, FaultProxy>()
  const passing = new Map<string, boolean>()
  const key = (a: number, b: number): string => (a < b ? `${a}-${b}` : `${b}-${a}`)
  const dispose = async (): Promise<void> => {
    await Promise.all(nodes.map((x) => x.stop()))
    await Promise.all([...proxies.values()].map((p) => p.close()))
  }
  try {
    for (let i = 0; i < n; i++) {
      const map = new Map<string, string>()
      routes.push(map)
      nodes.push(
        await startNode({
          cookie: TEST_COOKIE,
          logger: silentLogger,
          host: '127.0.0.1',
          name: `n${i}`,
          ...FAST,
          ...perNode(i),
          rewriteUrl: (url) => map.get(url) ?? url,
        }),
      )
    }
    for (const i of nodes.keys()) {
      for (const [j, to] of nodes.entries()) {
        if (i === j) continue
        const proxy = await FaultProxy.start({ target: { port: to.port } })
        proxies.set(`${i}>${j}`, proxy)
        routes[i]!.set(to.url, proxy.wsUrl)
        passing.set(key(i, j), true)
      }
    }
    for (const node of nodes.slice(1)) node.connect(nodes[0]!.url)
    const fullMesh = (): boolean => nodes.every((x) => nodes.every((y) => x === y || x.isUp(y.id)))
    await waitUntil(fullMesh, 10_000, 'a full mesh through the proxies')

    const cluster: ProxiedCluster = {
      nodes,
      node(i) {
        const node = nodes[i]
        if (node === undefined) throw new Error(`no node ${i}`)
        return node
      },
      setLink(a, b, mode) {
        proxies.get(`${a}>${b}`)!.setMode(mode)
        proxies.get(`${b}>${a}`)!.setMode(mode)
        passing.set(key(a, b), mode !== 'close' && mode !== 'blackhole')
      },
      async isolate(side) {
        for (const a of side) {
          for (const b of nodes.keys()) if (!side.includes(b)) cluster.setLink(a, b, 'close')
        }
        await cluster.waitForLinks()
      },
      async heal(timeoutMs = 10_000) {
        for (const a of nodes.keys()) {
          for (const b of nodes.keys()) if (a < b) cluster.setLink(a, b, 'pass')
        }
        await waitUntil(fullMesh, timeoutMs, 'the partition to heal')
      },
      async waitForLinks(timeoutMs = 10_000) {
        await waitUntil(
          () =>
            nodes.every((x, i) =>
              nodes.every(
                (y, j) =>
                  i === j ||
                  x.isStopping ||
                  y.isStopping ||
                  x.isUp(y.id) === passing.get(key(i, j)),
              ),
            ),
          timeoutMs,
          'every node to see the links as set',
        )
      },
      [Symbol.asyncDispose]: dispose,
    }
    return cluster
  } catch (error) {
    await dispose()
    throw error
  }
}
