// `observe(node, options)`: serves a node's Prometheus metrics at GET /metrics and, when asked
// for with a token, a live observer page at GET / on the node's own HTTP server (the one that
// carries the cluster's websockets). It follows the node's sworms on its own.
import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { BadArgument, type TimerHandle } from '@swormjs/actor'
import type { Node } from '@swormjs/cluster'
import type { Registry } from '@swormjs/registry'
import type { DistributedSupervisor } from '@swormjs/supervisor'
import { SwormInstance } from '@swormjs/sworm'
import type { Registry as PromRegistry } from 'prom-client'
import { TokenCheck, tokenCookie } from './auth.js'
import { createMetrics, type NodeMetrics } from './metrics.js'
import { observerPage } from './page.js'
import type { ObserverNote, ObserverState } from './state.js'
import { SwormFollower } from './SwormFollower.js'
import { Tracker, type ObservedSworm } from './Tracker.js'

/** Options of `observe`. */
export interface ObserveOptions {
  /**
   * Serve GET /metrics in the Prometheus text format. Default true: open, as Prometheus scrapers
   * expect, so put the node's port behind your network rules. `{ token }` asks every scrape for
   * it (`Authorization: Bearer <token>`, Prometheus's `authorization` setting, or `?token=`):
   * on a network you do not trust, and over TLS, where `/metrics` asks no client certificate.
   */
  metrics?:
    | boolean
    | {
        /** The bearer token every scrape must carry. Default: none (open). */
        token?: string
        /**
         * Add prom-client's default metrics of the OS process (`process_cpu_seconds_total`,
         * `nodejs_eventloop_lag_seconds`, `nodejs_heap_size_used_bytes`, ...), labelled with the
         * node. Default false: several nodes may share one process (as in tests).
         */
        processMetrics?: boolean
      }
  /**
   * Serve the observer page at GET / (and its live state at GET /observer/state and
   * /observer/events). Default false. The token is required: a request must carry it as
   * `?token=`, as the `sworm_observer` cookie (set on a visit with `?token=`) or as
   * `Authorization: Bearer <token>`, else it gets 401.
   */
  page?:
    | {
        /** The token every request must carry: `?token=`, the cookie, or a bearer header. */
        token: string
      }
    | false
  /** The registries to follow (names per registry, conflicts). Called again every second. */
  registries?: () => Iterable<Registry>
  /** The distributed supervisors to follow (workers per node, restarts, moves). Called again every second. */
  supervisors?: () => Iterable<DistributedSupervisor>
  /**
   * More sworms to follow: their registry and supervisor, with the sworm's name as label. Called
   * again every second. The sworms running on the node (`SwormInstance.all(node)`) are followed
   * without it, with their handoffs and merges.
   */
  sworms?: () => Iterable<ObservedSworm>
}

/** A node under observation. Close it (or `using obs = observe(...)`) to stop. */
export interface Observer extends Disposable {
  /**
   * Reports an event of the layer above: it goes into the recent events, and the kinds
   * `handoff`, `conflict`, `restart`, `move` and `lost` move their counter
   * (`sworm_handoffs_total` ...), labelled with `sworm`. Report here only what the observed
   * registries, supervisors and sworms do not already tell (a registry's conflicts, a
   * supervisor's restarts and moves, a node's sworms' handoffs are counted without a note).
   */
  note(note: ObserverNote): void
  /** The snapshot the page shows, now. */
  state(): ObserverState
  /** The page's address with the token (to print for an operator), or undefined when the page is off. */
  readonly url: string | undefined
  /**
   * The prom-client registry behind /metrics, or undefined when metrics are off: add your own
   * metrics to it, or prom-client's `collectDefaultMetrics({ register })`.
   */
  readonly promRegistry: PromRegistry | undefined
  /** Stops serving, stops listening to the node, registries and supervisors, and stops its timers. Idempotent. */
  close(): void
}

/** How often the page's event stream gets a snapshot when nothing happens. */
const PUSH_MS = 500
/** A page that reads slower than this much backlog is cut off (it reconnects and starts afresh). */
const MAX_BACKLOG_BYTES = 1 << 20
const OPTION_KEYS = new Set(['metrics', 'page', 'registries', 'supervisors', 'sworms'])
/** Where a node marks that it is observed, in `runtime.services`: one observer per node. */
const SERVICE_KEY = Symbol.for('sworm.observe')

