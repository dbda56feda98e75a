// Runs real Node child processes for multi-process tests and talks with them over JSON lines
// (see childRuntime.ts for the child side); a registry makes sure none outlives the tests.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { existsSync } from 'node:fs'
import * as path from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { ChildRequestError, HarnessError, HarnessErrorCode } from './errors.js'

/** A JSON line a child printed that is not a reply: the ready line and every `emit`. */
export type ChildEvent = Readonly<Record<string, unknown>>

/** A command for the child: `op` picks the handler; `id` is added by the harness. */
export interface ChildCommand {
  readonly op: string
  readonly id?: never
  readonly [key: string]: unknown
}

/** How a child ended: `code` is null when a signal killed it. */
export interface ChildExit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

/** Options of {@link spawnNode}. */
export interface SpawnNodeOptions {
  /** The compiled JavaScript file to run (a path or a `file:` URL); run with plain `node`. */
  readonly script: string | URL
  /** Arguments after the script. Default none. */
  readonly args?: readonly string[]
  /** Variables set over the parent's environment; `undefined` removes one. Default none. */
  readonly env?: Readonly<Record<string, string | undefined>>
  /** Name used in error messages. Default: the script's base name and a sequence number. */
  readonly name?: string
  /** Flags for node itself, before the script. Default none. */
  readonly execArgv?: readonly string[]
  /** How long `ready` waits for the ready line before it rejects. Default 10 000. */
  readonly readyTimeoutMs?: number
  /** How long `request` waits for a reply unless told otherwise. Default 10 000. */
  readonly requestTimeoutMs?: number
  /** How long `stop` (and `restart`) waits after SIGTERM before SIGKILL. Default 5 000. */
  readonly stopTimeoutMs?: number
}

const DEFAULT_READY_TIMEOUT_MS = 10_000
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000
const DEFAULT_STOP_TIMEOUT_MS = 5_000
const DEFAULT_EVENT_TIMEOUT_MS = 10_000
/** Only the tail of stderr is kept: it is for error messages, not for assertions. */
const STDERR_LIMIT = 64 * 1024
const STDERR_SHOWN = 4 * 1024
const LOGS_SHOWN = 20

// Every child process not yet exited, so that killAllChildren (and the exit hook) can end it.
const live = new Set<Run>()
let exitHookInstalled = false

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  // Last resort if a test file never disposes: the parent is exiting, so only sync work is left.
  process.once('exit', () => {
    for (const run of live) run.signal('SIGKILL')
  })
}

