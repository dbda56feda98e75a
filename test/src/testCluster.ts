// Several nodes in one OS process, meshed over real loopback sockets: the quick way to test
// cluster behaviour. `await using cluster = await testCluster(3)` stops every node afterwards.
import { silentLogger } from '@swormjs/actor'
import { startNode, type Node, type NodeOptions } from '@swormjs/cluster'

export const TEST_COOKIE = 'test-cookie-of-the-sworm-suite'

/** A set of in-process nodes. */
export interface TestCluster extends AsyncDisposable {
  readonly nodes: Node[]
  /** Node `i`, throwing if there is none. */
  node(i: number): Node
  /** Starts one more node that joins through the first, and waits until the mesh is full. */
  add(options?: NodeOptions): Promise<Node>
  /** Resolves when every live node sees every other live node (or rejects after `timeoutMs`). */
  waitForMesh(timeoutMs?: number): Promise<void>
  /** Stops every node gracefully. */
  stop(): Promise<void>
}

/** Polls `check` every 10 ms until it returns true; rejects with `what` after `timeoutMs`. */
export async function waitUntil(
  check: () => boolean,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/**
 * Starts `n` nodes on 127.0.0.1 (free ports), the first as seed of the others, and waits for
 * the full mesh. Options apply to every node; the logger is silent unless given.
 */
export async function testCluster(n: number, options: NodeOptions = {}): Promise<TestCluster> {
  const nodes: Node[] = []
  const base: NodeOptions = {
    cookie: TEST_COOKIE,
    logger: silentLogger,
    host: '127.0.0.1',
    ...options,
  }
  const first = await startNode({ ...base, name: options.name ?? 'n0' })
  nodes.push(first)
  for (let i = 1; i < n; i++) {
    nodes.push(
      await startNode({ ...base, name: `n${i}`, seeds: [first.url, ...(options.seeds ?? [])] }),
    )
  }
  const live = (): Node[] => nodes.filter((x) => !x.isStopping)
  const cluster: TestCluster = {
    nodes,
    node(i) {
      const node = nodes[i]
      if (node === undefined) throw new Error(`no node ${i}`)
      return node
    },
    async add(extra = {}) {
      const seed = live()[0]
      const node = await startNode({
        ...base,
        name: `n${nodes.length}`,
        ...extra,
        seeds: seed ? [seed.url] : [],
      })
      nodes.push(node)
      await cluster.waitForMesh()
      return node
    },
    async waitForMesh(timeoutMs = 5000) {
      await waitUntil(
        () => live().every((x) => live().every((y) => x === y || x.isUp(y.id))),
        timeoutMs,
        'a full mesh',
      )
    },
    async stop() {
      await Promise.all(nodes.map((x) => x.stop()))
    },
    async [Symbol.asyncDispose]() {
      await cluster.stop()
    },
  }
  await cluster.waitForMesh()
  return cluster
}
