// One per sworm and node, its pid published in the sworm registry's `info`: it takes the holds
// another node asks for before it moves names away (see `SwormInstance.fence`).
import { Actor, type Pid } from '@sworm/actor'

/** A hold request: these names (by key) are moving away from these delegates. */
export interface HoldRequest {
  op: 'hold'
  items: Array<[key: string, delegate: Pid]>
}

export interface RouterHost {
  hold(key: string, delegate: Pid): void
}

export class Router extends Actor<RouterHost> {
  private host!: RouterHost

  override init(host: RouterHost): void {
    this.host = host
  }

  override handleCall(msg: unknown): boolean {
    if (!isHoldRequest(msg)) return false
    // The reply travels back on the socket that carried every message this node sent to those
    // delegates before the hold: once it arrives, none of them is still on its way.
    for (const [key, delegate] of msg.items) this.host.hold(key, delegate)
    return true
  }
}

function isHoldRequest(m: unknown): m is HoldRequest {
  if (typeof m !== 'object' || m === null || (m as { op?: unknown }).op !== 'hold') return false
  const items = (m as { items?: unknown }).items
  return (
    Array.isArray(items) &&
    items.every((i) => Array.isArray(i) && typeof i[0] === 'string' && typeof i[1] === 'string')
  )
}