interface Deferred<T> {
  readonly promise: Promise<T>
  resolve(value: T): void
  reject(error: unknown): void
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

function timer(fn: () => void, ms: number): NodeJS.Timeout {
  const t = setTimeout(fn, ms)
  t.unref()
  return t
}

function isObject(u: unknown): u is Record<string, unknown> {
  return typeof u === 'object' && u !== null && !Array.isArray(u)
}

function describeExit(exit: ChildExit): string {
  return exit.signal !== null ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`
}

interface PendingRequest {
  readonly op: string
  readonly reply: Deferred<unknown>
  readonly timeout: NodeJS.Timeout
}

interface EventWaiter {
  readonly predicate: (event: ChildEvent) => boolean
  readonly found: Deferred<ChildEvent>
}

/** One incarnation of a child: the process, its pending requests and what it printed. */
class Run {
  readonly name: string
  readonly proc: ChildProcessWithoutNullStreams
  readonly events: ChildEvent[] = []
  readonly logs: string[] = []
  readonly ready: Promise<ChildEvent>
  readonly exited: Promise<ChildExit>
  stderr = ''
  exit: ChildExit | undefined
  readonly #ready = deferred<ChildEvent>()
  readonly #exited = deferred<ChildExit>()
  readonly #pending = new Map<number, PendingRequest>()
  readonly #waiters = new Set<EventWaiter>()
  #readyTimer: NodeJS.Timeout | undefined
  #spawnError: Error | undefined

  constructor(name: string, file: string, options: SpawnNodeOptions) {
    this.name = name
    this.ready = this.#ready.promise
    this.exited = this.#exited.promise
    // Nobody may await `ready` (a test that only sends requests): don't report it as unhandled.
    this.ready.catch(() => undefined)
    const env: Record<string, string> = {}
    for (const [key, value] of Object.entries({ ...process.env, ...options.env })) {
      if (value !== undefined) env[key] = value
    }
    this.proc = spawn(
      process.execPath,
      [...(options.execArgv ?? []), file, ...(options.args ?? [])],
      { env, stdio: ['pipe', 'pipe', 'pipe'] },
    )
    installExitHook()
    live.add(this)
    const readyTimeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS
    this.#readyTimer = timer(() => {
      this.#readyTimer = undefined
      this.#ready.reject(
        this.#error(HarnessErrorCode.Timeout, `sent no ready line within ${readyTimeoutMs} ms`),
      )
      // A child that never got ready is of no use to the test: don't leave it running.
      this.signal('SIGKILL')
    }, readyTimeoutMs)

    this.proc.stdin.on('error', () => undefined) // EPIPE after the child died: 'close' reports it
    this.proc.stderr.setEncoding('utf8')
    this.proc.stderr.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-STDERR_LIMIT)
    })
    createInterface({ input: this.proc.stdout, crlfDelay: Infinity }).on('line', (line) =>
      this.#line(line),
    )
    this.proc.on('error', (error) => {
      // Spawning failed (no 'exit' follows), or a signal could not be sent (the child goes on).
      if (this.proc.pid === undefined) {
        this.#spawnError = error
        this.#finish({ code: null, signal: null })
      }
    })
    // 'close' comes after 'exit' and after stdout is drained, so no line is lost.
    this.proc.on('close', (code, signal) => this.#finish({ code, signal }))
  }

  get pid(): number | undefined {
    return this.proc.pid
  }

  request(id: number, command: ChildCommand, timeoutMs: number): Promise<unknown> {
    if (this.exit !== undefined) {
      return Promise.reject(
        this.#error(
          HarnessErrorCode.ChildExited,
          `${describeExit(this.exit)} before ${command.op}`,
        ),
      )
    }
    const reply = deferred<unknown>()
    const timeout = timer(() => {
      this.#pending.delete(id)
      reply.reject(
        this.#error(
          HarnessErrorCode.Timeout,
          `sent no reply to ${command.op} (id ${id}) within ${timeoutMs} ms`,
        ),
      )
    }, timeoutMs)
    this.#pending.set(id, { op: command.op, reply, timeout })
    this.proc.stdin.write(`${JSON.stringify({ id, ...command })}\n`)
    return reply.promise
  }

  waitForEvent(predicate: (event: ChildEvent) => boolean, timeoutMs: number): Promise<ChildEvent> {
    const seen = this.events.find(predicate)
    if (seen !== undefined) return Promise.resolve(seen)
    if (this.exit !== undefined) {
      return Promise.reject(
        this.#error(HarnessErrorCode.ChildExited, `${describeExit(this.exit)}; no such event`),
      )
    }
    const waiter: EventWaiter = { predicate, found: deferred<ChildEvent>() }
    this.#waiters.add(waiter)
    const timeout = timer(() => {
      this.#waiters.delete(waiter)
      waiter.found.reject(
        this.#error(HarnessErrorCode.Timeout, `printed no matching event within ${timeoutMs} ms`),
      )
    }, timeoutMs)
    return waiter.found.promise.finally(() => clearTimeout(timeout))
  }

  /** Sends a signal unless the child is gone; never throws. */
  signal(signal: NodeJS.Signals): void {
    if (this.exit === undefined && this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill(signal)
    }
  }

  async kill9(): Promise<void> {
    this.signal('SIGKILL')
    await this.exited
  }

  async stop(timeoutMs: number): Promise<number | null> {
    if (this.exit !== undefined) return this.exit.code
    this.signal('SIGTERM')
    const force = timer(() => this.signal('SIGKILL'), timeoutMs)
    try {
      return (await this.exited).code
    } finally {
      clearTimeout(force)
    }
  }

  #line(line: string): void {
    let parsed: unknown
    try {
      parsed = JSON.parse(line)
    } catch {
      this.logs.push(line)
      return
    }
    if (!isObject(parsed)) {
      this.logs.push(line)
      return
    }
    if (typeof parsed.id === 'number' && typeof parsed.ok === 'boolean') {
      this.#reply(parsed.id, parsed)
      return
    }
    this.events.push(parsed)
    if (parsed.event === 'ready') {
      if (this.#readyTimer !== undefined) clearTimeout(this.#readyTimer)
      this.#readyTimer = undefined
      this.#ready.resolve(parsed)
    }
    for (const waiter of this.#waiters) {
      if (waiter.predicate(parsed)) {
        this.#waiters.delete(waiter)
        waiter.found.resolve(parsed)
      }
    }
  }

  #reply(id: number, reply: Record<string, unknown>): void {
    const pending = this.#pending.get(id)
    if (pending === undefined) return // it timed out already
    this.#pending.delete(id)
    clearTimeout(pending.timeout)
    if (reply.ok === true) {
      pending.reply.resolve(reply.result)
      return
    }
    const message = typeof reply.error === 'string' ? reply.error : JSON.stringify(reply.error)
    const code = typeof reply.code === 'string' ? reply.code : undefined
    pending.reply.reject(new ChildRequestError(this.#label(), pending.op, message, code))
  }

  #finish(exit: ChildExit): void {
    if (this.exit !== undefined) return
    this.exit = exit
    live.delete(this)
    if (this.#readyTimer !== undefined) clearTimeout(this.#readyTimer)
    this.#readyTimer = undefined
    const what = this.#spawnError !== undefined ? 'could not be started' : describeExit(exit)
    const code =
      this.#spawnError !== undefined ? HarnessErrorCode.SpawnFailed : HarnessErrorCode.ChildExited
    this.#ready.reject(this.#error(code, `${what} before it was ready`, this.#spawnError))
    for (const [, pending] of this.#pending) {
      clearTimeout(pending.timeout)
      pending.reply.reject(this.#error(code, `${what} before it replied to ${pending.op}`))
    }
    this.#pending.clear()
    for (const waiter of this.#waiters) {
      waiter.found.reject(this.#error(code, `${what}; no matching event came`))
    }
    this.#waiters.clear()
    this.#exited.resolve(exit)
  }

  #label(): string {
    return `${this.name} (pid ${this.proc.pid ?? '-'})`
  }

  /** An error naming the child, with the tail of its stderr and its last log lines. */
  #error(code: HarnessErrorCode, what: string, cause?: unknown): HarnessError {
    let message = `${this.#label()} ${what}`
    const stderr = this.stderr.slice(-STDERR_SHOWN).trimEnd()
    if (stderr !== '') message += `\n--- stderr (tail) ---\n${stderr}`
    const logs = this.logs.slice(-LOGS_SHOWN)
    if (logs.length > 0)
      message += `\n--- stdout log lines (last ${logs.length}) ---\n${logs.join('\n')}`
    return new HarnessError(code, message, cause === undefined ? undefined : { cause })
  }
}

let spawned = 0

/**
 * A handle on a Node child process that runs a script built on `childRuntime` (`serve`, `emit`,
 * `ready`). It survives restarts: `pid`, `ready`, `events` and the rest always refer to the
 * current process. Create it with {@link spawnNode}.
 */
export class ChildNode implements AsyncDisposable {
  /** The name used in error messages. */
  readonly name: string
  /** The absolute path of the script. */
  readonly script: string
  #options: SpawnNodeOptions
  #run: Run
  #ready: Promise<ChildEvent>
  #restarting: Promise<unknown> | undefined
  #disposed = false
  #nextId = 1

