// The child side of the process harness: a script run by `spawnNode` answers JSON-line commands
// from stdin and prints events and replies as JSON lines on stdout.
import { createInterface } from 'node:readline'

/** A command as the child receives it: the `op` to run, the harness's `id`, and its arguments. */
export interface ChildRequest {
  readonly id: number
  readonly op: string
  readonly [key: string]: unknown
}

/** Runs one command; what it returns (or resolves to) is sent back as `result`. */
export type ChildHandler = (request: ChildRequest) => unknown

/** Options of {@link serve}. */
export interface ServeOptions {
  /** Called when stdin ends (the harness went away). Default: `process.exit(0)`. */
  readonly onStdinEnd?: () => void
}

/** `r[key]` as a string; throws (the harness gets the error) when it is not one. */
export function stringArg(r: ChildRequest, key: string): string {
  const v = r[key]
  if (typeof v !== 'string') throw new Error(`${key} must be a string`)
  return v
}

/** `r[key]` (or `fallback` when absent) as an integer >= 0; throws when it is not one. */
export function intArg(r: ChildRequest, key: string, fallback?: number): number {
  const v = r[key] ?? fallback
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new Error(`${key} must be an integer >= 0`)
  }
  return v
}

/** Runs `fn(0..count-1)` in order, with at most `concurrency` in flight. */
export async function inLanes(
  count: number,
  concurrency: number,
  fn: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0
  const lane = async (): Promise<void> => {
    while (next < count) await fn(next++)
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, lane))
}

/**
 * Open loop, `inLanes`'s counterpart: calls `fire(i)` for i = 0, 1, ... at a steady `rate` per
 * second, the i-th due at `start + i * 1000 / rate` on `now`'s clock (ms), whatever the earlier
 * ones took (none is awaited: a slow one piles up work in flight instead of slowing the rest),
 * while `more(i)` holds. Checks the schedule every millisecond; resolves with how far behind it
 * ran at worst.
 */
export async function openLoop(options: {
  rate: number
  now: () => number
  start: number
  more: (i: number) => boolean
  fire: (i: number) => void
}): Promise<{ worstLateMs: number }> {
  const { rate, now, start, more, fire } = options
  let i = 0
  let worstLateMs = 0
  while (more(i)) {
    const t = now()
    const due = Math.floor(((t - start) * rate) / 1000) + 1
    for (; i < due && more(i); i++) {
      worstLateMs = Math.max(worstLateMs, t - (start + (i * 1000) / rate))
      fire(i)
    }
    await new Promise((res) => setTimeout(res, 1))
  }
  return { worstLateMs }
}

/** Prints one JSON line on stdout. Writes to a pipe are synchronous on Linux, so none is lost. */
function writeLine(value: object): void {
  process.stdout.write(`${JSON.stringify(value)}\n`)
}

/** Prints an event line; the harness records it in `events`. */
export function emit(event: Readonly<Record<string, unknown>>): void {
  writeLine(event)
}

/** Prints the `{ "event": "ready", ...info }` line that resolves the harness's `ready`. */
export function ready(info: Readonly<Record<string, unknown>> = {}): void {
  writeLine({ ...info, event: 'ready' })
}

function describe(error: unknown): { error: string; code?: string } {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    return typeof code === 'string' ? { error: error.message, code } : { error: error.message }
  }
  return { error: String(error) }
}

function isRequest(u: unknown): u is ChildRequest {
  if (typeof u !== 'object' || u === null) return false
  const { id, op } = u as { id?: unknown; op?: unknown }
  return typeof id === 'number' && typeof op === 'string'
}

async function dispatch(
  handlers: Readonly<Record<string, ChildHandler>>,
  request: ChildRequest,
): Promise<void> {
  const handler = Object.hasOwn(handlers, request.op) ? handlers[request.op] : undefined
  if (handler === undefined) {
    writeLine({ id: request.id, ok: false, error: `unknown op ${JSON.stringify(request.op)}` })
    return
  }
  let line: string
  try {
    const result: unknown = await handler(request)
    line = JSON.stringify({ id: request.id, ok: true, result })
  } catch (error) {
    line = JSON.stringify({ id: request.id, ok: false, ...describe(error) })
  }
  process.stdout.write(`${line}\n`)
}

/**
 * Answers commands from stdin: each line `{ "id": n, "op": ..., ... }` runs `handlers[op]` and
 * gets one reply line, `{ "id": n, "ok": true, "result": ... }` or `{ "id": n, "ok": false,
 * "error": "..." }`. Commands run concurrently, each as soon as its line arrives. When stdin ends
 * (the test process went away), the child exits, so it can never outlive its harness.
 *
 * @example
 * ```ts
 * serve({ add: ({ a, b }) => Number(a) + Number(b) })
 * ready({ port })
 * ```
 */
export function serve(
  handlers: Readonly<Record<string, ChildHandler>>,
  options: ServeOptions = {},
): void {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })
  lines.on('line', (line) => {
    if (line.trim() === '') return
    let parsed: unknown
    try {
      parsed = JSON.parse(line)
    } catch {
      process.stderr.write(`childRuntime: ignoring a line that is not JSON: ${line}\n`)
      return
    }
    if (!isRequest(parsed)) {
      process.stderr.write(`childRuntime: ignoring a line that is not a command: ${line}\n`)
      return
    }
    void dispatch(handlers, parsed)
  })
  lines.on('close', () => {
    if (options.onStdinEnd !== undefined) options.onStdinEnd()
    else process.exit(0)
  })
}

/**
 * A node process's graceful end, the same on request and on SIGTERM: the node leaves (its
 * children move), then the process exits 0. Returns the `stop` request handler.
 */
export function gracefulStop(node: { stop(): Promise<void> }): () => Promise<boolean> {
  process.on('SIGTERM', () => {
    void node.stop().then(() => process.exit(0))
  })
  return async () => {
    await node.stop()
    setImmediate(() => process.exit(0))
    return true
  }
}
