// A Sworm node: the actor runtime plus one HTTP server, the websocket mesh to every other node
// (cookie handshake, heartbeats, gossip, reconnects), remote processes, and replicated docs.
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { lookup } from 'node:dns/promises'
import { hostname } from 'node:os'
import type { Duplex } from 'node:stream'
import type { Server } from 'node:http'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import { WebSocket, WebSocketServer, type RawData } from 'ws'
import {
  createLogger,
  realClock,
  Runtime,
  withTimeout,
  type Clock,
  type Logger,
  type NodeId,
  type TimerHandle,
} from '@sworm/actor'
import { DocService } from './DocService.js'
import { Emitter } from '@sworm/actor'
import { BadConfig, ProtocolError } from './errors.js'
import {
  Frame,
  frame,
  PROTOCOL_VERSION,
  readIdentity,
  readMembers,
  writeChallenge,
  writeHello,
  writeMembers,
  type HelloFrame,
  type MemberEntry,
  type RefuseReason,
} from './frames.js'
import { makeNonce, proof, proofMatches } from './handshake.js'
import { defaults, validateNodeOptions, type NodeOptions } from './options.js'
import { Peer } from './Peer.js'
import { RemoteRoute } from './RemoteRoute.js'
import { YjsEndpoint } from './YjsEndpoint.js'

/** What a node knows of another node. */
export interface NodeInfo {
  id: NodeId
  name: string
  url: string
  /** `known`: heard of through gossip, not connected yet. */
  status: 'up' | 'leaving' | 'down' | 'left' | 'known'
}

/** Why a peer was marked down. */
export type DownReason = 'closed' | 'timeout' | 'leave' | 'protocol'

export interface NodeEvents extends Record<string, unknown[]> {
  nodeUp: [node: NodeInfo]
  nodeDown: [node: NodeInfo, reason: DownReason]
}

/** An HTTP handler for a path prefix (`/metrics`, the observer page). */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => void
/** Takes a websocket accepted on a route added with `addWebSocketRoute`. */
export type WebSocketHandler = (ws: WebSocket, req: IncomingMessage) => void

interface DialState {
  url: string
  attempt: number
  timer: TimerHandle | undefined
  socket: WebSocket | undefined
  refused: boolean
  /** Connecting there reached this node itself: never dial it again. */
  self: boolean
  /** TLS server name when the URL holds a resolved address of a named seed. */
  servername: string | undefined
}

type Resolved = Required<
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

/** Starts a node: listens, then dials its seeds. Dispose it (or `stop()`) to leave. */
export async function startNode(options: NodeOptions = {}): Promise<Node> {
  validateNodeOptions(options)
  const server = options.tls
    ? createHttpsServer({
        key: options.tls.key,
        cert: options.tls.cert,
        ca: options.tls.ca,
        requestCert: true,
        rejectUnauthorized: true,
      })
    : createHttpServer()
  const host = options.host ?? defaults.host
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? defaults.port, host, () => {
      server.off('error', reject)
      const addr = server.address()
      resolve(typeof addr === 'object' && addr !== null ? addr.port : 0)
    })
  })
  const node = new Node(options, server, host, port)
  node.connectSeeds()
  return node
}

/**
 * A running node. `runtime` runs its processes, `docs` holds its replicated docs; `nodes()`
 * lists the others. Only `startNode` makes one.
 */
export class Node implements AsyncDisposable {
  readonly id: NodeId
  readonly name: string
  readonly url: string
  readonly port: number
  readonly runtime: Runtime
  readonly docs: DocService
  readonly logger: Logger
  readonly clock: Clock

  private readonly opts: Resolved
  private readonly cookie: string | undefined
  private readonly tls: NodeOptions['tls']
  private readonly resolveHost: (host: string) => Promise<string[]>
  private readonly rewriteUrl: (url: string) => string
  private readonly seeds: string[]
  private readonly server: Server
  private readonly wss: WebSocketServer
  private readonly peers = new Map<NodeId, Peer>()
  private readonly known = new Map<NodeId, NodeInfo>()
  private readonly dials = new Map<string, DialState>()
  private readonly seedUrls = new Set<string>()
  private readonly pendingSockets = new Set<WebSocket>()
  private readonly httpRoutes = new Map<string, HttpHandler>()
  private readonly wsRoutes = new Map<string, WebSocketHandler>()
  private readonly stopHooks: Array<{ name: string; fn: () => Promise<void> }> = []
  private readonly events: Emitter<NodeEvents>
  private readonly route: RemoteRoute
  private readonly yjs: YjsEndpoint | undefined
  private heartbeatTimer: TimerHandle | undefined
  private seedTimer: TimerHandle | undefined
  private state: 'running' | 'stopping' | 'stopped' = 'running'
  private stopping: Promise<void> | undefined