  /** Spawns at once; prefer {@link spawnNode}. */
  constructor(options: SpawnNodeOptions) {
    this.script =
      options.script instanceof URL ? fileURLToPath(options.script) : path.resolve(options.script)
    if (!existsSync(this.script)) {
      throw new HarnessError(
        HarnessErrorCode.SpawnFailed,
        `child script ${this.script} does not exist (child scripts run compiled: build first, ` +
          '`npx turbo run build`)',
      )
    }
    spawned++
    this.name =
      options.name ?? `${path.basename(this.script, path.extname(this.script))}#${spawned}`
    this.#options = options
    this.#run = new Run(this.name, this.script, options)
    this.#ready = this.#run.ready
  }

  /**
   * Resolves with the first `{ "event": "ready", ... }` line of the current process; rejects if
   * it exits first or after `readyTimeoutMs` (and then kills it).
   */
  get ready(): Promise<ChildEvent> {
    return this.#ready
  }

  /** The current process's pid. */
  get pid(): number {
    const pid = this.#run.pid
    if (pid === undefined) {
      throw new HarnessError(HarnessErrorCode.SpawnFailed, `${this.name} has no process`)
    }
    return pid
  }

  /** True until the current process has exited. */
  get running(): boolean {
    return this.#run.exit === undefined
  }

  /** The exit code of the current process: null while it runs or when a signal killed it. */
  get exitCode(): number | null {
    return this.#run.exit?.code ?? null
  }

  /** The signal that killed the current process, if one did. */
  get exitSignal(): NodeJS.Signals | null {
    return this.#run.exit?.signal ?? null
  }

  /** Resolves when the current process has exited (and its output is read). Never rejects. */
  get exited(): Promise<ChildExit> {
    return this.#run.exited
  }

  /** Every JSON line of the current process that was not a reply, in order, ready line included. */
  get events(): readonly ChildEvent[] {
    return this.#run.events
  }

  /** The stdout lines of the current process that were not JSON objects. */
  get logs(): readonly string[] {
    return this.#run.logs
  }

  /** The tail (64 KiB) of the current process's stderr. */
  get stderr(): string {
    return this.#run.stderr
  }

