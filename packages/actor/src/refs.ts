// Refs one runtime makes: the node, a serial, and 48 random bits, so that a peer that sees some
// of this node's refs cannot guess another (and forge a reply to a call it was never sent).
import { randomFillSync } from 'node:crypto'
import { formatRef, type NodeId, type Ref } from './Pid.js'

/** The ref maker of node `nodeId`: each call gives a fresh ref, unique to this incarnation. */
export function refMaker(nodeId: NodeId): () => Ref {
  let serial = 0
  return () => `${formatRef(nodeId, ++serial)}~${randomTag()}` as Ref
}

/** Random bytes drawn 4 KiB at a time: 8 base64url characters (48 bits) per call. */
let pool = Buffer.alloc(0)
let poolAt = 0
function randomTag(): string {
  if (poolAt + 6 > pool.length) {
    pool = randomFillSync(Buffer.alloc(4096))
    poolAt = 0
  }
  poolAt += 6
  return pool.toString('base64url', poolAt - 6, poolAt)
}
