// `/yjs/<doc>`: the node's docs served read-only with the y-websocket protocol, so a
// `WebsocketProvider` (a browser, a tool) can watch a doc live. Off by default. When on, only a
// client with the operator's token gets in (and a browser only from a listed origin); it may ask
// for a doc's state (sync step 1) and then hears its updates. Its writes are dropped undecoded.
// Each client is bounded: message size, idle time, and what waits in its send buffer.
import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import * as syncProtocol from 'y-protocols/sync'
import type { WebSocket, WebSocketServer, RawData } from 'ws'
import type { Clock, Logger, TimerHandle } from '@swormjs/actor'
import { nodeDefaults } from './defaults.js'
import type { DocService } from './DocService.js'
import { BadConfig } from './errors.js'
import { clip } from './HandshakeGuard.js'
import { weakCookie } from './proof.js'
import { rejectUpgrade, toBytes } from './sockets.js'

/** The `/yjs/<doc>` endpoint's options (`yjsEndpoint`); without them it is not served. */
export interface YjsEndpointOptions {
  /**
   * The credential a client presents, as `Authorization: Bearer <token>` or `?token=<token>`
   * (a browser's `WebsocketProvider` passes `params: { token }`). At least 16 characters.
   */
  token: string
  /** Origins a browser page may connect from, exactly (`https://app.example.com`). Default none. */
  origins?: string[]
  /** Clients at once; more get 503. Default 64. */
  maxConnections?: number
  /** A client that sends nothing this long is closed. Default 60000 (a provider pings every 15 s). */
  idleTimeoutMs?: number
  /** A larger message from a client closes it. Default 64 KiB (a state vector is small). */
  maxMessageBytes?: number
  /** A client whose send buffer holds more than this (it does not read) is closed. Default 8 MiB. */
  maxBufferedBytes?: number
}

type Resolved = Required<YjsEndpointOptions>

/** The y-websocket message type answered (awareness and others are ignored). */
const MessageSync = 0

/** `yjsEndpoint` checked and filled in; `undefined` when it is off. Throws `BadConfig`. */
export function resolveYjsOptions(o: unknown): Resolved | undefined {
  if (o === undefined || o === false) return undefined
  if (typeof o !== 'object' || o === null || Array.isArray(o)) {
    throw new BadConfig(
      "node option 'yjsEndpoint' must be false or { token, origins?, ... }: the endpoint " +
        'hands out every doc, so it needs a credential',
    )
  }
  const d = nodeDefaults.yjs
  const opts = o as YjsEndpointOptions
  const keys = [
    'token',
    'origins',
    'maxConnections',
    'idleTimeoutMs',
    'maxMessageBytes',
    'maxBufferedBytes',
  ]
  for (const key of Object.keys(opts)) {
    if (!keys.includes(key)) {
      throw new BadConfig(`unknown yjsEndpoint option '${key}'`)
    }
  }
  if (typeof opts.token !== 'string') throw new BadConfig("yjsEndpoint needs a 'token' (string)")
  const weak = weakCookie(opts.token)
  if (weak !== undefined) throw new BadConfig(`the yjsEndpoint token is too weak: ${weak}`)
  const origins = opts.origins ?? []
  if (!Array.isArray(origins) || origins.some((x) => typeof x !== 'string')) {
    throw new BadConfig("yjsEndpoint 'origins' must be an array of strings")
  }
  const num = (key: keyof YjsEndpointOptions, fallback: number): number => {
    const v = opts[key] ?? fallback
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) {
      throw new BadConfig(`yjsEndpoint '${key}' must be a number > 0`)
    }
    return v
  }
  return {
    token: opts.token,
    origins,
    maxConnections: num('maxConnections', d.maxConnections),
    idleTimeoutMs: num('idleTimeoutMs', d.idleTimeoutMs),
    maxMessageBytes: num('maxMessageBytes', d.maxMessageBytes),
    maxBufferedBytes: num('maxBufferedBytes', d.maxBufferedBytes),
  }
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest()

export class YjsEndpoint {
  private readonly docs: DocService
  private readonly logger: Logger
  private readonly clock: Clock
  private readonly opts: Resolved
  private readonly wss: WebSocketServer
  private readonly tokenDigest: Buffer
  private readonly clients = new Map<string, Set<WebSocket>>()
  private count = 0
  private readonly unsubscribe: Array<() => void> = []

  constructor(
    docs: DocService,
    logger: Logger,
    clock: Clock,
    opts: Resolved,
    Server: typeof WebSocketServer,
  ) {
    this.docs = docs
    this.logger = logger
    this.clock = clock
    this.opts = opts
    this.tokenDigest = digest(opts.token)
    this.wss = new Server({
      noServer: true,
      maxPayload: opts.maxMessageBytes,
      perMessageDeflate: false,
    })
    this.unsubscribe.push(
      docs.on('update', (name, _doc, _origin, update) => {
        const set = this.clients.get(name)
        if (set === undefined || set.size === 0) return
        const enc = encoding.createEncoder()
        encoding.writeVarUint(enc, MessageSync)
        syncProtocol.writeUpdate(enc, update)
        const bytes = encoding.toUint8Array(enc)
        for (const ws of set) this.send(ws, bytes)
      }),
      docs.on('drop', (name) => {
        const set = this.clients.get(name)
        if (set === undefined) return
        for (const ws of set) ws.close(4404, 'doc dropped')
        this.clients.delete(name)
      }),
    )
  }