  /**
   * Sends `{ "id": n, ...command }` and resolves with the `result` of the child's reply. Rejects
   * with a `ChildRequestError` carrying the child's message for `{ "ok": false, "error" }`, and
   * with a `HarnessError` on timeout or when the child exits first.
   *
   * @example
   * ```ts
   * const size = await node.request({ op: 'registry.size' })
   * ```
   */
  request(command: ChildCommand, timeoutMs?: number): Promise<unknown> {
    const id = this.#nextId++
    return this.#run.request(
      id,
      command,
      timeoutMs ?? this.#options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    )
  }

  /**
   * Resolves with the first event of the current process, already printed or still to come, that
   * matches `predicate` (an event name matches `event.event`). Rejects on timeout or exit.
   */
  waitForEvent(
    predicate: string | ((event: ChildEvent) => boolean),
    timeoutMs = DEFAULT_EVENT_TIMEOUT_MS,
  ): Promise<ChildEvent> {
    const test =
      typeof predicate === 'string' ? (e: ChildEvent) => e.event === predicate : predicate
    return this.#run.waitForEvent(test, timeoutMs)
  }

  /** SIGKILL; resolves once the process has exited. Pending requests reject. */
  kill9(): Promise<void> {
    return this.#run.kill9()
  }

  /**
   * SIGTERM, then SIGKILL if it has not exited after `timeoutMs`; resolves with the exit code
   * (null if a signal ended it).
   */
  stop(timeoutMs = this.#options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS): Promise<number | null> {
    return this.#run.stop(timeoutMs)
  }

  /**
   * Runs the script again in a fresh process (stopping the current one first if it still runs)
   * and resolves with its ready line, which `ready` then also gives. `events`, `logs` and `stderr`
   * start empty for the new process. `env` is set over the spawn options' environment for this
   * process and the later ones.
   */
  restart(env: Readonly<Record<string, string | undefined>> = {}): Promise<ChildEvent> {
    this.#options = { ...this.#options, env: { ...this.#options.env, ...env } }
    const previous = this.#run
    const next = (async () => {
      await previous.stop(this.#options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS)
      if (this.#disposed) {
        throw new HarnessError(HarnessErrorCode.ChildExited, `${this.name} was disposed`)
      }
      this.#run = new Run(this.name, this.script, this.#options)
      return this.#run.ready
    })()
    next.catch(() => undefined)
    this.#ready = next
    this.#restarting = next
    return next
  }

  /** Kills the process if it still runs (and stops a restart from spawning a new one). */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#disposed = true
    await this.kill9()
    if (this.#restarting !== undefined) {
      await this.#restarting.catch(() => undefined)
      await this.kill9()
    }
  }
}

/**
 * Starts `node <script>` with stdin/stdout as a JSON-line channel. The child is registered, so
 * {@link killAllChildren} ends it; disposing the handle kills it too.
 *
 * @example
 * ```ts
 * await using node = spawnNode({ script: new URL('../dist/fixtures/node.js', import.meta.url) })
 * const info = await node.ready
 * expect(await node.request({ op: 'ping' })).toBe('pong')
 * ```
 */
export function spawnNode(options: SpawnNodeOptions): ChildNode {
  return new ChildNode(options)
}

/** Child nodes that can be disposed together: `await using nodes = await spawnNodes(3, ...)`. */
export type ChildNodes = readonly ChildNode[] & AsyncDisposable

/**
 * Spawns `n` children and resolves once all are ready. Options may depend on the index; the
 * default names are `<name or script>-<index>`. If one fails, all are killed and it rejects.
 */
export async function spawnNodes(
  n: number,
  options: SpawnNodeOptions | ((index: number) => SpawnNodeOptions),
): Promise<ChildNodes> {
  const nodes: ChildNode[] = []
  const killAll = async (): Promise<void> => {
    await Promise.all(nodes.map((node) => node.kill9()))
  }
  try {
    for (let i = 0; i < n; i++) {
      const base = typeof options === 'function' ? options(i) : options
      const script = base.script instanceof URL ? fileURLToPath(base.script) : base.script
      const name =
        typeof options === 'function' && base.name !== undefined
          ? base.name
          : `${base.name ?? path.basename(script, path.extname(script))}-${i}`
      nodes.push(spawnNode({ ...base, name }))
    }
    await Promise.all(nodes.map((node) => node.ready))
  } catch (error) {
    await killAll()
    throw error
  }
  return Object.assign(nodes, { [Symbol.asyncDispose]: killAll })
}

/** The pids of every child process of this harness that has not exited yet. */
export function liveChildren(): readonly number[] {
  const pids: number[] = []
  for (const run of live) if (run.pid !== undefined) pids.push(run.pid)
  return pids
}

/** SIGKILLs every child still running and resolves once all have exited. Call it in `afterAll`. */
export async function killAllChildren(): Promise<void> {
  await Promise.all([...live].map((run) => run.kill9()))
}