  /** @internal use `startNode` */
  constructor(options: NodeOptions, server: Server, host: string, port: number) {
    this.opts = {
      cluster: options.cluster ?? defaults.cluster,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? defaults.heartbeatIntervalMs,
      heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? defaults.heartbeatTimeoutMs,
      maxFrameBytes: options.maxFrameBytes ?? defaults.maxFrameBytes,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? defaults.handshakeTimeoutMs,
      maxPendingConnections: options.maxPendingConnections ?? defaults.maxPendingConnections,
      reconnectMinMs: options.reconnectMinMs ?? defaults.reconnectMinMs,
      reconnectMaxMs: options.reconnectMaxMs ?? defaults.reconnectMaxMs,
      refusedRetryMs: options.refusedRetryMs ?? defaults.refusedRetryMs,
      yjsEndpoint: options.yjsEndpoint ?? defaults.yjsEndpoint,
      stopTimeoutMs: options.stopTimeoutMs ?? defaults.stopTimeoutMs,
    }
    if (this.opts.heartbeatTimeoutMs <= this.opts.heartbeatIntervalMs) {
      throw new BadConfig('heartbeatTimeoutMs must be larger than heartbeatIntervalMs')
    }
    this.cookie = options.cookie
    this.tls = options.tls
    this.server = server
    this.port = port
    this.name = options.name ?? `node-${port}`
    const advertisedHost = host === '0.0.0.0' || host === '::' ? hostname() : host
    this.url = normalizeUrl(
      options.advertise ?? `${options.tls ? 'wss' : 'ws'}://${advertisedHost}:${port}`,
    )
    this.clock = options.clock ?? realClock
    this.logger = (options.logger ?? createLogger()).child({ node: this.name })
    this.runtime = new Runtime({
      ...(options.nodeId !== undefined ? { nodeId: options.nodeId } : {}),
      name: this.name,
      clock: this.clock,
      logger: this.logger,
    })
    this.id = this.runtime.nodeId
    this.resolveHost =
      options.resolveHost ?? (async (h) => (await lookup(h, { all: true })).map((a) => a.address))
    this.rewriteUrl = options.rewriteUrl ?? ((u) => u)
    this.seeds = (options.seeds ?? []).map(normalizeUrl)
    this.events = new Emitter<NodeEvents>((e, ev) =>
      this.logger.error({ err: e, event: ev }, 'node event listener threw'),
    )
    this.route = new RemoteRoute(
      this.runtime,
      (node) => this.peers.get(node),
      this.logger,
      this.opts.maxFrameBytes - 1024,
    )
    this.runtime.setRoute(this.route)
    this.docs = new DocService(this.id, () => this.peers.values(), this.logger)
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.opts.maxFrameBytes,
      perMessageDeflate: false,
    })
    this.yjs = this.opts.yjsEndpoint ? new YjsEndpoint(this.docs, this.logger) : undefined
    server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head))
    server.on('request', (req, res) => this.onRequest(req, res))
    server.on('clientError', (_err, socket) => socket.destroy())
    this.scheduleHeartbeat()
  }

  // ------------------------------------------------------------------ public API

  /** Listens to `nodeUp` / `nodeDown`; returns the function that stops listening. */
  on<K extends keyof NodeEvents>(event: K, listener: (...args: NodeEvents[K]) => void): () => void {
    return this.events.on(event, listener)
  }

  /** The other nodes that are up now. */
  nodes(): NodeInfo[] {
    const out: NodeInfo[] = []
    for (const [id, peer] of this.peers) {
      const m = this.known.get(id)
      if (m !== undefined && peer.synced) out.push({ ...m })
    }
    return out
  }

  /** Every node this node has heard of, with its status, this node included. */
  members(): NodeInfo[] {
    return [this.selfInfo(), ...[...this.known.values()].map((m) => ({ ...m }))]
  }

  /** True while `node` is connected. */
  isUp(node: NodeId): boolean {
    return this.peers.get(node)?.synced === true
  }

  /** True once `stop()` (or `kill()`) began. */
  get isStopping(): boolean {
    return this.state !== 'running'
  }

  /** Counters for metrics and tests. */
  stats(): {
    peers: number
    messagesOut: number
    messagesIn: number
    dropped: number
    bytesOut: number
    bytesIn: number
  } {
    let bytesOut = 0
    let bytesIn = 0
    for (const p of this.peers.values()) {
      bytesOut += p.bytesOut
      bytesIn += p.bytesIn
    }
    return {
      peers: this.peers.size,
      messagesOut: this.route.messagesOut,
      messagesIn: this.route.messagesIn,
      dropped: this.route.dropped,
      bytesOut,
      bytesIn,
    }
  }

  /** Dials `url` (`ws://host:port`) and keeps it as a seed: reconnected whenever it drops. */
  connect(url: string): void {
    const u = normalizeUrl(url)
    this.seedUrls.add(u)
    this.maybeDial(u)
  }

  /**
   * Serves `handler` for requests whose path starts with `prefix` (`/metrics`, `/`); the longest
   * matching prefix wins. Returns the function that removes the route (if it is still this one).
   */
  addHttpRoute(prefix: string, handler: HttpHandler): () => void {
    return addRoute(this.httpRoutes, prefix, handler)
  }

  /**
   * Accepts websocket upgrades whose path starts with `prefix` (say `/rooms/`) on the node's own
   * port, and hands each socket to `handler`; the longest matching prefix wins. `/cluster` and
   * `/yjs/` stay the node's. While the node stops, upgrades are refused with 503. Returns the
   * function that removes the route (if it is still this one).
   */
  addWebSocketRoute(prefix: string, handler: WebSocketHandler): () => void {
    if (!prefix.startsWith('/') || prefix === '/cluster' || prefix.startsWith('/yjs/')) {
      throw new BadConfig(`addWebSocketRoute: ${prefix} is not a free path prefix`)
    }
    return addRoute(this.wsRoutes, prefix, handler)
  }

  /**
   * Adds a step to the graceful leave, run before the runtime stops (hand-offs go here). Steps
   * run newest first, each bounded by `stopTimeoutMs`.
   */
  onStop(name: string, fn: () => Promise<void>): void {
    this.stopHooks.push({ name, fn })
  }

  /**
   * Leaves the cluster gracefully: peers are told first (they see `leave`, not a failure), the
   * stop steps run, every process stops, replication is flushed, then the sockets close.
   */
  stop(): Promise<void> {
    this.stopping ??= this.doStop()
    return this.stopping
  }

  /**
   * Ends the node abruptly, as a crash would: sockets are cut without a word to the peers.
   * For tests of failure handling with several nodes in one process.
   */
  async kill(): Promise<void> {
    if (this.state === 'stopped') return
    this.state = 'stopped'
    this.clearTimers()
    for (const p of this.peers.values()) p.ws.terminate()
    for (const ws of this.pendingSockets) ws.terminate()
    for (const d of this.dials.values()) d.socket?.terminate()
    this.peers.clear()
    this.yjs?.close()
    await this.runtime.shutdown(0)
    await this.closeServer()
    this.docs.close()
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop()
  }

  // ------------------------------------------------------------------ seeds and dialing

  /** @internal */
  connectSeeds(): void {
    void this.resolveSeeds()
    if (this.seeds.length > 0) {
      const refresh = (): void => {
        this.seedTimer = this.clock.setTimeout(() => {
          if (this.state !== 'running') return
          void this.resolveSeeds()
          refresh()
        }, 30_000)
      }
      refresh()
    }
  }

  private async resolveSeeds(): Promise<void> {
    for (const seed of this.seeds) {
      const u = new URL(seed)
      const host = u.hostname.replace(/^\[|\]$/g, '')
      let addresses: string[] = [host]
      if (!isIpLiteral(host)) {
        try {
          addresses = await this.resolveHost(host)
        } catch (e) {
          this.logger.warn({ seed, err: e }, 'seed did not resolve; will retry')
          continue
        }
      }
      if (this.state !== 'running') return
      // A named seed is dialed at the addresses `resolveHost` gave (even just one: an injected
      // resolver may know names the system resolver does not), with the name for TLS.
      if (isIpLiteral(host) || addresses.length === 0) {
        this.seedUrls.add(seed)
        this.maybeDial(seed)
        continue
      }
      for (const address of addresses) {
        const url = normalizeUrl(
          `${u.protocol}//${address.includes(':') ? `[${address}]` : address}${u.port ? `:${u.port}` : ''}`,
        )
        this.seedUrls.add(url)
        this.maybeDial(url, host)
      }
    }
  }

  private maybeDial(url: string, servername?: string): void {
    if (this.state !== 'running' || url === this.url) return
    if (this.peerAt(url)) return
    let d = this.dials.get(url)
    if (d === undefined) {
      d = {
        url,
        attempt: 0,
        timer: undefined,
        socket: undefined,
        refused: false,
        self: false,
        servername,
      }
      this.dials.set(url, d)
    }
    if (d.self || d.socket !== undefined || d.timer !== undefined) return
    this.dial(d)
  }

  /** True when a connected peer is reached at `url` (advertised, or dialed). */
  private peerAt(url: string): boolean {
    for (const p of this.peers.values()) if (p.url === url || p.dialedUrl === url) return true
    return false
  }

  /** Whether `url` should be dialed again after a failure. */
  private wanted(url: string): boolean {
    if (this.state !== 'running' || url === this.url) return false
    if (this.peerAt(url)) return false
    if (this.seedUrls.has(url)) return true
    for (const m of this.known.values()) {
      // Of two nodes that lost each other, the one with the smaller id dials: one connection.
      if (m.url === url && (m.status === 'down' || m.status === 'known') && this.id < m.id)
        return true
    }
    return false
  }

  private retry(d: DialState): void {
    d.socket = undefined
    if (d.self || !this.wanted(d.url)) {
      if (!d.self) this.dials.delete(d.url)
      return
    }
    const backoff = Math.min(this.opts.reconnectMaxMs, this.opts.reconnectMinMs * 2 ** d.attempt)
    const delay = d.refused
      ? this.opts.refusedRetryMs
      : backoff / 2 + (this.clock.random() * backoff) / 2
    d.attempt = Math.min(d.attempt + 1, 20)
    d.refused = false
    d.timer = this.clock.setTimeout(() => {
      d.timer = undefined
      if (this.wanted(d.url)) this.dial(d)
    }, delay)
  }

  private dial(d: DialState): void {
    const target = `${this.rewriteUrl(d.url)}/cluster`
    let ws: WebSocket
    try {
      ws = new WebSocket(target, {
        perMessageDeflate: false,
        maxPayload: this.opts.maxFrameBytes,
        handshakeTimeout: this.opts.handshakeTimeoutMs,
        ...(this.tls ? { key: this.tls.key, cert: this.tls.cert, ca: this.tls.ca } : {}),
        ...(d.servername !== undefined ? { servername: d.servername } : {}),
      })
    } catch (e) {
      this.logger.warn({ url: d.url, err: e }, 'cannot dial')
      this.retry(d)
      return
    }
    d.socket = ws
    const nonce = makeNonce()
    let stage: 'challenge' | 'welcome' | 'up' = 'challenge'
    let peerIdent: HelloFrame | undefined
    const timer = this.clock.setTimeout(() => {
      if (stage !== 'up') {
        this.logger.warn({ url: d.url }, 'handshake timed out')
        ws.terminate()
      }
    }, this.opts.handshakeTimeoutMs)
    ws.on('open', () => {
      ws.send(frame((enc) => writeHello(enc, { ...this.identity(), nonce })))
    })
    const onMessage = (data: RawData): void => {
      try {
        const dec = decoding.createDecoder(toBytes(data))
        const type = decoding.readVarUint(dec)
        if (type === Frame.Refuse) {
          const reason = decoding.readVarString(dec) as RefuseReason
          const detail = decoding.readVarString(dec)
          if (reason === 'self') d.self = true
          else if (reason !== 'stopping' && reason !== 'busy') {
            d.refused = true
            this.logger.error(
              { url: d.url, reason, detail },
              `connection refused by peer: ${detail}`,
            )
          }
          ws.close(1000)
          return
        }
        if (stage === 'challenge') {
          if (type !== Frame.Challenge)
            throw new ProtocolError(`expected challenge, got frame ${type}`)
          const ident = readIdentity(dec)
          const got = decoding.readVarUint8Array(dec)
          const refuse = this.checkIdentity(ident)
          if (refuse !== undefined) {
            if (refuse === 'self') d.self = true
            else d.refused = true
            this.refuse(ws, refuse, ident, 'dialer')
            return
          }
          if (!this.peerProved('acceptor', nonce, ident.nodeId, got)) {
            d.refused = true
            this.refuse(ws, 'cookie', ident, 'dialer')
            return
          }
          peerIdent = ident
          stage = 'welcome'
          const mine = this.proofAs('dialer', ident.nonce, ident.nodeId)
          ws.send(
            frame((enc) => {
              encoding.writeVarUint(enc, Frame.Auth)
              encoding.writeVarUint8Array(enc, mine)
            }),
          )
          return
        }
        if (stage === 'welcome') {
          if (type !== Frame.Welcome || peerIdent === undefined) {
            throw new ProtocolError(`expected welcome, got frame ${type}`)
          }
          stage = 'up'
          this.clock.clearTimeout(timer)
          ws.off('message', onMessage)
          d.socket = undefined
          d.attempt = 0
          this.peerUp(ws, peerIdent, this.id, d.url)
        }
      } catch (e) {
        this.logger.warn({ url: d.url, err: e }, 'bad handshake frame; closing')
        ws.terminate()
      }
    }
    ws.on('message', onMessage)
    ws.on('error', (e) => this.logger.debug({ url: d.url, err: e }, 'dial error'))
    ws.on('close', () => {
      this.clock.clearTimeout(timer)
      if (stage !== 'up') this.retry(d)
    })
  }

  // ------------------------------------------------------------------ accepting

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = pathOf(req)
    if (path === undefined) return rejectUpgrade(socket, 400, 'Bad Request')
    if (path === '/cluster') {
      if (this.state !== 'running') return rejectUpgrade(socket, 503, 'Service Unavailable')
      if (this.pendingSockets.size >= this.opts.maxPendingConnections) {
        this.logger.warn(
          { pending: this.pendingSockets.size },
          'too many connections in handshake; refusing',
        )
        return rejectUpgrade(socket, 503, 'Service Unavailable')
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws))
      return
    }
    if (path.startsWith('/yjs/') && this.yjs !== undefined) {
      let docName: string
      try {
        docName = decodeURIComponent(path.slice('/yjs/'.length))
      } catch {
        return rejectUpgrade(socket, 400, 'Bad Request')
      }
      const yjs = this.yjs
      this.wss.handleUpgrade(req, socket, head, (ws) => yjs.accept(ws, docName))
      return
    }
    const handler = routeFor(this.wsRoutes, path)
    if (handler === undefined) return rejectUpgrade(socket, 404, 'Not Found')
    if (this.state !== 'running') return rejectUpgrade(socket, 503, 'Service Unavailable')
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      try {
        handler(ws, req)
      } catch (e) {
        this.logger.error({ err: e, path }, 'websocket route handler threw')
        ws.close(1011)
      }
    })
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const path = pathOf(req)
    if (path === undefined) {
      res.writeHead(400, { 'content-type': 'text/plain' })
      res.end('bad request\n')
      return
    }
    const handler = routeFor(this.httpRoutes, path)
    if (handler !== undefined) {
      try {
        handler(req, res)
      } catch (e) {
        this.logger.error({ err: e, path }, 'http handler threw')
        if (!res.headersSent) res.writeHead(500)
        res.end()
      }
      return
    }
    res.writeHead(404, { 'content-type': 'text/plain' })
    res.end('not found\n')
  }

  private accept(ws: WebSocket): void {
    this.pendingSockets.add(ws)
    let stage: 'hello' | 'auth' | 'done' = 'hello'
    let hello: HelloFrame | undefined
    const nonce = makeNonce()
    const timer = this.clock.setTimeout(() => {
      if (stage !== 'done') {
        this.logger.warn({}, 'incoming connection did not finish its handshake in time; closed')
        ws.terminate()
      }
    }, this.opts.handshakeTimeoutMs)
    const onMessage = (data: RawData): void => {
      try {
        const dec = decoding.createDecoder(toBytes(data))
        const type = decoding.readVarUint(dec)
        if (type === Frame.Refuse) {
          const reason = decoding.readVarString(dec)
          const detail = decoding.readVarString(dec)
          this.logger.error(
            { peer: hello?.name, url: hello?.url, reason },
            `${hello?.name ?? 'a peer'} refused the handshake: ${detail}`,
          )
          ws.close(1000)
          return
        }
        if (stage === 'hello') {
          if (type !== Frame.Hello) throw new ProtocolError(`expected hello, got frame ${type}`)
          hello = readIdentity(dec)
          const refuse = this.checkIdentity(hello)
          if (refuse !== undefined) {
            this.refuse(ws, refuse, hello, 'acceptor')
            return
          }
          // Both nodes are dialing each other: the connection the smaller id dials is the one
          // that stays, so refuse the other before either side sends anything on it.
          if (this.id < hello.nodeId && this.dials.get(hello.url)?.socket !== undefined) {
            this.refuse(ws, 'busy', hello, 'acceptor')
            return
          }
          stage = 'auth'
          const mine = this.proofAs('acceptor', hello.nonce, hello.nodeId)
          ws.send(frame((enc) => writeChallenge(enc, { ...this.identity(), nonce, proof: mine })))
          return
        }
        if (stage === 'auth' && hello !== undefined) {
          if (type !== Frame.Auth) throw new ProtocolError(`expected auth, got frame ${type}`)
          const got = decoding.readVarUint8Array(dec)
          if (!this.peerProved('dialer', nonce, hello.nodeId, got)) {
            this.refuse(ws, 'cookie', hello, 'acceptor')
            return
          }
          stage = 'done'
          this.clock.clearTimeout(timer)
          this.pendingSockets.delete(ws)
          ws.off('message', onMessage)
          ws.send(frame((enc) => encoding.writeVarUint(enc, Frame.Welcome)))
          this.peerUp(ws, hello, hello.nodeId)
        }
      } catch (e) {
        this.logger.warn({ err: e }, 'bad handshake frame from an incoming connection; closed')
        ws.terminate()
      }
    }
    ws.on('message', onMessage)
    ws.on('error', (e) => this.socketError(e, {}, 'an incoming connection'))
    ws.on('close', () => {
      this.clock.clearTimeout(timer)
      this.pendingSockets.delete(ws)
    })
  }

  /** This node's proof, in `role`, that it knows the cookie: bound to the peer's nonce and id. */
  private proofAs(role: 'acceptor' | 'dialer', peerNonce: Uint8Array, peerId: string): Uint8Array {
    return proof(this.cookie ?? '', role, peerNonce, this.id, peerId, this.opts.cluster)
  }

  /** Whether `got` is the proof a peer in `role` owes over this node's `nonce`. */
  private peerProved(
    role: 'acceptor' | 'dialer',
    nonce: Uint8Array,
    peerId: string,
    got: Uint8Array,
  ): boolean {
    const expected = proof(this.cookie ?? '', role, nonce, peerId, this.id, this.opts.cluster)
    return proofMatches(expected, got)
  }

  private identity(): Omit<HelloFrame, 'nonce'> {
    return {
      version: PROTOCOL_VERSION,
      cluster: this.opts.cluster,
      nodeId: this.id,
      name: this.name,
      url: this.url,
    }
  }

  private checkIdentity(peer: HelloFrame): RefuseReason | undefined {
    if (peer.version !== PROTOCOL_VERSION) return 'version'
    if (peer.cluster !== this.opts.cluster) return 'cluster'
    if (peer.nodeId === this.id) return 'self'
    if (this.state !== 'running') return 'stopping'
    if (this.cookie === undefined || this.cookie === '') return 'cookie'
    return undefined
  }

  private refuse(
    ws: WebSocket,
    reason: RefuseReason,
    peer: HelloFrame,
    side: 'acceptor' | 'dialer',
  ): void {
    const detail =
      reason === 'cookie'
        ? this.cookie
          ? 'cookie mismatch'
          : 'this node has no cookie'
        : reason === 'cluster'
          ? `cluster mismatch (${peer.cluster} vs ${this.opts.cluster})`
          : reason === 'version'
            ? `protocol version mismatch (${peer.version} vs ${PROTOCOL_VERSION})`
            : reason === 'self'
              ? 'connected to itself'
              : reason === 'busy'
                ? 'already dialing this node'
                : reason
    if (reason === 'self' || reason === 'stopping' || reason === 'busy') {
      this.logger.debug({ peer: peer.name, url: peer.url, reason }, 'handshake refused')
    } else {
      this.logger.error(
        { peer: peer.name, url: peer.url, reason, side },
        `refusing connection with ${peer.name} (${peer.url}): ${detail}`,
      )
    }
    ws.send(
      frame((enc) => {
        encoding.writeVarUint(enc, Frame.Refuse)
        encoding.writeVarString(enc, reason)
        encoding.writeVarString(enc, detail)
      }),
    )
    ws.close(1000)
  }

  // ------------------------------------------------------------------ peers

  private peerUp(ws: WebSocket, ident: HelloFrame, dialerId: string, dialedUrl?: string): void {
    const id = ident.nodeId as NodeId
    if (this.state !== 'running') {
      ws.close(1000)
      return
    }
    const existing = this.peers.get(id)
    if (existing !== undefined) {
      // Two connections to one peer (both dialed at once): keep the one the smaller id dialed,
      // or the newer of two alike. Both sides apply the same rule.
      const min = id < this.id ? id : this.id
      const newPreferred = dialerId === min
      const oldPreferred = existing.dialerId === min
      if (oldPreferred && !newPreferred) {
        ws.close(4001, 'duplicate connection')
        return
      }
      const old = existing.ws
      existing.flush()
      existing.ws = ws
      existing.dialerId = dialerId
      if (dialedUrl !== undefined && dialedUrl !== existing.url) existing.dialedUrl = dialedUrl
      this.attach(existing, ws)
      old.close(4001, 'duplicate connection')
      // Frames the peer sent on the old connection after it chose it may be lost with it:
      // announce our docs and members again on the one kept (both are idempotent).
      this.announce(existing)
      const list = this.memberList()
      existing.write((enc) => writeMembers(enc, list))
      return
    }
    const peer = new Peer(
      id,
      ident.name,
      ident.url,
      ws,
      dialerId,
      this.clock.now(),
      this.beforeWrite,
      this.opts.maxFrameBytes,
    )
    if (dialedUrl !== undefined && dialedUrl !== ident.url) peer.dialedUrl = dialedUrl
    this.peers.set(id, peer)
    this.known.set(id, { id, name: ident.name, url: ident.url, status: 'known' })
    for (const url of [ident.url, peer.dialedUrl]) {
      const d = url === undefined ? undefined : this.dials.get(url)
      if (d === undefined) continue
      this.clock.clearTimeout(d.timer)
      d.timer = undefined
      d.attempt = 0
    }
    this.attach(peer, ws)
    this.logger.debug({ peer: ident.name, url: ident.url }, 'connected; catching up on its docs')
    this.announce(peer)
    const list = this.memberList()
    for (const p of this.peers.values()) p.write((enc) => writeMembers(enc, list))
  }

  /**
   * Announces our docs to a peer and starts the catch-up handshake: the peer counts as up
   * (`nodeUp`, `isUp`, `nodes()`) only once our replicas of its docs have caught up, so that
   * nothing above (a registry's conflict rule, a supervisor's duplicate rule) ever decides on a
   * stale replica of a node that has just come back.
   */
  private announce(peer: Peer): void {
    this.docs.peerUp(peer)
    peer.write((enc) => encoding.writeVarUint(enc, Frame.AnnounceEnd))
  }

  private peerSynced(peer: Peer): void {
    if (peer.synced || this.peers.get(peer.nodeId) !== peer) return
    peer.synced = true
    const m = this.known.get(peer.nodeId)
    if (m === undefined) return
    if (m.status !== 'leaving') m.status = 'up'
    this.logger.info({ peer: peer.name, url: peer.url }, 'node up')
    this.events.emit('nodeUp', { ...m })
  }

  private attach(peer: Peer, ws: WebSocket): void {
    ws.on('message', (data: RawData) => this.onPeerMessage(peer, ws, data))
    ws.on('close', () => {
      if (peer.ws === ws) this.peerDown(peer, peer.leaving ? 'leave' : 'closed')
    })
    ws.on('error', (e) => this.socketError(e, { peer: peer.name }, 'peer'))
  }

  /** An error of `ws` itself (an oversized or malformed message) closed the socket: say so. */
  private socketError(e: Error, fields: object, from: string): void {
    if (isWsProtocolError(e)) {
      this.logger.warn({ ...fields, err: e }, `bad websocket message from ${from}; closed`)
    } else this.logger.debug({ ...fields, err: e }, `socket error (${from})`)
  }

  private readonly beforeWrite = (): void => {
    if (this.docs.dirty) this.docs.flushPending()
  }

  private onPeerMessage(peer: Peer, ws: WebSocket, data: RawData): void {
    if (this.peers.get(peer.nodeId) !== peer) return
    const bytes = toBytes(data)
    peer.lastSeen = this.clock.now()
    peer.bytesIn += bytes.length
    const dec = decoding.createDecoder(bytes)
    try {
      while (decoding.hasContent(dec)) {
        const type = decoding.readVarUint(dec)
        peer.framesIn++
        if (this.route.handle(peer, type, dec)) continue
        switch (type) {
          case Frame.Heartbeat:
            break
          case Frame.Leaving: {
            peer.leaving = true
            const m = this.known.get(peer.nodeId)
            if (m !== undefined) m.status = 'leaving'
            break
          }
          case Frame.Members:
            this.onMembers(readMembers(dec))
            break
          case Frame.Doc:
            this.docs.handleDoc(peer, dec)
            break
          case Frame.DocDrop:
            this.docs.handleDrop(peer, dec)
            break
          case Frame.AnnounceEnd:
            // Every announce of the peer has been answered (our state vectors are queued):
            // ask it to tell us once it has sent what they asked for.
            peer.write((enc) => encoding.writeVarUint(enc, Frame.SyncAsk))
            break
          case Frame.SyncAsk:
            peer.write((enc) => encoding.writeVarUint(enc, Frame.SyncDone))
            break
          case Frame.SyncDone:
            this.peerSynced(peer)
            break
          default:
            throw new ProtocolError(`unknown frame type ${type}`)
        }
      }
    } catch (e) {
      this.logger.warn(
        { peer: peer.name, err: e },
        'malformed frame from peer; closing the connection',
      )
      ws.close(1002, 'malformed frame')
      if (peer.ws === ws) this.peerDown(peer, 'protocol')
    }
  }

  private onMembers(list: MemberEntry[]): void {
    for (const m of list) {
      const id = m.nodeId as NodeId
      if (id === this.id || this.peers.has(id)) continue
      const known = this.known.get(id)
      if (known === undefined) {
        this.known.set(id, { id, name: m.name, url: normalizeUrl(m.url), status: 'known' })
      } else if (known.status === 'left') {
        continue
      }
      if (this.id < id) this.maybeDial(normalizeUrl(m.url))
    }
  }

  private memberList(): MemberEntry[] {
    const list: MemberEntry[] = [{ nodeId: this.id, name: this.name, url: this.url }]
    for (const p of this.peers.values()) {
      if (!p.leaving) list.push({ nodeId: p.nodeId, name: p.name, url: p.url })
    }
    return list
  }

  private peerDown(peer: Peer, reason: DownReason): void {
    if (this.peers.get(peer.nodeId) !== peer) return
    this.peers.delete(peer.nodeId)
    this.route.peerGone(peer)
    const m = this.known.get(peer.nodeId)
    if (m !== undefined) m.status = reason === 'leave' ? 'left' : 'down'
    if (reason === 'timeout') peer.ws.terminate()
    const log =
      reason === 'leave' ? this.logger.info.bind(this.logger) : this.logger.warn.bind(this.logger)
    log({ peer: peer.name, url: peer.url, reason }, 'node down')
    this.runtime.nodeDown(peer.nodeId)
    // A peer that never caught up was never reported up: it is not reported down either.
    if (peer.synced) this.events.emit('nodeDown', { ...(m ?? this.infoOf(peer)) }, reason)
    if (reason !== 'leave' && this.state === 'running') {
      for (const url of [peer.url, peer.dialedUrl]) {
        if (url === undefined || !this.wanted(url)) continue
        const d = this.dials.get(url)
        if (d === undefined) this.maybeDial(url)
        else if (d.socket === undefined && d.timer === undefined) this.retry(d)
      }
    }
  }

  private infoOf(peer: Peer): NodeInfo {
    return { id: peer.nodeId, name: peer.name, url: peer.url, status: 'down' }
  }

  private selfInfo(): NodeInfo {
    return {
      id: this.id,
      name: this.name,
      url: this.url,
      status: this.state === 'running' ? 'up' : 'leaving',
    }
  }

  private scheduleHeartbeat(): void {
    this.heartbeatTimer = this.clock.setTimeout(() => {
      this.heartbeatTimer = undefined
      if (this.state === 'stopped') return
      const now = this.clock.now()
      for (const peer of [...this.peers.values()]) {
        if (now - peer.lastSeen > this.opts.heartbeatTimeoutMs) {
          this.peerDown(peer, 'timeout')
          continue
        }
        peer.write((enc) => encoding.writeVarUint(enc, Frame.Heartbeat))
      }
      this.scheduleHeartbeat()
    }, this.opts.heartbeatIntervalMs)
  }

  // ------------------------------------------------------------------ stopping

  private async doStop(): Promise<void> {
    if (this.state !== 'running') return
    this.state = 'stopping'
    this.logger.info({}, 'leaving the cluster')
    for (const p of this.peers.values()) p.write((enc) => encoding.writeVarUint(enc, Frame.Leaving))
    for (const p of this.peers.values()) p.flush()
    for (const hook of [...this.stopHooks].reverse()) {
      try {
        await withTimeout(this.clock, hook.fn(), this.opts.stopTimeoutMs, hook.name)
      } catch (e) {
        this.logger.error({ step: hook.name, err: e }, 'stop step failed')
      }
    }
    await this.runtime.shutdown()
    this.docs.flushPending()
    await Promise.all([...this.peers.values()].map((p) => p.drain(this.opts.stopTimeoutMs)))
    this.state = 'stopped'
    this.clearTimers()
    for (const p of [...this.peers.values()]) p.ws.close(1000, 'leave')
    for (const ws of this.pendingSockets) ws.terminate()
    for (const d of this.dials.values()) d.socket?.terminate()
    this.peers.clear()
    this.yjs?.close()
    await this.closeServer()
    this.docs.close()
  }

  private clearTimers(): void {
    if (this.heartbeatTimer !== undefined) this.clock.clearTimeout(this.heartbeatTimer)
    if (this.seedTimer !== undefined) this.clock.clearTimeout(this.seedTimer)
    for (const d of this.dials.values()) if (d.timer !== undefined) this.clock.clearTimeout(d.timer)
  }

  private async closeServer(): Promise<void> {
    this.wss.close()
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve())
      this.server.closeAllConnections()
    })
  }
}

