// Node options, their validation (a typo is an error, not a silent no-op), and the options with
// every default filled in (the defaults themselves are in `defaults.ts`).
import type { WebSocket, WebSocketServer } from 'ws'
import type { Clock, Logger } from '@sworm/actor'
import { nodeDefaults } from './defaults.js'
import { BadConfig } from './errors.js'

/** TLS material: with it, the node serves `wss://` and peers must present a certificate of `ca`. */
export interface TlsOptions {
  key: string | Buffer
  cert: string | Buffer
  ca: string | Buffer
}

/** Options of `startNode`. Durations are in milliseconds. */
export interface NodeOptions {
  /** A human name for logs and the observer. Default: `node-<port>`. */
  name?: string
  /** Interface to bind. Default `'127.0.0.1'` (set `'0.0.0.0'` to serve other machines). */
  host?: string
  /** Port to listen on; 0 picks a free one. Default 0. */
  port?: number
  /** The URL other nodes dial (`ws://host:port`). Default: built from `host` and the bound port. */
  advertise?: string
  /**
   * Nodes to dial at start, as `ws://host:port` (or `wss://`). A host name that resolves to
   * several addresses (a Kubernetes headless service) is dialed at every address.
   */
  seeds?: string[]
  /** The shared secret every node of the cluster knows. Required to talk to any other node. */
  cookie?: string
  /** Nodes of different clusters refuse each other. Default `'sworm'`. */
  cluster?: string
  /** Default 1000. */
  heartbeatIntervalMs?: number
  /** A peer silent this long is down. Default 3000. */
  heartbeatTimeoutMs?: number
  /** Largest websocket message accepted (and payload sent). Default 64 MiB. */
  maxFrameBytes?: number
  /** A connection that has not finished its handshake by then is closed. Default 5000. */
  handshakeTimeoutMs?: number
  /** At most this many connections may be in their handshake at once. Default 64. */
  maxPendingConnections?: number
  /** First reconnect delay; doubles up to `reconnectMaxMs`. Default 100. */
  reconnectMinMs?: number
  /** Default 2000. */
  reconnectMaxMs?: number
  /** After a refused handshake (wrong cookie, cluster or version), wait this long. Default 30000. */
  refusedRetryMs?: number
  /** Serve `wss://` with mutual TLS. */
  tls?: TlsOptions
  /** Serve docs read-only at `/yjs/<doc>` for y-websocket clients. Default true. */
  yjsEndpoint?: boolean
  /** How long `stop()` waits for hand-offs and replication to flush. Default 10000. */
  stopTimeoutMs?: number
  /** Default: JSON lines on stderr, `warn` and up, with the node name on every line. */
  logger?: Logger
  /** Clock for heartbeats, backoff and the runtime's timers. Default: the real clock. */
  clock?: Clock
  /** DNS lookup for seeds: host → addresses. Default: `dns.lookup` with `all: true`. */
  resolveHost?: (host: string) => Promise<string[]>
  /** The node id (incarnation). Default: a fresh uuid. Only tests should set it. */
  nodeId?: string
  /**
   * Rewrites a peer's URL right before it is dialed. Default: none. For tests that route the
   * links between nodes through a fault proxy.
   */
  rewriteUrl?: (url: string) => string
  /**
   * The WebSocket implementation: `WebSocket` dials peers, `WebSocketServer` accepts every
   * websocket of the node's port (peers, `/yjs/`, `addWebSocketRoute`), and the sockets it
   * accepts are made with `WebSocket` too. Both must be the `ws` package's classes or
   * subclasses of them (to wrap or count sockets). Default: the `ws` package's.
   */
  webSocket?: { WebSocket: typeof WebSocket; WebSocketServer: typeof WebSocketServer }
}

const known: Record<
  keyof NodeOptions,
  'string' | 'number' | 'boolean' | 'object' | 'function' | 'array'
> = {
  name: 'string',
  host: 'string',
  port: 'number',
  advertise: 'string',
  seeds: 'array',
  cookie: 'string',
  cluster: 'string',
  heartbeatIntervalMs: 'number',
  heartbeatTimeoutMs: 'number',
  maxFrameBytes: 'number',
  handshakeTimeoutMs: 'number',
  maxPendingConnections: 'number',
  reconnectMinMs: 'number',
  reconnectMaxMs: 'number',
  refusedRetryMs: 'number',
  tls: 'object',
  yjsEndpoint: 'boolean',
  stopTimeoutMs: 'number',
  logger: 'object',
  clock: 'object',
  resolveHost: 'function',
  nodeId: 'string',
  rewriteUrl: 'function',
  webSocket: 'object',
}

