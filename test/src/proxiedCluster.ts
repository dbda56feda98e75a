// In-process nodes whose every link runs through a FaultProxy (node `i` dials node `j` through
// its own proxy, by the `rewriteUrl` option), so that a test can cut links, split the cluster,
// heal it, kill nodes and add fresh ones.
import { silentLogger } from '@swormjs/actor'
import { startNode, type Node, type NodeOptions } from '@swormjs/cluster'
import { FaultProxy, type FaultMode } from './FaultProxy.js'
import { TEST_COOKIE, waitUntil } from './testCluster.js'

/** A set of in-process nodes linked through fault proxies. */
export interface ProxiedCluster extends AsyncDisposable {
  /** Every node started, in order (killed ones included). */
  readonly nodes: Node[]
  /** Node `i`, throwing if there is none. */
  node(i: number): Node
  /** The nodes not killed or stopped. */
  live(): Node[]
  /** Sets both directions of the link between nodes `a` and `b` (indexes in `nodes`). */
  setLink(a: number, b: number, mode: FaultMode): void
  /** Cuts every link between `side` and the other live nodes, and waits until every node sees it. */
  split(side: readonly number[], timeoutMs?: number): Promise<void>
  /** Lets every link through again and waits for the full mesh. */
  heal(timeoutMs?: number): Promise<void>
  /** Starts one more node (links open to every live node) and waits for the full mesh. */
  add(options?: NodeOptions): Promise<Node>
  /** Resolves once each live node sees up exactly the live nodes whose link to it passes. */
  waitForLinks(timeoutMs?: number): Promise<void>
}

/**
 * Starts `n` nodes on 127.0.0.1 (with `options`, then `perNode(i)`; `add` uses `options` too), a
 * proxy on every ordered pair, has every node dial the first (a seed, so they redial it after a
 * cut), and waits for the full mesh. The logger is silent unless given.
 *
 * @example
 * await using cluster = await proxiedCluster(3, fastFailureDetection(100, 400))
 * await cluster.split([2])
 * await cluster.heal()
 */
export async function proxiedCluster(
  n: number,
  options: NodeOptions = {},
  perNode: (i: number) => NodeOptions = () => ({}),
): Promise<ProxiedCluster> {
  const routes: Array<Map<string, string>> = []
  const nodes: Node[] = []
  const proxies = new Map<string, FaultProxy>()
  const cut = new Set<string>()
  const key = (a: number, b: number): string => (a < b ? `${a}-${b}` : `${b}-${a}`)
  const live = (): Node[] => nodes.filter((x) => !x.isStopping)
  const dispose = async (): Promise<void> => {
    await Promise.all(nodes.map((x) => x.stop()))
    await Promise.all([...proxies.values()].map((p) => p.close()))
  }
  const fullMesh = (): boolean => live().every((x) => live().every((y) => x === y || x.isUp(y.id)))

  const start = async (i: number, own: NodeOptions): Promise<Node> => {
    const map = new Map<string, string>()
    routes[i] = map
    const node = await startNode({
      cookie: TEST_COOKIE,
      logger: silentLogger,
      host: '127.0.0.1',
      name: `n${i}`,
      ...options,
      ...own,
      rewriteUrl: (url) => map.get(url) ?? url,
    })
    nodes[i] = node
    for (const [j, other] of nodes.entries()) {
      if (j === i || other.isStopping) continue
      for (const [from, to] of [
        [i, j],
        [j, i],
      ] as const) {
        const proxy = await FaultProxy.start({ target: { port: nodes[to]!.port } })
        proxies.set(`${from}>${to}`, proxy)
        routes[from]!.set(nodes[to]!.url, proxy.wsUrl)
      }
    }
    return node
  }

  const cluster: ProxiedCluster = {
    nodes,
    node(i) {
      const node = nodes[i]
      if (node === undefined) throw new Error(`no node ${i}`)
      return node
    },
    live,
    setLink(a, b, mode) {
      // No proxy joins a node killed before the other started: that link is down for good.
      proxies.get(`${a}>${b}`)?.setMode(mode)
      proxies.get(`${b}>${a}`)?.setMode(mode)
      if (mode === 'close' || mode === 'blackhole') cut.add(key(a, b))
      else cut.delete(key(a, b))
    },
    async split(side, timeoutMs) {
      for (const a of side) {
        for (const b of nodes.keys()) if (!side.includes(b)) cluster.setLink(a, b, 'close')
      }
      await cluster.waitForLinks(timeoutMs)
    },
    async heal(timeoutMs = 10_000) {
      for (const a of nodes.keys()) {
        for (const b of nodes.keys()) if (a < b) cluster.setLink(a, b, 'pass')
      }
      await waitUntil(fullMesh, timeoutMs, 'the partition to heal')
    },
    async add(extra = {}) {
      const alive = [...nodes.keys()].filter((i) => !nodes[i]!.isStopping)
      if (alive.some((a) => alive.some((b) => a < b && cut.has(key(a, b))))) {
        throw new Error('add a node only while no link between live nodes is cut')
      }
      const seed = live()[0]
      const node = await start(nodes.length, extra)
      if (seed !== undefined) node.connect(seed.url)
      await waitUntil(fullMesh, 10_000, 'the new node to join the mesh')
      return node
    },
    async waitForLinks(timeoutMs = 10_000) {
      await waitUntil(
        () =>
          nodes.every((x, i) =>
            nodes.every(
              (y, j) =>
                i === j || x.isStopping || y.isStopping || x.isUp(y.id) === !cut.has(key(i, j)),
            ),
          ),
        timeoutMs,
        'every node to see the links as set',
      )
    },
    [Symbol.asyncDispose]: dispose,
  }

  try {
    for (let i = 0; i < n; i++) await start(i, perNode(i))
    for (const node of nodes.slice(1)) node.connect(nodes[0]!.url)
    await waitUntil(fullMesh, 10_000, 'a full mesh through the proxies')
    return cluster
  } catch (error) {
    await dispose()
    throw error
  }
}
