// The websocket door of one node for y-websocket clients: `ws://host:port/rooms/<name>`, one
// `Connection` process per client socket. It listens on its own port next to the node's
// (the node's HTTP server has routes for plain requests, `addHttpRoute`, but no public hook for
// websocket upgrades), and closes its sockets first when the node leaves.
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type RawData, type WebSocket } from 'ws'
import { isNormalExit, type ExitReason } from '@sworm/actor'
import type { SwormNode } from 'sworm'
import { Connection, type ConnectionArgs, type SocketEvent } from './Connection.js'
import { Rooms } from './Room.js'

export interface RoomServerOptions {
  /** Where to listen (default `127.0.0.1`). */
  host?: string
  /** The port (default 0: a free one). */
  port?: number
  /** How long a leaving node waits for its clients to close their sockets (default 1000). */
  closeTimeoutMs?: number
}

/** The prefix of room URLs: a `WebsocketProvider`'s server URL is `<url>`, its room the name. */
const PREFIX = '/rooms/'

export class RoomServer implements AsyncDisposable {
  /** The server URL to give a `WebsocketProvider`: `ws://host:port/rooms`. */
  readonly url: string
  private readonly node: SwormNode
  private readonly server: Server
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false })
  private readonly sockets = new Set<WebSocket>()
  private readonly closeTimeoutMs: number
  private closing: Promise<void> | undefined

  private constructor(node: SwormNode, server: Server, url: string, closeTimeoutMs: number) {
    this.node = node
    this.server = server
    this.url = url
    this.closeTimeoutMs = closeTimeoutMs
    server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head))
  }

  /** Serves rooms for clients of `node` until it stops (or `close()`). */
  static async start(node: SwormNode, options: RoomServerOptions = {}): Promise<RoomServer> {
    const host = options.host ?? '127.0.0.1'
    const server = createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' })
      res.end(`connect a y-websocket client to ${PREFIX}<name>\n`)
    })
    server.on('clientError', (_err, socket) => socket.destroy())
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject)
      server.listen(options.port ?? 0, host, () => resolve((server.address() as AddressInfo).port))
    })
    const rs = new RoomServer(
      node,
      server,
      `ws://${host}:${port}${PREFIX.slice(0, -1)}`,
      options.closeTimeoutMs ?? 1000,
    )
    // Runs before the node's names move: clients go to other nodes while this one hands off.
    node.onStop('collab-rooms server', () => rs.close())
    return rs
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const room = roomOf(req)
    if (room === undefined) return reject(socket, 404, 'Not Found')
    if (this.closing !== undefined || this.node.isStopping) {
      return reject(socket, 503, 'Service Unavailable')
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, room))
  }

  private accept(ws: WebSocket, room: string): void {
    const rt = this.node.runtime
    const args: ConnectionArgs = { ws, room, rooms: Rooms.on(this.node) }
    const pid = rt.spawn(Connection, args)
    const pass = (event: SocketEvent): void => rt.send(pid, event)
    this.sockets.add(ws)
    ws.on('message', (data: RawData) => pass({ type: 'ws:message', data: toBytes(data) }))
    ws.on('close', () => {
      this.sockets.delete(ws)
      pass({ type: 'ws:close' })
    })
    ws.on('error', () => ws.terminate())
    // The connection's end closes the socket: the client reconnects (to this node or another).
    rt.monitor((reason: ExitReason) => {
      if (ws.readyState === ws.CLOSED || ws.readyState === ws.CLOSING) return
      if (isNormalExit(reason)) ws.close(1000)
      else if (reason === 'shutdown') ws.close(1001, 'node leaving')
      else ws.close(1011, 'room connection failed')
    }, pid)
  }

  /** Stops taking clients and closes every client socket (clients reconnect elsewhere). */
  close(): Promise<void> {
    this.closing ??= this.doClose()
    return this.closing
  }

  private async doClose(): Promise<void> {
    for (const ws of this.sockets) ws.close(1001, 'node leaving')
    this.wss.close()
    const clock = this.node.clock
    await new Promise<void>((resolve) => {
      const timer = clock.setTimeout(() => {
        for (const ws of this.sockets) ws.terminate()
      }, this.closeTimeoutMs)
      this.server.close(() => {
        clock.clearTimeout(timer)
        resolve()
      })
      this.server.closeIdleConnections()
    })
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }
}

/** The room a request asks for (`/rooms/<name>`, URI-encoded), if any. */
function roomOf(req: IncomingMessage): string | undefined {
  try {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname
    if (!path.startsWith(PREFIX)) return undefined
    const room = decodeURIComponent(path.slice(PREFIX.length))
    return room === '' ? undefined : room
  } catch {
    return undefined
  }
}

function reject(socket: Duplex, code: number, text: string): void {
  socket.write(`HTTP/1.1 ${code} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
  socket.destroy()
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data)
  if (data instanceof ArrayBuffer) return new Uint8Array(data)
  return data
}
