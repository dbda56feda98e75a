// How a runtime reaches processes of other nodes: the interface the cluster implements, in a file
// of its own so that the runtime's parts (and the process record) name it without the runtime.
import { UnknownNode } from './errors.js'
import type { ExitReason } from './exitReason.js'
import { nodeOf, type Pid, type Ref } from './Pid.js'

/**
 * How the runtime reaches pids of other nodes. The cluster package implements it; a runtime
 * without one fails every remote operation with `UnknownNode`.
 */
export interface Route {
  /** Delivers `msg` to a process of another node. Throws `UnknownNode` if it has no way there. */
  send(to: Pid, msg: unknown): void
  /**
   * Delivers the result of a call to the node that made `ref`. `later`: nobody waits on it (an
   * acknowledgement), so it may ride with the next frames to that node (see `demonitor`).
   */
  reply(ref: Ref, ok: boolean, value: unknown, later?: boolean): void
  /** Sends an exit signal to a remote pid. */
  exit(to: Pid, from: Pid, reason: ExitReason, viaLink: boolean): void
  /** Asks the remote node to link `remote` back to `local`. False: that node is not connected. */
  link(local: Pid, remote: Pid): boolean
  /** Asks the remote node to drop the link between `remote` and `local`. */
  unlink(local: Pid, remote: Pid): void
  /**
   * Delivers a call (`envelope`, whose reply goes to `ref`) to a remote process, and asks its
   * node to report the process's end under `ref` until that node sends the reply: one frame
   * where a monitor and a send would take two, and none to take the monitor back. False: not
   * connected.
   */
  call(to: Pid, ref: Ref, envelope: unknown): boolean
  /** Asks the remote node to report `target`'s end under `ref`. False: not connected. */
  monitor(target: Pid, ref: Ref): boolean
  /**
   * Asks the remote node to drop the monitor `ref` on `target`. `later`: it may ride with the
   * next frames to that node, within a few ms (the watch of a call answered from elsewhere).
   */
  demonitor(target: Pid, ref: Ref, later?: boolean): void
}

/** The route to `pid`'s node: `route` itself, or `UnknownNode` when the runtime has none. */
export function routeTo(route: Route | undefined, pid: Pid): Route {
  if (route === undefined) throw new UnknownNode(nodeOf(pid))
  return route
}
