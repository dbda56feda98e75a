// Small helpers shared by the in-process tests: fast failure detection, what a promise rejects
// with, real-time pauses, node ids that sort where a test needs them, a logger that keeps its
// lines, a silent actor.
import { randomUUID } from 'node:crypto'
import { Actor, NoReply, createLogger, type Logger } from '@swormjs/actor'
import type { NodeOptions } from '@swormjs/cluster'
import { waitUntil } from './testCluster.js'

/**
 * Node options for tests that wait on failure detection: heartbeats every `heartbeatIntervalMs`,
 * a silent peer down about `heartbeatTimeoutMs` after its last beat, and redials within
 * 20–300 ms. The timeout is the node's deprecated single bound, which sets the detector so that
 * unreachable and down together take about that long (down as soon as unreachable): tests of
 * something else that wait for a timeout-down. Tests of the unreachable state give the
 * detector's own options.
 */
export function fastFailureDetection(
  heartbeatIntervalMs: number,
  heartbeatTimeoutMs: number,
): NodeOptions {
  return { heartbeatIntervalMs, heartbeatTimeoutMs, reconnectMinMs: 20, reconnectMaxMs: 300 }
}

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

/** Resolves once `Date.now()` has moved past `ms`: the next clock read is a later millisecond. */
export async function pastMillisecond(ms = Date.now()): Promise<void> {
  await waitUntil(() => Date.now() > ms, 1000, 'the next millisecond')
}

/**
 * A node id that sorts before (`prefix` '0') or after ('f') random uuids, for tests where the
 * smaller id decides.
 */
export function nodeIdStartingWith(prefix: string): string {
  return prefix + randomUUID().slice(prefix.length)
}

/** What `recordingLogger` returns: the logger, and the lines it wrote. */
export interface RecordingLogger {
  logger: Logger
  lines: Array<Record<string, unknown>>
  /** Lines of node `name` whose message contains `text`. */
  find: (name: string, text: string) => Array<Record<string, unknown>>
}

/** A logger at `warn` that keeps every line it writes, parsed. */
export function recordingLogger(): RecordingLogger {
  const lines: Array<Record<string, unknown>> = []
  const logger = createLogger({
    level: 'warn',
    write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
  })
  const find = (name: string, text: string): Array<Record<string, unknown>> =>
    lines.filter(
      (l) => l['node'] === name && typeof l['msg'] === 'string' && l['msg'].includes(text),
    )
  return { logger, lines, find }
}

/** Never replies to a call: for calls that must end by something other than a reply. */
export class Silent extends Actor {
  override handleCall(): typeof NoReply {
    return NoReply
  }
}
