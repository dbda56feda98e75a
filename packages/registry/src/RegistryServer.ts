// The registry's process on each node: other nodes call it to act on this node's entries (only
// this node writes them), and to learn that an update has arrived (`sync`).
import { Actor, NoReply, type From } from '@swormjs/actor'
import type { Pid } from '@swormjs/actor'

/** What a registry does for its server. */
export interface ServerHost {
  unregisterLocal(key: string, reason: 'unregister'): boolean
  joinLocal(groupKey: string, pid: Pid): void
  leaveLocal(groupKey: string, pid: Pid): void
  /** True while this node's own entry for `key` is live and held by `pid`. */
  holds(key: string, pid: Pid): boolean
}

export type ServerRequest =
  | { op: 'sync' }
  | { op: 'unregister'; key: string }
  | { op: 'join'; group: string; pid: Pid }
  | { op: 'leave'; group: string; pid: Pid }
  | { op: 'holds'; key: string; pid: Pid }

export class RegistryServer extends Actor<ServerHost> {
  private host!: ServerHost

  override init(host: ServerHost): void {
    this.host = host
  }

  override handleCall(msg: ServerRequest, from: From): unknown {
    // A request that fails (a join of a process that is gone) is the caller's error: it must
    // not crash the server, which every other node relies on.
    try {
      return this.handle(msg)
    } catch (e) {
      this.replyError(from, e)
      return NoReply
    }
  }

  private handle(msg: ServerRequest): unknown {
    switch (msg.op) {
      case 'sync':
        // The reply leaves after every doc update queued before it: when it arrives, the caller
        // knows this node has applied them.
        return true
      case 'unregister':
        return this.host.unregisterLocal(msg.key, 'unregister')
      case 'join':
        this.host.joinLocal(msg.group, msg.pid)
        return true
      case 'leave':
        this.host.leaveLocal(msg.group, msg.pid)
        return true
      case 'holds':
        return this.host.holds(msg.key, msg.pid)
    }
  }
}
