// In-process sworm nodes for the sworm tests: a mesh of `n` nodes running `children`, ready once
// every node sees every other and every sworm counts every node as a member.
import { silentLogger } from '@swormjs/actor'
import { startNode, type SwormClass, type SwormNode, type SwormNodeOptions } from '@swormjs/sworm'
import { TEST_COOKIE, waitUntil } from '../../src/index.js'

export interface SwormCluster extends AsyncDisposable {
  nodes: SwormNode[]
  /** Node `i`, throwing if there is none. */
  at(i: number): SwormNode
  /** The nodes not stopped. */
  live(): SwormNode[]
}

export async function swormCluster(
  n: number,
  children: SwormClass[],
  options: Partial<SwormNodeOptions> = {},
): Promise<SwormCluster> {
  const nodes: SwormNode[] = []
  for (let i = 0; i < n; i++) {
    nodes.push(
      await startNode({
        name: `s${i}`,
        cookie: TEST_COOKIE,
        logger: silentLogger,
        children,
        seeds: i === 0 ? [] : [nodes[0]!.url],
        ...options,
      }),
    )
  }
  await waitUntil(
    () =>
      nodes.every(
        (x) =>
          x.nodes().filter((p) => p.status === 'up').length === n - 1 &&
          children.every((c) => c.on(x).supervisor.stats().members === n),
      ),
    5000,
    'the mesh and the sworms on every node',
  )
  return {
    nodes,
    at(i) {
      const node = nodes[i]
      if (node === undefined) throw new Error(`no node ${i}`)
      return node
    },
    live: () => nodes.filter((x) => !x.isStopping),
    async [Symbol.asyncDispose]() {
      await Promise.all(nodes.map((x) => x.stop()))
    },
  }
}