/**
 * Observes `node`: Prometheus metrics at GET /metrics, and with `page: { token }` a live page
 * at GET / showing the nodes, the workers per node, message rates and recent events. It follows
 * the sworms the node runs, those started later included (their names, workers, handoffs and
 * conflicts), and the registries and supervisors `options` add. The page
 * follows a Server-Sent Events stream (GET /observer/events: a JSON snapshot every 500 ms and
 * at once on an event); GET /observer/state returns the same snapshot once.
 * Throws `BadArgument` for a bad option (the page without a token among them), or when the node
 * is already observed.
 * @example
 * const node = await startNode({ port: 4001, cookie, children: [Rooms] }) // from '@swormjs/sworm'
 * const obs = observe(node, { metrics: true, page: { token: process.env.OBSERVER_TOKEN! } })
 * console.log(`observer: ${obs.url}`)
 */
export function observe(node: Node, options: ObserveOptions = {}): Observer {
  validate(options)
  const services = node.runtime.services
  if (services.has(SERVICE_KEY)) throw new BadArgument(`node ${node.name} is already observed`)
  const token = options.page ? options.page.token : undefined
  const tracker = new Tracker(node, {
    registries: options.registries,
    supervisors: options.supervisors,
    sworms: options.sworms,
    nodeSworms: () => SwormInstance.all(node),
  })
  const follower = new SwormFollower(node, tracker)
  const metrics: NodeMetrics | undefined =
    options.metrics === false
      ? undefined
      : createMetrics(node, tracker, {
          processMetrics:
            typeof options.metrics === 'object' && options.metrics.processMetrics === true,
        })
  const removeRoutes: Array<() => void> = []
  const stream = token === undefined ? undefined : new SnapshotStream(tracker)
  if (metrics !== undefined) {
    const m = options.metrics
    const check =
      typeof m === 'object' && m.token !== undefined ? new TokenCheck(m.token) : undefined
    removeRoutes.push(node.addHttpRoute('/metrics', metricsHandler(node, metrics.registry, check)))
  }
  if (token !== undefined && stream !== undefined) {
    removeRoutes.push(node.addHttpRoute('/', pageHandler(node, token, tracker, stream)))
  }
  const httpBase = node.url.replace(/^ws(s?):/, 'http$1:')
  let closed = false
  const observer: Observer = {
    url: token === undefined ? undefined : `${httpBase}/?token=${encodeURIComponent(token)}`,
    promRegistry: metrics?.registry,
    note(n) {
      if (typeof n !== 'object' || n === null || typeof n.kind !== 'string' || n.kind === '') {
        throw new BadArgument('note takes { kind, sworm?, name?, detail? } with a kind')
      }
      tracker.note(n)
    },
    state: () => tracker.snapshot(),
    close() {
      if (closed) return
      closed = true
      for (const remove of removeRoutes) remove()
      stream?.close()
      metrics?.close()
      follower.close()
      tracker.close()
      if (services.get(SERVICE_KEY) === observer) services.delete(SERVICE_KEY)
    },
    [Symbol.dispose]() {
      observer.close()
    },
  }
  services.set(SERVICE_KEY, observer)
  return observer
}

function validate(options: ObserveOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new BadArgument('observe takes an options object')
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) throw new BadArgument(`observe: unknown option '${key}'`)
  }
  const m: unknown = options.metrics
  if (m !== undefined && typeof m !== 'boolean') {
    const shape =
      'observe: `metrics` is true, false or { token?: "<a secret>", processMetrics?: boolean }'
    if (typeof m !== 'object' || m === null) throw new BadArgument(shape)
    for (const key of Object.keys(m)) {
      if (key !== 'token' && key !== 'processMetrics') {
        throw new BadArgument(`${shape}: unknown key '${key}'`)
      }
    }
    const { token: t, processMetrics: p } = m as { token?: unknown; processMetrics?: unknown }
    if (t !== undefined && (typeof t !== 'string' || t === '')) throw new BadArgument(shape)
    if (p !== undefined && typeof p !== 'boolean') throw new BadArgument(shape)
  }
  const page: unknown = options.page
  if (page !== undefined && page !== false) {
    if (typeof page !== 'object' || page === null) {
      throw new BadArgument('observe: `page` is { token } or false')
    }
    const t = (page as { token?: unknown }).token
    if (typeof t !== 'string' || t === '') {
      throw new BadArgument('observe: the page needs a token: `page: { token: "<a secret>" }`')
    }
  }
  for (const key of ['registries', 'supervisors', 'sworms'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'function') {
      throw new BadArgument(`observe: \`${key}\` is a function that returns them`)
    }
  }
}

// ------------------------------------------------------------------ HTTP

