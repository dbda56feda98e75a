// The websocket door of one node for y-websocket clients: `ws://host:port/rooms/<name>` on the
// node's own port (a websocket route of the node), one `Connection` process per client socket.
// It closes its sockets first when the node leaves.
import type { IncomingMessage } from 'node:http'
import type { RawData, WebSocket } from 'ws'
import { isNormalExit, type ExitReason } from '@swormjs/actor'
import type { SwormNode } from '@swormjs/sworm'
import { Connection, type ConnectionArgs, type SocketEvent } from './Connection.js'
import { Rooms } from './Room.js'

export interface RoomServerOptions {
  /** How long a leaving node waits for its clients to close their sockets (default 1000). */
  closeTimeoutMs?: number
}

/** The prefix of room URLs: a `WebsocketProvider`'s server URL is `<url>`, its room the name. */
const PREFIX = '/rooms/'

export class RoomServer implements AsyncDisposable {
  /** The server URL to give a `WebsocketProvider`: `ws://host:port/rooms`. */
  readonly url: string
  private readonly node: SwormNode
  private readonly sockets = new Set<WebSocket>()
  private readonly closeTimeoutMs: number
  private readonly removeRoute: () => void
  private closing: Promise<void> | undefined

  private constructor(node: SwormNode, closeTimeoutMs: number) {
    this.node = node
    this.url = `${node.url}${PREFIX.slice(0, -1)}`
    this.closeTimeoutMs = closeTimeoutMs
    this.removeRoute = node.addWebSocketRoute(PREFIX, (ws, req) => this.onSocket(ws, req))
  }

  /** Serves rooms for clients of `node` until it stops (or `close()`). */
  static start(node: SwormNode, options: RoomServerOptions = {}): Promise<RoomServer> {
    const rs = new RoomServer(node, options.closeTimeoutMs ?? 1000)
    // Runs before the node's names move: clients go to other nodes while this one hands off.
    node.onStop('collab-rooms server', () => rs.close())
    return Promise.resolve(rs)
  }

  private onSocket(ws: WebSocket, req: IncomingMessage): void {
    const room = roomOf(req)
    if (room === undefined) return ws.close(1008, 'no room in the path')
    if (this.closing !== undefined) return ws.close(1001, 'node leaving')
    this.accept(ws, room)
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
    this.removeRoute()
    for (const ws of this.sockets) ws.close(1001, 'node leaving')
    const clock = this.node.clock
    const deadline = clock.now() + this.closeTimeoutMs
    while (this.sockets.size > 0 && clock.now() < deadline) {
      await new Promise((r) => clock.setTimeout(() => r(undefined), 10))
    }
    for (const ws of this.sockets) ws.terminate()
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

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data)
  if (data instanceof ArrayBuffer) return new Uint8Array(data)
  return data
}
