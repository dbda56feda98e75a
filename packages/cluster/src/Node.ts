// A Sworm node: the actor runtime plus one HTTP server, the websocket mesh to every other node
// (cookie handshake, heartbeats, gossip, reconnects), remote processes, and replicated docs.
// This file is the facade and the lifecycle; each part owns its state and sees the node through
// a host interface: HttpRoutes, Dialer, Handshake, Membership (with dispatch), Heartbeat.
import { createServer as createHttpServer, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { lookup } from 'node:dns/promises'
import { hostname, networkInterfaces } from 'node:os'
import { WebSocket, WebSocketServer } from 'ws'
import {
  createLogger,
  Emitter,
  Listenable,
  realClock,
  Runtime,
  withTimeout,
  type Clock,
  type Logger,
  type NodeId,
} from '@swormjs/actor'
import { nodeDefaults } from './defaults.js'
import { Dialer } from './Dialer.js'
import { DocService } from './DocService.js'
import { Handshake } from './Handshake.js'
import { Heartbeat } from './Heartbeat.js'
import { deviationsAt } from './PhiAccrual.js'
import { HttpRoutes, type HttpHandler, type WebSocketHandler } from './HttpRoutes.js'
import { Membership } from './Membership.js'
import type { Peer } from './Peer.js'
import {
  resolveOptions,
  validateNodeOptions,
  type NodeOptions,
  type ResolvedOptions,
} from './options.js'
import { Readiness, type ReadyCheck, type ReadyOptions } from './Readiness.js'
import { RemoteRoute } from './RemoteRoute.js'
import { normalizeUrl } from './sockets.js'
import type { NodeEvents, NodeInfo } from './types.js'
import { YjsEndpoint } from './YjsEndpoint.js'

/**
 * Starts a node: listens, then dials its seeds. Dispose it (or `stop()`) to leave. Rejects with
 * `BadConfig` for options that cannot work, or with the listen error (a port in use).
 * @example
 * await using node = await startNode({
 *   port: 4000,
 *   cookie: process.env.SWORM_COOKIE,
 *   seeds: ['ws://10.0.0.2:4000'],
 * })
 * node.on('nodeUp', (info) => console.log('up', info.name))
 */
export async function startNode(options: NodeOptions = {}): Promise<Node> {
  validateNodeOptions(options)
  const server = options.tls
    ? createHttpsServer({
        key: options.tls.key,
        cert: options.tls.cert,
        ca: options.tls.ca,
        // A certificate is asked of every client and checked per path: `/cluster` demands one
        // signed by `ca`; `/metrics`, the observer, `/yjs` and the application's routes take
        // their own credentials (browsers have no client certificate).
        requestCert: true,
        rejectUnauthorized: false,
      })
    : createHttpServer()
  const host = options.host ?? nodeDefaults.host
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? nodeDefaults.port, host, () => {
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
export class Node extends Listenable<NodeEvents> implements AsyncDisposable {
  /** This incarnation's id: the node part of every pid it makes. */
  readonly id: NodeId
  /** The human name (`NodeOptions.name`, default `node-<port>`). */
  readonly name: string
  /** The URL other nodes dial it at (`NodeOptions.advertise`, or built from host and port). */
  readonly url: string
  /** The port it listens on (the one picked when `NodeOptions.port` was 0). */
  readonly port: number
  /** The actor runtime that runs this node's processes; remote pids route through the node. */
  readonly runtime: Runtime
  /** @internal The replicated docs, for the layers above (registry, supervisor). */
  readonly docs: DocService
  /** The node's logger: every line carries the node's name. */
  readonly logger: Logger
  /** The clock of its heartbeats, reconnects and runtime timers. */
  readonly clock: Clock

  private readonly opts: ResolvedOptions
  private readonly stopHooks: Array<{ name: string; fn: () => Promise<void> }> = []
  protected readonly events: Emitter<NodeEvents>
  private readonly route: RemoteRoute
  private readonly yjs: YjsEndpoint | undefined
  private readonly heartbeat: Heartbeat<Peer>
  private readonly membership: Membership
  private readonly handshake: Handshake
  private readonly dialer: Dialer
  private readonly routes: HttpRoutes
  private readonly readiness: Readiness
  private state: 'running' | 'stopping' | 'stopped' = 'running'
  private stopping: Promise<void> | undefined

  /** @internal use `startNode` */
  constructor(options: NodeOptions, server: Server, host: string, port: number) {
    super()
    const opts = resolveOptions(options)
    this.opts = opts
    // Fixed for the node's life; a quorum reads it on every check, so it is worked out once.
    this.downingBoundMs =
      opts.acceptableHeartbeatPauseMs +
      deviationsAt(opts.phiThreshold) * opts.minHeartbeatStdDeviationMs +
      opts.downAfterUnreachableMs
    this.port = port
    this.name = options.name ?? `node-${port}`
    const advertisedHost = host === '0.0.0.0' || host === '::' ? reachableAddress() : host
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
    this.events = new Emitter<NodeEvents>((e, ev) =>
      this.logger.error({ err: e, event: ev }, 'node event listener threw'),
    )
    const webSocket = options.webSocket ?? { WebSocket, WebSocketServer }

    // The parts, each with what it needs of this node. Calls between them go through here, so
    // none holds another; they are made before any of those calls can happen.
    const self = {
      id: this.id,
      name: this.name,
      url: this.url,
      clock: this.clock,
      logger: this.logger,
      running: (): boolean => this.state === 'running',
    }
    this.route = new RemoteRoute(
      this.runtime,
      {
        peer: (node) => this.membership.peer(node),
        peerOfPid: (pid) => this.membership.peerOfPid(pid),
      },
      this.logger,
      opts.maxFrameBytes - nodeDefaults.frameHeadroomBytes,
    )
    this.runtime.setRoute(this.route)
    this.docs = new DocService(this.id, () => this.membership.connectedPeers(), this.logger, {
      chunkBytes: Math.min(
        nodeDefaults.docChunkBytes,
        opts.maxFrameBytes - nodeDefaults.frameHeadroomBytes,
      ),
      maxUpdateBytes: opts.maxFrameBytes,
    })
    this.yjs =
      opts.yjsEndpoint !== undefined
        ? new YjsEndpoint(
            this.docs,
            this.logger,
            this.clock,
            opts.yjsEndpoint,
            webSocket.WebSocketServer,
          )
        : undefined
    this.heartbeat = new Heartbeat<Peer>(
      {
        clock: this.clock,
        unreachable: (peer, why) => this.membership.unreachable(peer, why),
        reachable: (peer, afterMs) => this.membership.reachable(peer, afterMs),
        silent: (peer) => this.membership.down(peer, 'timeout'),
        stalled: (lateMs) =>
          this.logger.warn(
            { lateMs: Math.round(lateMs) },
            "this node's event loop stalled; peers are judged again once its sockets are read",
          ),
        paused: (silentMs) => {
          this.logger.warn(
            { silentMs: Math.round(silentMs) },
            'this node was paused for longer than the downing bound; its peers may have taken it down',
          )
          this.events.emit('paused', silentMs)
        },
      },
      opts,
    )
    this.membership = new Membership(
      {
        ...self,
        events: this.events,
        route: this.route,
        docs: this.docs,
        nodeDown: (node) => this.runtime.nodeDown(node),
        detector: this.heartbeat,
        dial: (url) => this.dialer.dial(url),
        connected: (urls) => this.dialer.connected(urls),
        lost: (urls) => this.dialer.lost(urls),
      },
      opts,
    )
    this.handshake = new Handshake(
      {
        ...self,
        dialing: (url) => this.dialer.dialing(url),
        isMember: (id) => this.membership.isMember(id),
        peerUp: (ws, peer, dialerId, protocol, dialedUrl) =>
          this.membership.up(ws, peer, dialerId, protocol, dialedUrl),
      },
      { ...opts, cookie: options.cookie, protocolVersions: opts.protocolVersions },
    )
    this.dialer = new Dialer(
      {
        ...self,
        peerAt: (url) => this.membership.peerAt(url),
        memberToDial: (url) => this.membership.memberToDial(url),
        handshake: (ws, url, outcome) => this.handshake.dial(ws, url, outcome),
      },
      {
        ...opts,
        seeds: (options.seeds ?? []).map(normalizeUrl),
        resolveHost:
          options.resolveHost ??
          (async (h) => (await lookup(h, { all: true })).map((a) => a.address)),
        rewriteUrl: options.rewriteUrl ?? ((u) => u),
        tls: options.tls,
        WebSocket: webSocket.WebSocket,
      },
    )
    this.routes = new HttpRoutes(
      server,
      {
        logger: this.logger,
        running: self.running,
        handshakeSlotFree: () => this.handshake.slotFree(),
        acceptPeer: (ws, source, binding) => this.handshake.accept(ws, source, binding),
        yjs: this.yjs,
      },
      { maxFrameBytes: opts.maxFrameBytes, webSocket },
    )
    this.readiness = new Readiness(
      { ...self, upPeers: () => this.membership.nodes().length },
      opts.minNodes,
    )
    if (opts.health) this.serveHealth()
    this.heartbeat.start()
    // A pause is told before any process handles a message after it (see `paused`).
    this.runtime.setBeforeRun(() => this.heartbeat.checkPause())
    // A peer down for `forgetAfterMs` takes its application docs' replicas with it: a peer that
    // announced thousands of docs and went would otherwise leave them here for good.
    this.events.on('nodeDown', (info) => {
      this.clock.setTimeout(() => {
        if (!this.isUp(info.id) && !this.isStopping) this.docs.dropReplicasOf(info.id)
      }, opts.forgetAfterMs)
    })
  }

  // ------------------------------------------------------------------ public API

  /** The other nodes that are up now, unreachable ones (suspected, not down) included. */
  nodes(): NodeInfo[] {
    return this.membership.nodes()
  }

  /** Every node this node has heard of, with its status, this node included. */
  members(): NodeInfo[] {
    return [this.selfInfo(), ...this.membership.members()]
  }

  /**
   * The protocol version this node speaks with `node` (the newest both know), or undefined when
   * it is not connected. A layer above that changed a message's shape asks it in a rolling
   * upgrade (see `NodeOptions.protocolVersions`).
   */
  protocolOf(node: NodeId): number | undefined {
    return this.membership.peer(node)?.protocol
  }

  /**
   * When a frame last came from `node` (this node's clock, ms), or undefined when it is not
   * connected. A stall of this node's own event loop does not move it, unlike the detector's
   * view: a layer that must stop before its peers act on this node's silence (a quorum) reads it.
   * @internal
   */
  lastHeardFrom(node: NodeId): number | undefined {
    const peer = this.membership.peer(node)
    return peer === undefined ? undefined : this.heartbeat.heardAt(peer)
  }

  /**
   * The shortest silence after which a peer with this node's failure-detection options may take
   * a node down: the acceptable pause, the phi threshold's deviations at their minimum, and the
   * downing bound (`downAfterUnreachableMs`).
   * @internal
   */
  readonly downingBoundMs: number

  /** True while `node` is connected and caught up (unreachable or not). */
  isUp(node: NodeId): boolean {
    return this.membership.isUp(node)
  }

  /** True once `stop()` (or `kill()`) began. */
  get isStopping(): boolean {
    return this.state !== 'running'
  }

  /** Counters for metrics and tests. */
  stats(): {
    /** Peers connected now. */
    peers: number
    /** Messages and calls sent to processes of other nodes since start. */
    messagesOut: number
    /** Messages and calls received for this node's processes since start. */
    messagesIn: number
    /** Messages to a node that is not connected, dropped (as Erlang drops them). */
    dropped: number
    /**
     * Messages from peers whose payload could not be decoded here (a newer Node's v8 format in a
     * rolling upgrade, say), dropped; a call among them was answered with `NotSerializable`.
     */
    undecodable: number
    /** Frames and docs a peer sent in another node's name, dropped (docs/SECURITY.md). */
    forged: number
    /** Gossiped members, docs, monitors and links refused past their limits (docs/SECURITY.md). */
    overLimit: number
    /** Bytes sent to the peers connected now, over their connections' lives. */
    bytesOut: number
    /** Bytes received from the peers connected now, over their connections' lives. */
    bytesIn: number
    /** Frames queued to peers (heartbeats, which jump the queue, not counted). */
    framesOut: number
    /** Frames read from peers, heartbeats included. */
    framesIn: number
    /** Monitors (and calls' watches) that peers hold on this node's processes. */
    watchesForPeers: number
  } {
    const { peers, bytesOut, bytesIn, framesOut, framesIn, watchesForPeers } =
      this.membership.stats()
    return {
      peers,
      messagesOut: this.route.messagesOut,
      messagesIn: this.route.messagesIn,
      dropped: this.route.dropped,
      undecodable: this.route.undecodable,
      forged: this.route.forged.count + this.docs.forged.count,
      overLimit:
        this.membership.membersIgnored + this.route.overLimit.count + this.docs.overLimit.count,
      bytesOut,
      bytesIn,
      framesOut,
      framesIn,
      watchesForPeers,
    }
  }

  /**
   * Resolves once this node has met `minNodes` nodes (itself included; default: the node's
   * `minNodes` option) and caught up with their docs, and every added check passes (on a sworm
   * node: `minNodes` nodes run each of its sworms). Rejects with `NotReady` after `timeoutMs`,
   * `AbortError` when `signal` aborts, `NodeStopped` if the node stops first.
   * @example
   * await node.ready({ minNodes: 3, timeoutMs: 60_000 })
   */
  ready(options: ReadyOptions = {}): Promise<void> {
    return this.readiness.ready(options)
  }

  /** Whether `ready()` would resolve at once (for `minNodes`, the node's option by default). */
  isReady(minNodes?: number): boolean {
    return this.readiness.isReady(minNodes)
  }

  /**
   * Adds a condition to readiness (`ready()`, `/readyz`), named in logs and in `NotReady`: say, a
   * database the application needs. Returns the function that removes it.
   */
  addReadyCheck(name: string, check: ReadyCheck): () => void {
    return this.readiness.addCheck(name, check)
  }

  /** Dials `url` (`ws://host:port`) and keeps it as a seed: reconnected whenever it drops. */
  connect(url: string): void {
    this.dialer.connect(url)
  }

  /**
   * Serves `handler` for requests whose path starts with `prefix` (`/metrics`, `/`); the longest
   * matching prefix wins. Returns the function that removes the route (if it is still this one).
   */
  addHttpRoute(prefix: string, handler: HttpHandler): () => void {
    return this.routes.addHttpRoute(prefix, handler)
  }

  /**
   * Accepts websocket upgrades whose path starts with `prefix` (say `/rooms/`) on the node's own
   * port, and hands each socket to `handler`; the longest matching prefix wins. `/cluster` and
   * `/yjs/` stay the node's. While the node stops, upgrades are refused with 503. Returns the
   * function that removes the route (if it is still this one).
   */
  addWebSocketRoute(prefix: string, handler: WebSocketHandler): () => void {
    return this.routes.addWebSocketRoute(prefix, handler)
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
    this.closeConnections('cut')
    await this.runtime.shutdown(0)
    await this.routes.close()
    this.docs.close()
  }

  /** Same as `stop()`: for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop()
  }

  /** @internal Dials the seeds (`startNode` does, once the node listens). */
  connectSeeds(): void {
    this.dialer.start()
  }

  // ------------------------------------------------------------------ stopping

  private async doStop(): Promise<void> {
    if (this.state !== 'running') return
    this.state = 'stopping'
    this.logger.info({}, 'leaving the cluster')
    this.membership.sayLeaving()
    for (const hook of [...this.stopHooks].reverse()) {
      try {
        await withTimeout(this.clock, hook.fn(), this.opts.stopTimeoutMs, hook.name)
      } catch (e) {
        this.logger.error({ step: hook.name, err: e }, 'stop step failed')
      }
    }
    await this.runtime.shutdown()
    this.docs.flushPending()
    await this.membership.drain(this.opts.stopTimeoutMs)
    this.state = 'stopped'
    this.closeConnections('leave')
    await this.routes.close()
    this.docs.close()
  }

  /** Stops every timer and closes every connection: to peers (`leave` or `cut`), and the rest. */
  private closeConnections(peers: 'leave' | 'cut'): void {
    this.heartbeat.stop()
    this.dialer.stop()
    this.membership.close(peers)
    this.handshake.stop()
    this.yjs?.close()
  }

  /** `/healthz` and `/readyz` (option `health`), as plain text. */
  private serveHealth(): void {
    const answer = (res: ServerResponse, ok: boolean, text: string): void => {
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' })
      res.end(`${text}\n`)
    }
    this.addHttpRoute('/healthz', (_req, res) => answer(res, true, 'ok'))
    this.addHttpRoute('/readyz', (_req, res) => {
      const { ok, detail } = this.readiness.readyz()
      answer(res, ok, detail)
    })
  }

  private selfInfo(): NodeInfo {
    return {
      id: this.id,
      name: this.name,
      url: this.url,
      status: this.state === 'running' ? 'up' : 'leaving',
    }
  }
}

/**
 * What a node bound to every interface advertises when `advertise` is not given: its first
 * IPv4 address that is not a loopback one (what a pod's IP is), else its host name. The host name
 * was the default before; a Deployment's pods cannot resolve one another's.
 */
function reachableAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === 'IPv4' && !a.internal) return a.address
  }
  return hostname()
}
