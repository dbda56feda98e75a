// Helpers of the multi-process cluster tests: real node processes (test/dist/fixtures/clusterNode.js)
// on 127.0.0.1, seeded meshes, and meshes whose every link runs through a FaultProxy.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { expect, vi } from 'vitest'
import {
  FaultProxy,
  TEST_COOKIE,
  spawnNodes,
  type ChildEvent,
  type ChildNode,
  type ChildNodes,
  type FaultMode,
} from '../src/index.js'

// Children run compiled JavaScript, so these tests need `dist` (`npm test` builds before vitest).
export const clusterNodeScript = fileURLToPath(
  new URL('../dist/fixtures/clusterNode.js', import.meta.url),
)
if (!existsSync(clusterNodeScript)) {
  throw new Error(`${clusterNodeScript} is missing: build first (npx turbo run build, or npm test)`)
}

/** Bound of the waits that are not the promise under test: generous, the machine is shared. */
export const SLOW_MS = 15_000

/** What the fixture's `info` op (and its ready line) tells about a node. */
export interface NodeInfo {
  readonly id: string
  readonly name: string
  readonly url: string
  readonly port: number
}

/** A peer as the fixture's `nodes` op lists it. */
export interface PeerInfo {
  readonly id: string
  readonly name: string
  readonly status: string
}

export async function info(node: ChildNode): Promise<NodeInfo> {
  return (await node.request({ op: 'info' })) as NodeInfo
}

/** The ids of the nodes `node` sees up, sorted. */
export async function peerIds(node: ChildNode): Promise<string[]> {
  const peers = (await node.request({ op: 'nodes' })) as PeerInfo[]
  return peers.map((p) => p.id).sort()
}

/** Resolves once node `i` sees exactly the nodes `expected(i)` up (ids), for every `i`. */
export async function waitForView(
  nodes: readonly ChildNode[],
  expected: (i: number) => readonly string[],
  timeoutMs = SLOW_MS,
): Promise<void> {
  await vi.waitFor(
    async () => {
      for (const [i, node] of nodes.entries()) {
        expect(await peerIds(node), `the view of ${node.name}`).toEqual([...expected(i)].sort())
      }
    },
    { timeout: timeoutMs, interval: 50 },
  )
}

/** Resolves once every node sees every other one up. */
export async function waitForMesh(
  nodes: readonly ChildNode[],
  infos: readonly NodeInfo[],
  timeoutMs = SLOW_MS,
): Promise<void> {
  await waitForView(nodes, (i) => infos.filter((_, j) => j !== i).map((x) => x.id), timeoutMs)
}

/** The `at` (the child's Date.now() when it printed the event) of an event. */
export function at(event: ChildEvent): number {
  expect(typeof event['at']).toBe('number')
  return event['at'] as number
}

/** Waits for the `nodeDown` of node `id` on `node`. */
export function nodeDownOf(node: ChildNode, id: string, timeoutMs = SLOW_MS): Promise<ChildEvent> {
  return node.waitForEvent((e) => e.event === 'nodeDown' && e.id === id, timeoutMs)
}

/** Spawns `names.length` nodes at once; `env(i)` is added to node `i`'s environment. */
export function spawnCluster(
  names: readonly string[],
  env: (i: number) => Record<string, string> = () => ({}),
): Promise<ChildNodes> {
  return spawnNodes(names.length, (i) => ({
    script: clusterNodeScript,
    name: names[i]!,
    env: { NODE_NAME: names[i]!, SWORM_COOKIE: TEST_COOKIE, ...env(i) },
    readyTimeoutMs: SLOW_MS,
  }))
}

/** Nodes started together, with their infos, disposed together. */
export interface Cluster extends AsyncDisposable {
  readonly nodes: ChildNodes
  readonly infos: readonly NodeInfo[]
}

/**
 * Starts the first node, then the others with only the first as seed (they find each other by
 * gossip), and waits for the full mesh.
 */
export async function seededCluster(
  names: readonly string[],
  env: Record<string, string> = {},
): Promise<Cluster> {
  const [firstName, ...rest] = names
  const first = await spawnCluster([firstName!], () => env)
  try {
    const seed = await info(first[0]!)
    const others = await spawnCluster(rest, () => ({ ...env, SEEDS: JSON.stringify([seed.url]) }))
    const nodes = Object.assign([first[0]!, ...others], {
      async [Symbol.asyncDispose]() {
        await Promise.all([first[Symbol.asyncDispose](), others[Symbol.asyncDispose]()])
      },
    })
    const infos = [seed, ...(await Promise.all(others.map(info)))]
    await waitForMesh(nodes, infos)
    return { nodes, infos, [Symbol.asyncDispose]: () => nodes[Symbol.asyncDispose]() }
  } catch (error) {
    await first[Symbol.asyncDispose]()
    throw error
  }
}

/** A mesh whose every link runs through a FaultProxy: node `i` dials node `j` via `proxy(i, j)`. */
export interface ProxiedCluster extends Cluster {
  proxy(from: number, to: number): FaultProxy
  /** Sets the proxies of both directions between `a` and `b`. */
  setLink(a: number, b: number, mode: FaultMode): void
}

/**
 * Starts nodes without seeds, puts one proxy on every ordered pair (`routes` rewrites the real
 * URL of node `j`, as node `i` dials it, to the proxy), has every node dial the first (`connect`
 * makes it a seed, so they redial it after a cut), and waits for the full mesh. With
 * `join: false`, the nodes are left unconnected.
 */
export async function proxiedCluster(
  names: readonly string[],
  env: Record<string, string> = {},
  { join = true }: { join?: boolean } = {},
): Promise<ProxiedCluster> {
  const nodes = await spawnCluster(names, () => env)
  const proxies = new Map<string, FaultProxy>()
  const dispose = async (): Promise<void> => {
    await nodes[Symbol.asyncDispose]()
    await Promise.all([...proxies.values()].map((p) => p.close()))
  }
  try {
    const infos = await Promise.all(nodes.map(info))
    for (const i of infos.keys()) {
      for (const j of infos.keys()) {
        if (i === j) continue
        proxies.set(`${i}>${j}`, await FaultProxy.start({ target: { port: infos[j]!.port } }))
      }
    }
    const proxy = (from: number, to: number): FaultProxy => {
      const p = proxies.get(`${from}>${to}`)
      if (p === undefined) throw new Error(`no proxy from node ${from} to node ${to}`)
      return p
    }
    for (const [i, node] of nodes.entries()) {
      const map: Record<string, string> = {}
      for (const j of infos.keys()) if (j !== i) map[infos[j]!.url] = proxy(i, j).wsUrl
      await node.request({ op: 'routes', map })
    }
    if (join) {
      for (const node of nodes.slice(1)) await node.request({ op: 'connect', url: infos[0]!.url })
      await waitForMesh(nodes, infos)
    }
    return {
      nodes,
      infos,
      proxy,
      setLink(a, b, mode) {
        proxy(a, b).setMode(mode)
        proxy(b, a).setMode(mode)
      },
      [Symbol.asyncDispose]: dispose,
    }
  } catch (error) {
    await dispose()
    throw error
  }
}
