// Helpers shared by the cluster tests: small actors to observe remote traffic (the helpers of
// every in-process test are in ../../src).
import { Actor, NoReply, type From } from '@swormjs/actor'

/**
 * Keeps what it receives. Calls: `'get'` returns it all, `'count'` how many, `'ids'` the `id`
 * field of each, `'node'` the node id; anything else is echoed.
 */
export class Inbox extends Actor {
  readonly got: unknown[] = []
  override handleInfo(msg: unknown): void {
    this.got.push(msg)
  }
  override handleCast(msg: unknown): void {
    this.got.push({ cast: msg })
  }
  override handleCall(msg: unknown): unknown {
    if (msg === 'get') return this.got
    if (msg === 'count') return this.got.length
    if (msg === 'ids') return this.got.map((m) => (m as { id?: unknown }).id)
    if (msg === 'node') return this.runtime.nodeId
    return msg
  }
}

/** Replies with whatever `msg.reply` asks for: a value, an error, or an unsendable value. */
export class Replier extends Actor {
  override handleCall(msg: { kind: string; code?: string }, from: From): unknown {
    switch (msg.kind) {
      case 'fn':
        return () => 1
      case 'symbol':
        return Symbol('nope')
      case 'error': {
        const e = new Error('it went wrong') as Error & { code?: string }
        if (msg.code !== undefined) e.code = msg.code
        this.replyError(from, e)
        return NoReply
      }
      default:
        return msg
    }
  }
}
