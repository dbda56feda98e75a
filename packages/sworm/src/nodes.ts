// The nodes started through `sworm`'s `startNode` in this OS process. A static call made outside
// any process binds to the one node here (an error if there are several): that is the only
// state this package keeps outside a node, and it is what "the node of this process" means.
import type { Runtime } from '@swormjs/actor'
import type { Node } from '@swormjs/cluster'

const started = new Set<Node>()
const NODE = Symbol('sworm.node')

export function addNode(node: Node): void {
  started.add(node)
  node.runtime.services.set(NODE, node)
}

export function removeNode(node: Node): void {
  started.delete(node)
}

export function startedNodes(): Node[] {
  return [...started].filter((n) => !n.isStopping)
}

export function nodeOfRuntime(runtime: Runtime): Node | undefined {
  return runtime.services.get(NODE) as Node | undefined
}
