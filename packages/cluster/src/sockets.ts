// Small helpers every part of a node uses on its sockets: a message's bytes, a peer URL's one
// spelling, and how a socket's own error is logged.
import type { Duplex } from 'node:stream'
import type { TLSSocket } from 'node:tls'
import type { RawData } from 'ws'
import type { Logger } from '@swormjs/actor'

/** The bytes of a websocket message, however `ws` delivered them. */
export function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data)
  if (data instanceof ArrayBuffer) return new Uint8Array(data)
  return data
}

/** A node URL without trailing slashes, so that one node has one spelling. */
export function normalizeUrl(url: string): string {
  return url.replace(/\/+$/, '')
}

/** A socket error: one of `ws` itself (an oversized or malformed message) closed it, so say so. */
export function logSocketError(logger: Logger, e: Error, fields: object, from: string): void {
  if (isWsProtocolError(e)) {
    logger.warn({ ...fields, err: e }, `bad websocket message from ${from}; closed`)
  } else logger.debug({ ...fields, err: e }, `socket error (${from})`)
}

/** An error of `ws` itself (an oversized or malformed websocket frame): it closes the socket. */
function isWsProtocolError(e: Error): boolean {
  const code = (e as { code?: unknown }).code
  return typeof code === 'string' && code.startsWith('WS_ERR_')
}

/** Answers an upgrade request with an HTTP error and drops the socket. */
export function rejectUpgrade(socket: Duplex, code: number, text: string): void {
  socket.write(`HTTP/1.1 ${code} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
  socket.destroy()
}

/**
 * What binds a handshake to its TLS session: keying material exported from it (RFC 5705). Both
 * ends of one TLS session get the same bytes; a relay that ends TLS on each side gets two
 * different ones, so proofs made over one do not pass over the other.
 */
export function tlsBinding(socket: TLSSocket): Uint8Array | undefined {
  try {
    return socket.exportKeyingMaterial(32, 'EXPORTER-sworm-handshake', Buffer.alloc(0))
  } catch {
    return undefined
  }
}