function metricsHandler(node: Node, registry: PromRegistry, check: TokenCheck | undefined) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const url = parseUrl(req)
    if (url?.pathname !== '/metrics') return plain(res, 404, 'not found')
    if (check !== undefined && check.check(req, url) === undefined) {
      res.setHeader('www-authenticate', 'Bearer realm="sworm metrics"')
      return plain(res, 401, 'unauthorized')
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return plain(res, 405, 'method not allowed')
    void (async () => {
      try {
        const text = await registry.metrics()
        res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' })
        res.end(req.method === 'HEAD' ? undefined : text)
      } catch (err) {
        node.logger.error({ err }, 'collecting metrics failed')
        if (!res.headersSent) plain(res, 500, 'collecting metrics failed')
        else res.destroy()
      }
    })()
  }
}

function pageHandler(node: Node, token: string, tracker: Tracker, stream: SnapshotStream) {
  const check = new TokenCheck(token)
  const secure = node.url.startsWith('wss:')
  return (req: IncomingMessage, res: ServerResponse): void => {
    const url = parseUrl(req)
    const path = url?.pathname
    if (
      url === undefined ||
      (path !== '/' && path !== '/observer/state' && path !== '/observer/events')
    ) {
      return plain(res, 404, 'not found')
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return plain(res, 405, 'method not allowed')
    const via = check.check(req, url)
    if (via === undefined) {
      res.setHeader('www-authenticate', 'Bearer realm="sworm observer"')
      return plain(
        res,
        401,
        'unauthorized: pass the observer token as ?token=, the sworm_observer cookie, or Authorization: Bearer',
      )
    }
    const head = req.method === 'HEAD'
    if (path === '/') {
      const nonce = randomBytes(16).toString('base64')
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        'content-security-policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
        'referrer-policy': 'no-referrer',
        'x-content-type-options': 'nosniff',
        // Later requests of the page (the event stream) get in with the cookie.
        ...(via === 'query' ? { 'set-cookie': tokenCookie(token, secure) } : {}),
      })
      res.end(head ? undefined : observerPage(node.name, nonce))
      return
    }
    if (path === '/observer/state') {
      res.writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        'cache-control': 'no-store',
      })
      res.end(head ? undefined : JSON.stringify(tracker.snapshot()))
      return
    }
    if (head) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' })
      res.end()
      return
    }
    stream.add(req, res)
  }
}

/**
 * The open event streams of the page: each gets the snapshot when it connects, then every
 * `PUSH_MS`, and at once (coalesced) when an event is recorded. The snapshot is built once per
 * push for all of them, and not at all while no page is open.
 */
class SnapshotStream {
  private readonly tracker: Tracker
  private readonly clients = new Set<ServerResponse>()
  private readonly offEvents: () => void
  private timer: TimerHandle | undefined
  private soon = false
  private closed = false

  constructor(tracker: Tracker) {
    this.tracker = tracker
    this.offEvents = tracker.onEvent(() => this.pushSoon())
  }

  add(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    })
    res.write('retry: 1000\n\n')
    this.clients.add(res)
    const drop = (): void => {
      this.clients.delete(res)
    }
    req.on('close', drop)
    res.on('close', drop)
    res.on('error', drop)
    this.send(res, this.message())
    this.schedule()
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.offEvents()
    this.tracker.node.clock.clearTimeout(this.timer)
    this.timer = undefined
    for (const res of this.clients) res.end()
    this.clients.clear()
  }

  private message(): string {
    return `data: ${JSON.stringify(this.tracker.snapshot())}\n\n`
  }

  private send(res: ServerResponse, message: string): void {
    if (res.writableLength > MAX_BACKLOG_BYTES) {
      this.clients.delete(res)
      res.destroy()
      return
    }
    res.write(message)
  }

  private push(): void {
    if (this.closed || this.clients.size === 0) return
    const message = this.message()
    for (const res of [...this.clients]) this.send(res, message)
  }

  private pushSoon(): void {
    if (this.soon || this.clients.size === 0) return
    this.soon = true
    // Several events in one turn (a node down and its children moving) make one push.
    setImmediate(() => {
      this.soon = false
      this.push()
    })
  }

  private schedule(): void {
    if (this.timer !== undefined || this.closed) return
    const clock = this.tracker.node.clock
    this.timer = clock.setTimeout(() => {
      this.timer = undefined
      if (this.clients.size === 0) return
      this.push()
      this.schedule()
    }, PUSH_MS)
  }
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
  })
  res.end(`${text}\n`)
}

function parseUrl(req: IncomingMessage): URL | undefined {
  try {
    return new URL(req.url ?? '/', 'http://localhost')
  } catch {
    return undefined
  }
}
