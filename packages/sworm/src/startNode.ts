// `startNode` of the `sworm` package: the cluster's, plus `children`, the sworms this node runs
// (with their options from the class and the config file), and `node.sworm(Rooms)` /
// `node.start(Rooms)` on the node it returns.
import {
  BadConfig,
  startNode as startClusterNode,
  validateNodeOptions,
  type Node,
  type NodeOptions,
} from '@swormjs/cluster'
import {
  checkConfigSworms,
  loadConfigFile,
  resolveSwormOptions,
  type SwormConfigFile,
} from './config.js'
import { addNode, removeNode } from './nodes.js'
import type { SwormClass } from './Sworm.js'
import { SwormInstance } from './SwormInstance.js'
import type { Activate } from './typed.js'

/** Options of `startNode`: the node's (see `@swormjs/cluster`), and the sworms it runs. */
export interface SwormNodeOptions extends NodeOptions {
  /** The sworms this node runs. Only nodes that run a sworm host its processes. */
  children?: SwormClass[]
  /**
   * The sworms this node uses without running their workers (Akka's proxy-only shard region):
   * it calls, casts, looks names up, joins groups and registers names, whose workers run on
   * the nodes that have the sworm in `children`. It keeps no copies (`replicas`) and writes no
   * `persist` store, and counts for no `quorum`.
   */
  clients?: SwormClass[]
  /** Where to look for `sworm.config.json` (default: the working directory). */
  configDir?: string
  /**
   * With `minNodes` above 1: how long `startNode` waits for that many nodes to run its sworms;
   * past it, the node stops and the start fails with `NotReady`. Default: no limit (a node still
   * waiting says so in its log every 10 s).
   */
  readyTimeoutMs?: number
  /** Gives the start's wait for `minNodes` up: the node stops, the start fails with `AbortError`. */
  signal?: AbortSignal
}

/** A node that runs sworms. */
export interface SwormNode extends Node {
  /** The instance of a sworm on this node (its statics' twins). */
  sworm(sworm: SwormClass): SwormInstance
  /** Starts one more sworm on this node. */
  start(sworm: SwormClass): Promise<SwormInstance>
}

/**
 * Starts a node that runs `children`. Their options come from `static options`, overridden by
 * `sworm.config.json` (or the file `SWORM_CONFIG` names); a typo there fails the start.
 * @example
 * await startNode({ port: 4001, seeds: ['ws://10.0.0.2:4001'], cookie, children: [Rooms] })
 */
export async function startNode(options: SwormNodeOptions = {}): Promise<SwormNode> {
  const { children = [], clients = [], configDir, readyTimeoutMs, signal, ...nodeOptions } = options
  validateNodeOptions(nodeOptions)
  if (readyTimeoutMs !== undefined && !(Number.isFinite(readyTimeoutMs) && readyTimeoutMs >= 0)) {
    throw new BadConfig(`startNode option 'readyTimeoutMs' must be a number ≥ 0`)
  }
  const file = loadConfigFile(configDir !== undefined ? { cwd: configDir } : {})
  const all = [...children, ...clients]
  const names = all.map((c) => c.name)
  const twice = names.find((n, i) => names.indexOf(n) !== i)
  if (twice !== undefined) {
    throw new BadConfig(`sworm ${twice} is given twice (in children or clients): give it once`)
  }
  checkConfigSworms(file, names)
  // Resolve every sworm's options before anything listens: a bad config fails the start cleanly.
  const resolved = all.map((c) => resolveSwormOptions(c.name, c.options, file, names))
  const node = await startClusterNode(nodeOptions)
  addNode(node)
  node.onStop('sworm nodes', async () => removeNode(node))
  const swormNode = Object.assign(node, {
    sworm(sworm: SwormClass): SwormInstance {
      return sworm.on(node)
    },
    start(sworm: SwormClass): Promise<SwormInstance> {
      return startSworm(node, sworm, file, [...names, sworm.name])
    },
  })
  try {
    for (const [i, c] of all.entries()) {
      await SwormInstance.start(node, c.name, c.actors, resolved[i]!, {
        activate: activateOf(c),
        client: i >= children.length,
        functions: c.functions,
      })
    }
    // `minNodes`: resolve only once that many nodes run every sworm, so that the program's
    // first `registerName` places its name where every other node would (Akka's
    // min-nr-of-members). Names registered meanwhile wait too (see `Names.register`).
    await node.ready({
      ...(readyTimeoutMs !== undefined ? { timeoutMs: readyTimeoutMs } : {}),
      ...(signal !== undefined ? { signal } : {}),
    })
  } catch (e) {
    await node.stop()
    throw e
  }
  return swormNode
}

/**
 * Runs `sworm` on a node started with `@swormjs/cluster`'s `startNode` (what `node.start(sworm)`
 * does on a sworm node), with its options from the class and the config file.
 */
export function runSworm(
  node: Node,
  sworm: SwormClass,
  options: {
    configDir?: string
    /** Use the sworm without running its workers (see `SwormNodeOptions.clients`). */
    client?: boolean
  } = {},
): Promise<SwormInstance> {
  const file = loadConfigFile(options.configDir !== undefined ? { cwd: options.configDir } : {})
  const names = [sworm.name, ...Object.keys(file?.sworms ?? {})]
  return startSworm(node, sworm, file, names, options.client === true)
}

function startSworm(
  node: Node,
  sworm: SwormClass,
  file: SwormConfigFile | undefined,
  names: string[],
  client = false,
): Promise<SwormInstance> {
  return SwormInstance.start(
    node,
    sworm.name,
    sworm.actors,
    resolveSwormOptions(sworm.name, sworm.options, file, names),
    { activate: activateOf(sworm), client, functions: sworm.functions },
  )
}

/** With `static activation = 'onDemand'`, the sworm's `activate`, bound to it. */
function activateOf(sworm: SwormClass): Activate | undefined {
  return sworm.activation === 'onDemand' ? (name) => sworm.activate(name) : undefined
}
