// The cookie handshake of a new connection, in both roles: the acceptor (a socket upgraded on
// `/cluster`) and the dialer. It owns the incoming connections still in their handshake (their
// slots) and every handshake's timeout; a connection that passes goes to the host as a peer.
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import type { RawData, WebSocket } from 'ws'
import type { Clock, Logger, NodeId } from '@sworm/actor'
import { ProtocolError } from './errors.js'
import {
  Frame,
  frame,
  PROTOCOL_VERSION,
  readIdentity,
  writeChallenge,
  writeHello,
  type HelloFrame,
  type RefuseReason,
} from './frames.js'
import { makeNonce, proof, proofMatches } from './proof.js'
import { logSocketError, toBytes } from './sockets.js'

/** What the handshake needs of its node. */
export interface HandshakeHost {
  readonly id: NodeId
  readonly name: string
  readonly url: string
  readonly clock: Clock
  readonly logger: Logger
  /** False once the node began to stop: handshakes are refused (`stopping`). */
  running(): boolean
  /** True while this node's own dial of `url` is in its handshake (of two crossing dials, one stays). */
  dialing(url: string): boolean
  /** The handshake is done: `ws` joins this node to `peer`; `dialerId` dialed it, at `dialedUrl`. */
  peerUp(ws: WebSocket, peer: HelloFrame, dialerId: string, dialedUrl?: string): void
}

/** What the dialer's side of a handshake tells the dialer. */
export interface DialOutcome {
  /** The peer is this node itself (never dial it again), or it refused this node (wait longer). */
  refused(why: 'self' | 'refused'): void
  /** The handshake is done; the peer is taken up right after. */
  done(): void
  /** The socket closed before the handshake was done. */
  closed(): void
}

export interface HandshakeOptions {
  cookie: string | undefined
  cluster: string
  handshakeTimeoutMs: number
  maxPendingConnections: number
}

export class Handshake {
  private readonly host: HandshakeHost
  private readonly opts: HandshakeOptions
  /** Incoming connections still in their handshake. */
  private readonly pending = new Set<WebSocket>()

  constructor(host: HandshakeHost, options: HandshakeOptions) {
    this.host = host
    this.opts = options
  }

  /** Whether one more incoming connection may begin its handshake (says so when not). */
  slotFree(): boolean {
    if (this.pending.size < this.opts.maxPendingConnections) return true
    this.host.logger.warn(
      { pending: this.pending.size },
      'too many connections in handshake; refusing',
    )
    return false
  }

  /** Cuts every incoming connection still in its handshake (the node stops). */
  stop(): void {
    for (const ws of this.pending) ws.terminate()
  }

  /** The acceptor's side: hello in, challenge out, auth in, welcome out. */
  accept(ws: WebSocket): void {
    const { host } = this
    this.pending.add(ws)
    let stage: 'hello' | 'auth' | 'done' = 'hello'
    let hello: HelloFrame | undefined
    const nonce = makeNonce()
    const timer = host.clock.setTimeout(() => {
      if (stage !== 'done') {
        host.logger.warn({}, 'incoming connection did not finish its handshake in time; closed')
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
          host.logger.error(
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
          if (host.id < hello.nodeId && host.dialing(hello.url)) {
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
          host.clock.clearTimeout(timer)
          this.pending.delete(ws)
          ws.off('message', onMessage)
          ws.send(frame((enc) => encoding.writeVarUint(enc, Frame.Welcome)))
          host.peerUp(ws, hello, hello.nodeId)
        }
      } catch (e) {
        host.logger.warn({ err: e }, 'bad handshake frame from an incoming connection; closed')
        ws.terminate()
      }
    }
    ws.on('message', onMessage)
    ws.on('error', (e) => logSocketError(host.logger, e, {}, 'an incoming connection'))
    ws.on('close', () => {
      host.clock.clearTimeout(timer)
      this.pending.delete(ws)
    })
  }

  /** The dialer's side on `ws`, a socket to `url`: hello out, challenge in, auth out, welcome in. */
  dial(ws: WebSocket, url: string, outcome: DialOutcome): void {
    const { host } = this
    const nonce = makeNonce()
    let stage: 'challenge' | 'welcome' | 'up' = 'challenge'
    let peerIdent: HelloFrame | undefined
    const timer = host.clock.setTimeout(() => {
      if (stage !== 'up') {
        host.logger.warn({ url }, 'handshake timed out')
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
          if (reason === 'self') outcome.refused('self')
          else if (reason !== 'stopping' && reason !== 'busy') {
            outcome.refused('refused')
            host.logger.error({ url, reason, detail }, `connection refused by peer: ${detail}`)
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
            outcome.refused(refuse === 'self' ? 'self' : 'refused')
            this.refuse(ws, refuse, ident, 'dialer')
            return
          }
          if (!this.peerProved('acceptor', nonce, ident.nodeId, got)) {
            outcome.refused('refused')
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
          host.clock.clearTimeout(timer)
          ws.off('message', onMessage)
          outcome.done()
          host.peerUp(ws, peerIdent, host.id, url)
        }
      } catch (e) {
        host.logger.warn({ url, err: e }, 'bad handshake frame; closing')
        ws.terminate()
      }
    }
    ws.on('message', onMessage)
    ws.on('error', (e) => host.logger.debug({ url, err: e }, 'dial error'))
    ws.on('close', () => {
      host.clock.clearTimeout(timer)
      if (stage !== 'up') outcome.closed()
    })
  }

  /** This node's proof, in `role`, that it knows the cookie: bound to the peer's nonce and id. */
  private proofAs(role: 'acceptor' | 'dialer', peerNonce: Uint8Array, peerId: string): Uint8Array {
    return proof(this.opts.cookie ?? '', role, peerNonce, this.host.id, peerId, this.opts.cluster)
  }

  /** Whether `got` is the proof a peer in `role` owes over this node's `nonce`. */
  private peerProved(
    role: 'acceptor' | 'dialer',
    nonce: Uint8Array,
    peerId: string,
    got: Uint8Array,
  ): boolean {
    const { cookie, cluster } = this.opts
    const expected = proof(cookie ?? '', role, nonce, peerId, this.host.id, cluster)
    return proofMatches(expected, got)
  }

  private identity(): Omit<HelloFrame, 'nonce'> {
    return {
      version: PROTOCOL_VERSION,
      cluster: this.opts.cluster,
      nodeId: this.host.id,
      name: this.host.name,
      url: this.host.url,
    }
  }

  private checkIdentity(peer: HelloFrame): RefuseReason | undefined {
    if (peer.version !== PROTOCOL_VERSION) return 'version'
    if (peer.cluster !== this.opts.cluster) return 'cluster'
    if (peer.nodeId === this.host.id) return 'self'
    if (!this.host.running()) return 'stopping'
    if (this.opts.cookie === undefined || this.opts.cookie === '') return 'cookie'
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
        ? this.opts.cookie
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
      this.host.logger.debug({ peer: peer.name, url: peer.url, reason }, 'handshake refused')
    } else {
      this.host.logger.error(
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
}
