// The node's HTTP server and what it serves: the HTTP routes and websocket routes added by the
// layers above (the longest path prefix wins), `/cluster` for peers and `/yjs/` for Yjs clients.
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { WebSocket, WebSocketServer } from 'ws'
import type { Logger } from '@swormjs/actor'
import { BadConfig } from './errors.js'
import { rejectUpgrade, tlsBinding } from './sockets.js'
import { TLSSocket } from 'node:tls'

/** An HTTP handler for a path prefix (`/metrics`, the observer page). */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => void
/** Takes a websocket accepted on a route added with `addWebSocketRoute`. */
export type WebSocketHandler = (ws: WebSocket, req: IncomingMessage) => void

/** What the routes need of their node. */
export interface RoutesHost {
  readonly logger: Logger
  /** False once the node began to stop: websocket upgrades are refused with 503. */
  running(): boolean
  /** Whether one more peer connection may begin its handshake now (logs why not). */
  handshakeSlotFree(): boolean
  /**
   * Takes a socket upgraded on `/cluster`: a peer's handshake begins, bound to the TLS session
   * (`binding`) when there is one.
   */
  acceptPeer(ws: WebSocket, source: string, binding: Uint8Array | undefined): void
  /** The read-only Yjs endpoint served at `/yjs/<doc>`, if it is served. */
  readonly yjs:
    | { upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, docName: string): void }
    | undefined
}

export class HttpRoutes {
  private readonly host: RoutesHost
  private readonly server: Server
  private readonly wss: WebSocketServer
  private readonly httpRoutes = new Map<string, HttpHandler>()
  private readonly wsRoutes = new Map<string, WebSocketHandler>()

  constructor(
    server: Server,
    host: RoutesHost,
    options: {
      maxFrameBytes: number
      webSocket: { WebSocket: typeof WebSocket; WebSocketServer: typeof WebSocketServer }
    },
  ) {
    this.host = host
    this.server = server
    this.wss = new options.webSocket.WebSocketServer({
      noServer: true,
      maxPayload: options.maxFrameBytes,
      perMessageDeflate: false,
      WebSocket: options.webSocket.WebSocket,
    })
    server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head))
    server.on('request', (req, res) => this.onRequest(req, res))
    server.on('clientError', (_err, socket) => socket.destroy())
  }

  /** See `Node.addHttpRoute`. */
  addHttpRoute(prefix: string, handler: HttpHandler): () => void {
    return addRoute(this.httpRoutes, prefix, handler)
  }

  /** See `Node.addWebSocketRoute`. */
  addWebSocketRoute(prefix: string, handler: WebSocketHandler): () => void {
    if (!prefix.startsWith('/') || prefix === '/cluster' || prefix.startsWith('/yjs/')) {
      throw new BadConfig(`addWebSocketRoute: ${prefix} is not a free path prefix`)
    }
    return addRoute(this.wsRoutes, prefix, handler)
  }

  /** Stops serving: closes the websocket server, every connection and the HTTP server. */
  async close(): Promise<void> {
    this.wss.close()
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve())
      this.server.closeAllConnections()
    })
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = pathOf(req)
    if (path === undefined) return rejectUpgrade(socket, 400, 'Bad Request')
    if (path === '/cluster') {
      if (!this.host.running()) return rejectUpgrade(socket, 503, 'Service Unavailable')
      if (!this.host.handshakeSlotFree()) return rejectUpgrade(socket, 503, 'Service Unavailable')
      const tls = req.socket instanceof TLSSocket ? req.socket : undefined
      // Over TLS, only a peer whose certificate `ca` signed may begin a handshake.
      if (tls !== undefined && !tls.authorized) {
        return rejectUpgrade(socket, 401, 'Unauthorized')
      }
      const source = req.socket.remoteAddress ?? 'unknown'
      const binding = tls === undefined ? undefined : tlsBinding(tls)
      this.wss.handleUpgrade(req, socket, head, (ws) => this.host.acceptPeer(ws, source, binding))
      return
    }
    const yjs = this.host.yjs
    if (path.startsWith('/yjs/') && yjs !== undefined) {
      let docName: string
      try {
        docName = decodeURIComponent(path.slice('/yjs/'.length))
      } catch {
        return rejectUpgrade(socket, 400, 'Bad Request')
      }
      yjs.upgrade(req, socket, head, docName)
      return
    }
    const handler = routeFor(this.wsRoutes, path)
    if (handler === undefined) return rejectUpgrade(socket, 404, 'Not Found')
    if (!this.host.running()) return rejectUpgrade(socket, 503, 'Service Unavailable')
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      try {
        handler(ws, req)
      } catch (e) {
        this.host.logger.error({ err: e, path }, 'websocket route handler threw')
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
        this.host.logger.error({ err: e, path }, 'http handler threw')
        if (!res.headersSent) res.writeHead(500)
        res.end()
      }
      return
    }
    res.writeHead(404, { 'content-type': 'text/plain' })
    res.end('not found\n')
  }
}

/** The request's path, or undefined when its target is not a valid URL path (`//`). */
function pathOf(req: IncomingMessage): string | undefined {
  try {
    return new URL(req.url ?? '/', 'http://localhost').pathname
  } catch {
    return undefined
  }
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
