// Helpers shared by the cluster tests: a logger that keeps its lines, node ids that sort where a
// test needs them, and small actors to observe remote traffic.
import { randomUUID } from 'node:crypto'
import { Actor, NoReply, createLogger, type From, type Logger } from '@sworm/actor'

/** Resolves with what `p` rejects with; fails the test if it resolves. */
export async function rejectionOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p
  } catch (e) {
    return e
  }
  throw new Error('expected the promise to reject, but it resolved')
}

/** Waits `ms` of real time: only to show that something does NOT happen meanwhile. */
export function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** A logger at `warn` that keeps every line it writes, parsed. */
export function recordingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  const logger = createLogger({
    level: 'warn',
    write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
  })
  return { logger, lines }
}

/**
 * A node id that sorts before (`prefix` '0') or after ('f') random uuids, for tests where the
 * smaller id decides who dials.
 */
export function nodeIdStartingWith(prefix: string): string {
  return prefix + randomUUID().slice(prefix.length)
}

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

/** Never replies to a call: for calls that must end by something other than a reply. */
export class Silent extends Actor {
  override handleCall(): typeof NoReply {
    return NoReply
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