function rejectUpgrade(socket: Duplex, code: number, text: string): void {
  socket.write(`HTTP/1.1 ${code} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
  socket.destroy()
}

/** The request's path, or undefined when its target is not a valid URL path (`//`). */
function pathOf(req: IncomingMessage): string | undefined {
  try {
    return new URL(req.url ?? '/', 'http://localhost').pathname
  } catch {
    return undefined
  }
}

/** An error of `ws` itself (an oversized or malformed websocket frame): it closes the socket. */
function isWsProtocolError(e: Error): boolean {
  const code = (e as { code?: unknown }).code
  return typeof code === 'string' && code.startsWith('WS_ERR_')
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data)
  if (data instanceof ArrayBuffer) return new Uint8Array(data)
  return data
}

function normalizeUrl(url: string): string {
  return url.replace(/\/+$/, '')
}

function isIpLiteral(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':')
}

/** Adds `handler` under `prefix`; the remover takes it out only if it is still this one. */
function addRoute<H>(routes: Map<string, H>, prefix: string, handler: H): () => void {
  routes.set(prefix, handler)
  return () => {
    if (routes.get(prefix) === handler) routes.delete(prefix)
  }
}

/** The handler of the longest prefix of `path` among `routes`. */
function routeFor<H>(routes: Map<string, H>, path: string): H | undefined {
  let best: string | undefined
  for (const prefix of routes.keys()) {
    if (path.startsWith(prefix) && (best === undefined || prefix.length > best.length))
      best = prefix
  }
  return best === undefined ? undefined : routes.get(best)
}