  /** An upgrade to `/yjs/<docName>`: checked (401, 403, 503) before any doc byte is sent. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, docName: string): void {
    if (!this.authorized(req)) return rejectUpgrade(socket, 401, 'Unauthorized')
    const origin = req.headers.origin
    if (origin !== undefined && !this.opts.origins.includes(origin)) {
      this.logger.warn({ origin: clip(origin) }, 'y-websocket client from an origin not listed')
      return rejectUpgrade(socket, 403, 'Forbidden')
    }
    if (this.count >= this.opts.maxConnections) {
      return rejectUpgrade(socket, 503, 'Service Unavailable')
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, docName))
  }

  private authorized(req: IncomingMessage): boolean {
    const auth = req.headers.authorization
    let given: string | undefined
    if (auth?.startsWith('Bearer ')) given = auth.slice('Bearer '.length)
    else {
      const q = (req.url ?? '').indexOf('?')
      if (q >= 0) given = new URLSearchParams(req.url!.slice(q + 1)).get('token') ?? undefined
    }
    return given !== undefined && timingSafeEqual(digest(given), this.tokenDigest)
  }

  private accept(ws: WebSocket, name: string): void {
    const doc = this.docs.get(name)
    if (doc === undefined) {
      ws.close(4404, 'unknown doc')
      return
    }
    this.count++
    let set = this.clients.get(name)
    if (set === undefined) {
      set = new Set()
      this.clients.set(name, set)
    }
    set.add(ws)
    let idle: TimerHandle | undefined
    const touch = (): void => {
      this.clock.clearTimeout(idle)
      idle = this.clock.setTimeout(() => ws.close(1000, 'idle'), this.opts.idleTimeoutMs)
    }
    touch()
    let warned = false
    ws.on('close', () => {
      this.count--
      this.clock.clearTimeout(idle)
      set.delete(ws)
      if (set.size === 0 && this.clients.get(name) === set) this.clients.delete(name)
    })
    ws.on('error', () => ws.terminate())
    ws.on('message', (data: RawData) => {
      touch()
      if (this.onMessage(ws, name, data) === 'write' && !warned) {
        warned = true
        this.logger.warn({ doc: clip(name) }, 'write from a y-websocket client dropped (read-only)')
      }
    })
    // Start the sync: our state vector, so the client answers with step 2 (dropped) and asks
    // with its own step 1.
    const enc = encoding.createEncoder()
    encoding.writeVarUint(enc, MessageSync)
    syncProtocol.writeSyncStep1(enc, doc)
    this.send(ws, encoding.toUint8Array(enc))
  }

  /** Handles one client message; says `write` for an update it dropped. */
  private onMessage(ws: WebSocket, name: string, data: RawData): 'write' | undefined {
    const doc = this.docs.get(name)
    if (doc === undefined) {
      ws.close(4404, 'unknown doc')
      return undefined
    }
    try {
      const dec = decoding.createDecoder(toBytes(data))
      const type = decoding.readVarUint(dec)
      if (type === MessageSync) {
        const sub = decoding.readVarUint(dec)
        if (sub === syncProtocol.messageYjsSyncStep1) {
          const sv = decoding.readVarUint8Array(dec)
          const enc = encoding.createEncoder()
          encoding.writeVarUint(enc, MessageSync)
          encoding.writeVarUint(enc, syncProtocol.messageYjsSyncStep2)
          encoding.writeVarUint8Array(enc, Y.encodeStateAsUpdate(doc, sv))
          this.send(ws, encoding.toUint8Array(enc))
          return undefined
        }
        // Step 2 (the answer to ours) or an update: a write, dropped without being decoded.
        return sub === syncProtocol.messageYjsUpdate ? 'write' : undefined
      }
      // Awareness messages and unknown types are ignored.
      return undefined
    } catch (e) {
      this.logger.warn(
        { doc: clip(name), err: clip(String(e), 200) },
        'malformed y-websocket message; closing',
      )
      ws.close(1002, 'malformed message')
      return undefined
    }
  }

  /** Sends `bytes`, or closes a client that lets too much pile up unread. */
  private send(ws: WebSocket, bytes: Uint8Array): void {
    if (ws.readyState !== ws.OPEN) return
    if (ws.bufferedAmount + bytes.length > this.opts.maxBufferedBytes) {
      this.logger.warn({}, 'y-websocket client does not read; closed')
      ws.terminate()
      return
    }
    ws.send(bytes)
  }

  close(): void {
    for (const u of this.unsubscribe) u()
    for (const set of this.clients.values()) for (const ws of set) ws.terminate()
    this.clients.clear()
    this.wss.close()
  }
}
