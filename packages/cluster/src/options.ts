// Node options, their validation (a typo is an error, not a silent no-op), and the options with
// every default filled in (the defaults themselves are in `defaults.ts`).
import type { WebSocket, WebSocketServer } from 'ws'
import type { Clock, Logger } from '@swormjs/actor'
import { nodeDefaults } from './defaults.js'
import { BadConfig } from './errors.js'
import { MIN_PROTOCOL_VERSION, PROTOCOL_VERSION } from './frames.js'
import { deviationsAt } from './PhiAccrual.js'
import { weakCookie } from './proof.js'
import { resolveYjsOptions, type YjsEndpointOptions } from './YjsEndpoint.js'

/** TLS material: with it, the node serves `wss://` and peers must present a certificate of `ca`. */
export interface TlsOptions {
  /** This node's private key, PEM. */
  key: string | Buffer
  /** This node's certificate, PEM; it is also the client certificate it shows its peers. */
  cert: string | Buffer
  /** The CA (PEM) that must have signed every peer's certificate. */
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
  /**
   * The URL other nodes dial (`ws://host:port`). Default: built from `host` and the bound port;
   * with `host` `0.0.0.0` (or `::`), from the machine's first IPv4 address that is not a
   * loopback one (a pod's IP), else its host name. On Kubernetes, set it from the downward API:
   * `ws://$(POD_IP):4001`.
   */
  advertise?: string
  /**
   * Nodes to dial at start, as `ws://host:port` (or `wss://`). A host name that resolves to
   * several addresses (a Kubernetes headless service) is dialed at every address.
   */
  seeds?: string[]
  /**
   * The shared secret every node of the cluster knows. Required to talk to any other node; at
   * least 16 characters with 8 distinct ones (a weaker one is a `BadConfig` at start).
   */
  cookie?: string
  /** Nodes of different clusters refuse each other. Default `'sworm'`. */
  cluster?: string
  /**
   * How often each peer gets a heartbeat, and how often this node judges the silence of its
   * peers. Default 1000: a second is short against the pauses the detector must tell apart from
   * a failure (seconds), and costs one small frame per peer per second.
   */
  heartbeatIntervalMs?: number
  /**
   * How much longer than its usual rhythm a peer's heartbeat may be late before its silence
   * starts to count against it: a garbage collection, a busy event loop, a lost beat. Default
   * 3000 (Akka's): three beats may go missing. At least `heartbeatIntervalMs`, so that a peer may
   * always miss one beat.
   */
  acceptableHeartbeatPauseMs?: number
  /**
   * The suspicion at which a silent peer becomes *unreachable*. Phi is -log10 of the chance that
   * a heartbeat still comes this late, judged by the peer's own heartbeat history (phi accrual, as
   * in Akka and Cassandra). Default 8 (Akka's): a 1 in 10^8 chance of suspecting a peer that
   * beats as it has been beating. Lower suspects sooner and more often wrongly.
   */
  phiThreshold?: number
  /**
   * The spread of a peer's heartbeat intervals is taken as at least this much. Default 100
   * (Akka's): beats that came like clockwork on an idle machine must not make a hair trigger;
   * with it, a regular peer is unreachable about `heartbeatIntervalMs` +
   * `acceptableHeartbeatPauseMs` + 520 ms after its last beat (4.5 s by default).
   */
  minHeartbeatStdDeviationMs?: number
  /**
   * How long a peer stays unreachable before it is *down*: until then nothing is done about it
   * (its names stay, its children are not adopted, its socket stays open), and a word from it
   * makes it reachable again as if nothing happened. Default 5000: a regular peer that falls
   * silent is down about 10 s after its last beat, long enough for a node stalled by a burst of
   * work (seconds, on a loaded machine) to speak again. A crashed or killed node does not wait
   * for it: its closed socket marks it down at once. (Akka's split-brain resolver waits 20 s,
   * Erlang 60 s.)
   */
  downAfterUnreachableMs?: number
  /**
   * @deprecated Use `acceptableHeartbeatPauseMs` and `downAfterUnreachableMs`. The former single
   * bound, kept so that existing configurations keep their meaning: a silent peer is down about
   * this long after its last beat (later if its beats come irregularly), as soon as it is
   * unreachable (`downAfterUnreachableMs` 0); the acceptable pause and the minimum deviation (a
   * quarter of the interval) are derived from it. Must be larger than `heartbeatIntervalMs`; not
   * with the options it replaces.
   */
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
  /**
   * Serve docs read-only at `/yjs/<doc>` for y-websocket clients, to those with `token`.
   * Default false (not served): it hands out every doc, names and init args included.
   */
  yjsEndpoint?: false | YjsEndpointOptions
  /** How long `stop()` waits for hand-offs and replication to flush. Default 10000. */
  stopTimeoutMs?: number
  /**
   * Nodes, this one included, that must be up (connected, their docs caught up) before this node
   * is ready: what `ready()` waits for by default and `/readyz` reports. A sworm node's
   * `startNode` waits for it before it resolves, so that no name is placed on a partial view of
   * the cluster (Akka's `min-nr-of-members`). Default 1: ready at once.
   */
  minNodes?: number
  /**
   * The protocol versions this node speaks, oldest and newest. A connection speaks the newest
   * both sides know, so a rolling upgrade runs two adjacent releases in one cluster. Default
   * `{ min: 2, max: 4 }`: 2, the previous release's; 3, one `Call` frame per call; 4, this
   * one's, a message naming its target by its serial. Once every node runs this release,
   * `{ min: 4, max: 4 }` refuses nodes of older ones.
   */
  protocolVersions?: {
    /** The oldest version spoken. */
    min: number
    /** The newest version spoken. */
    max: number
  }
  /**
   * Serve `/healthz` (200 while the process serves, through a graceful stop) and `/readyz` (200
   * once the node is ready, 503 before and while it leaves), for load balancers and Kubernetes
   * probes. They tell nothing about the cluster but counts. Default false (404).
   */
  health?: boolean
  /**
   * A member heard of through gossip and never reached is forgotten after this, and so are the
   * replicas of an application's docs (not a registry's or a supervisor's, which their own
   * `forgetAfterMs` governs) whose owner has been down this long. Default 60000.
   */
  forgetAfterMs?: number
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
  webSocket?: {
    /** The client class, `ws`'s `WebSocket` or a subclass. */
    WebSocket: typeof WebSocket
    /** The server class, `ws`'s `WebSocketServer` or a subclass. */
    WebSocketServer: typeof WebSocketServer
  }
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
  acceptableHeartbeatPauseMs: 'number',
  phiThreshold: 'number',
  minHeartbeatStdDeviationMs: 'number',
  downAfterUnreachableMs: 'number',
  heartbeatTimeoutMs: 'number',
  maxFrameBytes: 'number',
  handshakeTimeoutMs: 'number',
  maxPendingConnections: 'number',
  reconnectMinMs: 'number',
  reconnectMaxMs: 'number',
  refusedRetryMs: 'number',
  tls: 'object',
  yjsEndpoint: 'object',
  stopTimeoutMs: 'number',
  minNodes: 'number',
  health: 'boolean',
  protocolVersions: 'object',
  forgetAfterMs: 'number',
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
    if (key === 'yjsEndpoint') {
      resolveYjsOptions(value)
      continue
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
  if (o.cookie !== undefined && o.cookie !== '') {
    const weak = weakCookie(o.cookie)
    if (weak !== undefined) {
      throw new BadConfig(
        `the cookie is too weak to guard a cluster: ${weak} (option \`cookie\`; ` +
          'use a long random string, e.g. from `openssl rand -base64 24`)',
      )
    }
  }
  if (o.protocolVersions !== undefined) {
    const { min, max } = o.protocolVersions
    if (
      !Number.isInteger(min) ||
      !Number.isInteger(max) ||
      min > max ||
      min < MIN_PROTOCOL_VERSION ||
      max > PROTOCOL_VERSION
    ) {
      throw new BadConfig(
        `node option 'protocolVersions' must be { min, max } with ${MIN_PROTOCOL_VERSION} ≤ min ≤ max ≤ ${PROTOCOL_VERSION}`,
      )
    }
  }
  if (o.minNodes !== undefined && !(Number.isInteger(o.minNodes) && o.minNodes >= 1)) {
    throw new BadConfig(`node option 'minNodes' must be a whole number ≥ 1, got ${o.minNodes}`)
  }
  validateDetector(o)
}

/** The options the deprecated `heartbeatTimeoutMs` stands for, which cannot be given with it. */
const replacedByTimeout = [
  'acceptableHeartbeatPauseMs',
  'minHeartbeatStdDeviationMs',
  'downAfterUnreachableMs',
] as const

/** The failure detector's options, checked against the defaults too, before the node listens. */
function validateDetector(o: NodeOptions): void {
  for (const key of [
    'heartbeatIntervalMs',
    'phiThreshold',
    'minHeartbeatStdDeviationMs',
  ] as const) {
    if (o[key] === 0) throw new BadConfig(`node option '${key}' must be larger than 0`)
  }
  const interval = o.heartbeatIntervalMs ?? nodeDefaults.heartbeatIntervalMs
  if (o.heartbeatTimeoutMs !== undefined) {
    const both = replacedByTimeout.filter((key) => o[key] !== undefined)
    if (both.length > 0) {
      throw new BadConfig(
        `node option 'heartbeatTimeoutMs' (deprecated) cannot be given with ${both.map((k) => `'${k}'`).join(', ')}, which replace it`,
      )
    }
    if (o.heartbeatTimeoutMs <= interval) {
      throw new BadConfig(
        `heartbeatTimeoutMs (${o.heartbeatTimeoutMs}) must be larger than heartbeatIntervalMs (${interval})`,
      )
    }
    return
  }
  const pause = o.acceptableHeartbeatPauseMs ?? nodeDefaults.acceptableHeartbeatPauseMs
  if (pause < interval) {
    throw new BadConfig(
      `acceptableHeartbeatPauseMs (${pause}) must be at least heartbeatIntervalMs (${interval}): ` +
        'a peer may always miss one beat',
    )
  }
}

/** The tunings a node runs with: the options given, the defaults for the rest. */
export type ResolvedOptions = Required<
  Pick<
    NodeOptions,
    | 'cluster'
    | 'heartbeatIntervalMs'
    | 'acceptableHeartbeatPauseMs'
    | 'phiThreshold'
    | 'minHeartbeatStdDeviationMs'
    | 'downAfterUnreachableMs'
    | 'maxFrameBytes'
    | 'handshakeTimeoutMs'
    | 'maxPendingConnections'
    | 'reconnectMinMs'
    | 'reconnectMaxMs'
    | 'refusedRetryMs'
    | 'stopTimeoutMs'
    | 'forgetAfterMs'
    | 'minNodes'
    | 'health'
    | 'protocolVersions'
  >
> & {
  /** The `/yjs/` endpoint's options filled in; undefined when it is off. */
  yjsEndpoint: ReturnType<typeof resolveYjsOptions>
}

/** `options` with the defaults filled in (checked by `validateNodeOptions` first). */
export function resolveOptions(options: NodeOptions): ResolvedOptions {
  const d = nodeDefaults
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? d.heartbeatIntervalMs
  const phiThreshold = options.phiThreshold ?? d.phiThreshold
  return {
    cluster: options.cluster ?? d.cluster,
    heartbeatIntervalMs,
    phiThreshold,
    ...(options.heartbeatTimeoutMs !== undefined
      ? detectorOfTimeout(heartbeatIntervalMs, options.heartbeatTimeoutMs, phiThreshold)
      : {
          acceptableHeartbeatPauseMs:
            options.acceptableHeartbeatPauseMs ?? d.acceptableHeartbeatPauseMs,
          minHeartbeatStdDeviationMs:
            options.minHeartbeatStdDeviationMs ?? d.minHeartbeatStdDeviationMs,
          downAfterUnreachableMs: options.downAfterUnreachableMs ?? d.downAfterUnreachableMs,
        }),
    maxFrameBytes: options.maxFrameBytes ?? d.maxFrameBytes,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? d.handshakeTimeoutMs,
    maxPendingConnections: options.maxPendingConnections ?? d.maxPendingConnections,
    reconnectMinMs: options.reconnectMinMs ?? d.reconnectMinMs,
    reconnectMaxMs: options.reconnectMaxMs ?? d.reconnectMaxMs,
    refusedRetryMs: options.refusedRetryMs ?? d.refusedRetryMs,
    yjsEndpoint: resolveYjsOptions(options.yjsEndpoint ?? d.yjsEndpoint),
    stopTimeoutMs: options.stopTimeoutMs ?? d.stopTimeoutMs,
    forgetAfterMs: options.forgetAfterMs ?? d.forgetAfterMs,
    minNodes: options.minNodes ?? d.minNodes,
    health: options.health ?? false,
    protocolVersions: options.protocolVersions ?? {
      min: MIN_PROTOCOL_VERSION,
      max: PROTOCOL_VERSION,
    },
  }
}

/**
 * What the deprecated `heartbeatTimeoutMs` stands for. It used to mark a peer down at the first
 * heartbeat tick after that much silence. A peer reaches the phi threshold after its mean
 * interval, the acceptable pause and `deviationsAt(threshold)` deviations; with the deviation
 * taken as at least a quarter of the interval (what a fresh detector starts from), that sum is
 * the timeout unless the peer's beats come more irregularly, and the peer is down once
 * unreachable.
 */
function detectorOfTimeout(
  intervalMs: number,
  timeoutMs: number,
  threshold: number,
): Pick<
  ResolvedOptions,
  'acceptableHeartbeatPauseMs' | 'minHeartbeatStdDeviationMs' | 'downAfterUnreachableMs'
> {
  const minHeartbeatStdDeviationMs = intervalMs / 4
  const margin = deviationsAt(threshold) * minHeartbeatStdDeviationMs
  return {
    acceptableHeartbeatPauseMs: Math.max(0, timeoutMs - intervalMs - margin),
    minHeartbeatStdDeviationMs,
    downAfterUnreachableMs: 0,
  }
}
