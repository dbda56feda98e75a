// `startNode` of the `sworm` package: the cluster's, plus `children`, the sworms this node runs
// (with their options from the class and the config file), and `node.sworm(Rooms)` /
// `node.start(Rooms)` on the node it returns.
import {
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

/** Options of `startNode`: the node's (see `@swormjs/cluster`), and the sworms it runs. */
export interface SwormNodeOptions extends NodeOptions {
  /** The sworms this node runs. Only nodes that run a sworm host its processes. */
  children?: SwormClass[]
  /** Where to look for `sworm.config.json` (default: the working directory). */
  configDir?: string
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
  const { children = [], configDir, ...nodeOptions } = options
  validateNodeOptions(nodeOptions)
  const file = loadConfigFile(configDir !== undefined ? { cwd: configDir } : {})
  const names = children.map((c) => c.name)
  checkConfigSworms(file, names)
  // Resolve every sworm's options before anything listens: a bad config fails the start cleanly.
  const resolved = children.map((c) => resolveSwormOptions(c.name, c.options, file, names))
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
    for (const [i, c] of children.entries()) {
      await SwormInstance.start(node, c.name, c.actors, resolved[i]!)
    }
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
  options: { configDir?: string } = {},
): Promise<SwormInstance> {
  const file = loadConfigFile(options.configDir !== undefined ? { cwd: options.configDir } : {})
  return startSworm(node, sworm, file, [sworm.name, ...Object.keys(file?.sworms ?? {})])
}

function startSworm(
  node: Node,
  sworm: SwormClass,
  file: SwormConfigFile | undefined,
  names: string[],
): Promise<SwormInstance> {
  return SwormInstance.start(
    node,
    sworm.name,
    sworm.actors,
    resolveSwormOptions(sworm.name, sworm.options, file, names),
  )
}
