// The cookie handshake of a new connection, in both roles: the acceptor (a socket upgraded on
// `/cluster`) and the dialer. The dialer proves it knows the cookie first; the acceptor proves it
// only to a dialer that has, so a stranger gets no proof to crack offline. It owns the incoming
// connections still in their handshake (their slots) and every handshake's timeout; a connection
// that passes goes to the host as a peer.
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import type { RawData, WebSocket } from 'ws'
import type { Clock, Logger, NodeId } from '@swormjs/actor'
import { ProtocolError } from './errors.js'
import {
  Frame,
  frame,
  agreedVersion,
  readIdentity,
  writeChallenge,
  writeHello,
  type HelloFrame,
  type RefuseReason,
} from './frames.js'
import { clip, HandshakeSlots, SourceLog } from './HandshakeGuard.js'
import { makeNonce, proof, proofMatches, type Session } from './proof.js'
import { logSocketError, tlsBinding, toBytes } from './sockets.js'
import { TLSSocket } from 'node:tls'

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
  /** True for a node this one has met: its handshake is never pushed out by strangers'. */
  isMember(id: string): boolean
  /** The handshake is done: `ws` joins this node to `peer`; `dialerId` dialed it, at `dialedUrl`. */
  peerUp(
    ws: WebSocket,
    peer: HelloFrame,
    dialerId: string,
    protocol: number,
    dialedUrl?: string,
  ): void
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
  /** The protocol versions this node speaks (`NodeOptions.protocolVersions`). */
  protocolVersions: { min: number; max: number }
  cluster: string
  handshakeTimeoutMs: number
  maxPendingConnections: number
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

export class Handshake {
  private readonly host: HandshakeHost
  private readonly opts: HandshakeOptions
  /** Incoming connections still in their handshake. */
  private readonly slots: HandshakeSlots
  private readonly log: SourceLog
  /**
   * The nonces this node's acceptor sent and still waits on: a dialer that gets one of them back
   * in a challenge has reached this very node (a node's own id alone could be echoed by anyone).
   */
  private readonly issued = new Set<string>()

  constructor(host: HandshakeHost, options: HandshakeOptions) {
    this.host = host
    this.opts = options
    this.slots = new HandshakeSlots(options.maxPendingConnections, host.clock)
    this.log = new SourceLog(host.logger, host.clock)
  }

  /** Whether one more incoming connection may begin its handshake (says so when not). */
  slotFree(): boolean {
    if (this.slots.admit()) return true
    this.host.logger.warn(
      { pending: this.slots.size },
      'every handshake slot is held by a known member; refusing',
    )
    return false
  }

  /** Cuts every incoming connection still in its handshake (the node stops). */
  stop(): void {
    for (const ws of this.slots.all()) ws.terminate()
  }

