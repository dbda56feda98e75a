// `/yjs/<doc>`: the node's docs served read-only with the y-websocket protocol, so a
// `WebsocketProvider` (a browser, a tool) can watch a doc live. Writes from clients are ignored.
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import * as syncProtocol from 'y-protocols/sync'
import type { WebSocket, RawData } from 'ws'
import type { Logger } from '@sworm/actor'
import type { DocService } from './DocService.js'
import { toBytes } from './sockets.js'

/** y-websocket message types. */
const MessageSync = 0
const MessageAwareness = 1
const MessageQueryAwareness = 3

export class YjsEndpoint {
  private readonly docs: DocService
  private readonly logger: Logger
  private readonly clients = new Map<string, Set<WebSocket>>()
  private readonly unsubscribe: Array<() => void> = []

  constructor(docs: DocService, logger: Logger) {
    this.docs = docs
    this.logger = logger
    this.unsubscribe.push(
      docs.on('update', (name, _doc, _origin, update) => {
        const set = this.clients.get(name)
        if (set === undefined || set.size === 0) return
        const enc = encoding.createEncoder()
        encoding.writeVarUint(enc, MessageSync)
        syncProtocol.writeUpdate(enc, update)
        const bytes = encoding.toUint8Array(enc)
        for (const ws of set) if (ws.readyState === ws.OPEN) ws.send(bytes)
      }),
      docs.on('drop', (name) => {
        const set = this.clients.get(name)
        if (set === undefined) return
        for (const ws of set) ws.close(4404, 'doc dropped')
        this.clients.delete(name)
      }),
    )
  }

  accept(ws: WebSocket, name: string): void {
    const doc = this.docs.get(name)
    if (doc === undefined) {
      ws.close(4404, 'unknown doc')
      return
    }
    let set = this.clients.get(name)
    if (set === undefined) {
      set = new Set()
      this.clients.set(name, set)
    }
    set.add(ws)
    ws.on('close', () => {
      set.delete(ws)
      if (set.size === 0 && this.clients.get(name) === set) this.clients.delete(name)
    })
    ws.on('error', () => ws.terminate())
    ws.on('message', (data: RawData) => this.onMessage(ws, name, data))
    // Start the sync: our state vector, so the client answers with step 2 (ignored) and asks
    // with its own step 1.
    const enc = encoding.createEncoder()
    encoding.writeVarUint(enc, MessageSync)
    syncProtocol.writeSyncStep1(enc, doc)
    ws.send(encoding.toUint8Array(enc))
  }

  private onMessage(ws: WebSocket, name: string, data: RawData): void {
    const doc = this.docs.get(name)
    if (doc === undefined) {
      ws.close(4404, 'unknown doc')
      return
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
          ws.send(encoding.toUint8Array(enc))
          return
        }
        // Step 2 or an update: a write. The endpoint is read-only.
        const update = decoding.readVarUint8Array(dec)
        if (!isEmptyUpdate(update)) {
          this.logger.warn(
            { doc: name },
            'write from a y-websocket client ignored (read-only endpoint)',
          )
        }
        return
      }
      if (type === MessageQueryAwareness || type === MessageAwareness) return
      this.logger.debug({ doc: name, type }, 'unknown y-websocket message ignored')
    } catch (e) {
      this.logger.warn({ doc: name, err: e }, 'malformed y-websocket message; closing')
      ws.close(1002, 'malformed message')
    }
  }

  close(): void {
    for (const u of this.unsubscribe) u()
    for (const set of this.clients.values()) for (const ws of set) ws.terminate()
    this.clients.clear()
  }
}

/** An update that carries no change (what a fresh client sends as its step 2). */
function isEmptyUpdate(update: Uint8Array): boolean {
  try {
    const decoded = Y.decodeUpdate(update)
    return decoded.structs.length === 0 && decoded.ds.clients.size === 0
  } catch {
    return false
  }
}