/**
 * Checks option names and types. `extra` names keys that an outer layer (the sworm facade)
 * consumes itself. Throws `BadConfig` naming the key and what was expected.
 */
export function validateNodeOptions(options: object, extra: readonly string[] = []): void {
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined || extra.includes(key)) continue
    // `Object.hasOwn`: a key like `toString` or `constructor` is unknown, not Object's method.
    const want = Object.hasOwn(known, key) ? known[key as keyof NodeOptions] : undefined
    if (want === undefined) {
      throw new BadConfig(`unknown node option '${key}' (known: ${Object.keys(known).join(', ')})`)
    }
    const got = Array.isArray(value) ? 'array' : typeof value
    if (got !== want) throw new BadConfig(`node option '${key}' must be a ${want}, got ${got}`)
    if (want === 'number' && !(Number.isFinite(value) && (value as number) >= 0)) {
      throw new BadConfig(`node option '${key}' must be a number ≥ 0`)
    }
  }
  const o = options as NodeOptions
  if (
    o.webSocket !== undefined &&
    (typeof o.webSocket.WebSocket !== 'function' ||
      typeof o.webSocket.WebSocketServer !== 'function')
  ) {
    throw new BadConfig(
      "node option 'webSocket' must hold the classes WebSocket and WebSocketServer",
    )
  }
  for (const seed of o.seeds ?? []) {
    if (typeof seed !== 'string' || !/^wss?:\/\/[^/]+/.test(seed) || !URL.canParse(seed)) {
      throw new BadConfig(`seed '${String(seed)}' is not a ws:// or wss:// URL`)
    }
  }
  if ((o.seeds?.length ?? 0) > 0 && (o.cookie === undefined || o.cookie === '')) {
    throw new BadConfig('a cookie is required to join other nodes (option `cookie`)')
  }
  // Checked here, against the defaults too, so that `startNode` fails before it listens.
  const interval = o.heartbeatIntervalMs ?? nodeDefaults.heartbeatIntervalMs
  const timeout = o.heartbeatTimeoutMs ?? nodeDefaults.heartbeatTimeoutMs
  if (timeout <= interval) {
    throw new BadConfig(
      `heartbeatTimeoutMs (${timeout}) must be larger than heartbeatIntervalMs (${interval})`,
    )
  }
}

/** The tunings a node runs with: the options given, the defaults for the rest. */
export type ResolvedOptions = Required<
  Pick<
    NodeOptions,
    | 'cluster'
    | 'heartbeatIntervalMs'
    | 'heartbeatTimeoutMs'
    | 'maxFrameBytes'
    | 'handshakeTimeoutMs'
    | 'maxPendingConnections'
    | 'reconnectMinMs'
    | 'reconnectMaxMs'
    | 'refusedRetryMs'
    | 'yjsEndpoint'
    | 'stopTimeoutMs'
  >
>

/** `options` with the defaults filled in (checked by `validateNodeOptions` first). */
export function resolveOptions(options: NodeOptions): ResolvedOptions {
  const d = nodeDefaults
  return {
    cluster: options.cluster ?? d.cluster,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? d.heartbeatIntervalMs,
    heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? d.heartbeatTimeoutMs,
    maxFrameBytes: options.maxFrameBytes ?? d.maxFrameBytes,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? d.handshakeTimeoutMs,
    maxPendingConnections: options.maxPendingConnections ?? d.maxPendingConnections,
    reconnectMinMs: options.reconnectMinMs ?? d.reconnectMinMs,
    reconnectMaxMs: options.reconnectMaxMs ?? d.reconnectMaxMs,
    refusedRetryMs: options.refusedRetryMs ?? d.refusedRetryMs,
    yjsEndpoint: options.yjsEndpoint ?? d.yjsEndpoint,
    stopTimeoutMs: options.stopTimeoutMs ?? d.stopTimeoutMs,
  }
}