  /** The acceptor's side: hello in, challenge out, auth in, welcome (with its proof) out. */
  accept(ws: WebSocket, source = 'unknown', binding?: Uint8Array): void {
    const { host } = this
    this.slots.add(ws, source)
    let stage: 'hello' | 'auth' | 'done' = 'hello'
    let hello: HelloFrame | undefined
    const nonce = makeNonce()
    const timer = host.clock.setTimeout(() => {
      if (stage !== 'done') {
        this.log.log('warn', source, {}, 'incoming connection did not finish its handshake in time')
        ws.terminate()
      }
    }, this.opts.handshakeTimeoutMs)
    const onMessage = (data: RawData): void => {
      try {
        const dec = decoding.createDecoder(toBytes(data))
        const type = decoding.readVarUint(dec)
        if (type === Frame.Refuse) {
          ws.close(1000)
          return
        }
        if (stage === 'hello') {
          if (type !== Frame.Hello) throw new ProtocolError(`expected hello, got frame ${type}`)
          hello = readIdentity(dec)
          this.slots.hello(ws, host.isMember(hello.nodeId))
          const refuse = this.checkHello(hello)
          if (refuse !== undefined) {
            this.refuse(ws, refuse, hello, source)
            return
          }
          // Both nodes are dialing each other: the connection the smaller id dials is the one
          // that stays, so refuse the other before either side sends anything on it.
          if (host.id < hello.nodeId && host.dialing(hello.url)) {
            this.refuse(ws, 'busy', hello, source)
            return
          }
          stage = 'auth'
          this.issued.add(hex(nonce))
          // The challenge names no cluster: a stranger learns nothing it could not guess.
          ws.send(frame((enc) => writeChallenge(enc, { ...this.identity(''), nonce })))
          return
        }
        if (stage === 'auth' && hello !== undefined) {
          if (type !== Frame.Auth) throw new ProtocolError(`expected auth, got frame ${type}`)
          const got = decoding.readVarUint8Array(dec)
          const session = this.session(hello.nodeId, host.id, hello.nonce, nonce, binding)
          if (!proofMatches(proof(this.cookie(), 'dialer', session), got)) {
            this.refuse(ws, 'cookie', hello, source)
            return
          }
          stage = 'done'
          this.finished(ws, timer, nonce)
          ws.off('message', onMessage)
          if (hello.nodeId === host.id) {
            // It is this node (through another address): the dialer sees its own nonce and stops.
            ws.close(1000)
            return
          }
          const mine = proof(this.cookie(), 'acceptor', session)
          ws.send(
            frame((enc) => {
              encoding.writeVarUint(enc, Frame.Welcome)
              encoding.writeVarUint8Array(enc, mine)
            }),
          )
          host.peerUp(ws, hello, hello.nodeId, agreedVersion(this.opts.protocolVersions, hello)!)
        }
      } catch (e) {
        this.log.log('warn', source, { err: clip(String(e), 200) }, 'bad handshake frame; closed')
        ws.terminate()
      }
    }
    ws.on('message', onMessage)
    ws.on('error', (e) => logSocketError(host.logger, e, {}, 'an incoming connection'))
    ws.on('close', () => this.finished(ws, timer, nonce))
  }

  /** The dialer's side on `ws`, a socket to `url`: hello out, challenge in, auth out, welcome in. */
  dial(ws: WebSocket, url: string, outcome: DialOutcome): void {
    const { host } = this
    const nonce = makeNonce()
    let stage: 'challenge' | 'welcome' | 'up' = 'challenge'
    let peer: HelloFrame | undefined
    let protocol = 0
    const timer = host.clock.setTimeout(() => {
      if (stage !== 'up') {
        host.logger.warn({ url }, 'handshake timed out')
        ws.terminate()
      }
    }, this.opts.handshakeTimeoutMs)
    // Over TLS, the proofs are bound to this TLS session (see `tlsBinding`).
    let binding: Uint8Array | undefined
    ws.on('upgrade', (res) => {
      if (res.socket instanceof TLSSocket) binding = tlsBinding(res.socket)
    })
    ws.on('open', () => {
      ws.send(frame((enc) => writeHello(enc, { ...this.identity(this.opts.cluster), nonce })))
    })
    const fail = (why: 'self' | 'refused'): void => {
      outcome.refused(why)
      ws.close(1000)
    }
    const onMessage = (data: RawData): void => {
      try {
        const dec = decoding.createDecoder(toBytes(data))
        const type = decoding.readVarUint(dec)
        if (type === Frame.Refuse) {
          // Nobody has proved anything yet: a refusal only makes this node wait longer (never
          // stop dialing), and it is logged as the peer's word, clipped.
          const reason = clip(decoding.readVarString(dec), 16) as RefuseReason
          const detail = clip(decoding.readVarString(dec))
          if (reason === 'stopping' || reason === 'busy') ws.close(1000)
          else {
            const named = peer === undefined ? {} : { peer: clip(peer.name) }
            this.log.log(
              'error',
              url,
              { url, reason, ...named },
              `connection refused by peer: ${detail}`,
            )
            fail('refused')
          }
          return
        }
        if (stage === 'challenge') {
          if (type !== Frame.Challenge)
            throw new ProtocolError(`expected challenge, got frame ${type}`)
          const ident = readIdentity(dec)
          if (ident.nodeId === host.id && this.issued.has(hex(ident.nonce))) {
            host.logger.debug({ url }, 'dialed itself; this address is not dialed again')
            fail('self')
            return
          }
          const agreed = agreedVersion(this.opts.protocolVersions, ident)
          if (agreed === undefined) {
            this.log.log('error', url, { url }, this.versionMismatch(ident))
            fail('refused')
            return
          }
          protocol = agreed
          peer = ident
          stage = 'welcome'
          const session = this.session(host.id, ident.nodeId, nonce, ident.nonce, binding)
          const mine = proof(this.cookie(), 'dialer', session)
          ws.send(
            frame((enc) => {
              encoding.writeVarUint(enc, Frame.Auth)
              encoding.writeVarUint8Array(enc, mine)
            }),
          )
          return
        }
        if (stage === 'welcome' && peer !== undefined) {
          if (type !== Frame.Welcome) throw new ProtocolError(`expected welcome, got frame ${type}`)
          const got = decoding.readVarUint8Array(dec)
          const session = this.session(host.id, peer.nodeId, nonce, peer.nonce, binding)
          if (!proofMatches(proof(this.cookie(), 'acceptor', session), got)) {
            this.log.log('error', url, { url }, 'the peer did not prove the cookie; closed')
            fail('refused')
            return
          }
          stage = 'up'
          host.clock.clearTimeout(timer)
          ws.off('message', onMessage)
          outcome.done()
          host.peerUp(ws, { ...peer, cluster: this.opts.cluster }, host.id, protocol, url)
        }
      } catch (e) {
        host.logger.warn({ url, err: clip(String(e), 200) }, 'bad handshake frame; closing')
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

  private finished(ws: WebSocket, timer: ReturnType<Clock['setTimeout']>, nonce: Uint8Array): void {
    this.host.clock.clearTimeout(timer)
    this.slots.remove(ws)
    this.issued.delete(hex(nonce))
  }

  private cookie(): string {
    return this.opts.cookie ?? ''
  }

  private session(
    dialerId: string,
    acceptorId: string,
    dialerNonce: Uint8Array,
    acceptorNonce: Uint8Array,
    binding: Uint8Array | undefined,
  ): Session {
    return { cluster: this.opts.cluster, dialerId, acceptorId, dialerNonce, acceptorNonce, binding }
  }

  private identity(cluster: string): Omit<HelloFrame, 'nonce'> {
    return {
      version: this.opts.protocolVersions.min,
      maxVersion: this.opts.protocolVersions.max,
      cluster,
      nodeId: this.host.id,
      name: this.host.name,
      url: this.host.url,
    }
  }

  /** What the log says of a peer whose protocol versions do not meet this node's. */
  private versionMismatch(peer: HelloFrame): string {
    const { min, max } = this.opts.protocolVersions
    const theirs = `${peer.version}..${peer.maxVersion ?? peer.version}`
    return `protocol version mismatch (the peer speaks ${theirs}, this node ${min}..${max})`
  }

  /** Why a dialer's hello is refused before any proof, if it is. */
  private checkHello(peer: HelloFrame): RefuseReason | undefined {
    if (agreedVersion(this.opts.protocolVersions, peer) === undefined) return 'version'
    if (peer.cluster !== this.opts.cluster) return 'cluster'
    if (!this.host.running()) return 'stopping'
    if (this.opts.cookie === undefined || this.opts.cookie === '') return 'cookie'
    return undefined
  }

  /** Refuses a dialer: the reason, and a detail that names nothing of this cluster. */
  private refuse(ws: WebSocket, reason: RefuseReason, peer: HelloFrame, source: string): void {
    const detail =
      reason === 'cookie'
        ? this.opts.cookie
          ? 'cookie mismatch'
          : 'this node has no cookie'
        : reason === 'cluster'
          ? 'cluster mismatch'
          : reason === 'version'
            ? this.versionMismatch(peer)
            : reason === 'busy'
              ? 'already dialing this node'
              : reason
    if (reason === 'stopping' || reason === 'busy') {
      this.host.logger.debug({ peer: clip(peer.name), reason }, 'handshake refused')
    } else {
      this.log.log(
        'error',
        source,
        { peer: clip(peer.name), url: clip(peer.url), reason },
        `refusing connection with ${clip(peer.name)}: ${detail}`,
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
