// Outgoing connections: the seeds (host names resolved again now and then, every address
// dialed), one dial state per URL, and the reconnects (backoff with jitter, a longer wait after
// a refusal, never again after reaching this node itself).
import type { WebSocket } from 'ws'
import type { Clock, Logger, NodeId, TimerHandle } from '@swormjs/actor'
import { nodeDefaults } from './defaults.js'
import type { DialOutcome } from './Handshake.js'
import type { TlsOptions } from './options.js'
import { normalizeUrl } from './sockets.js'

/** What the dialer needs of its node. */
export interface DialerHost {
  readonly id: NodeId
  readonly url: string
  readonly clock: Clock
  readonly logger: Logger
  /** False once the node began to stop: nothing is dialed any more. */
  running(): boolean
  /** True when a connected peer is reached at `url` (advertised, or dialed). */
  peerAt(url: string): boolean
  /** True when a member at `url` is down or only heard of, and this node is the one to dial it. */
  memberToDial(url: string): boolean
  /** Runs the dialer's side of the handshake on `ws`, a fresh socket to `url`. */
  handshake(ws: WebSocket, url: string, outcome: DialOutcome): void
}

export interface DialerOptions {
  seeds: string[]
  resolveHost: (host: string) => Promise<string[]>
  rewriteUrl: (url: string) => string
  tls: TlsOptions | undefined
  WebSocket: typeof WebSocket
  maxFrameBytes: number
  handshakeTimeoutMs: number
  reconnectMinMs: number
  reconnectMaxMs: number
  refusedRetryMs: number
}

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

export class Dialer {
  private readonly host: DialerHost
  private readonly opts: DialerOptions
  private readonly dials = new Map<string, DialState>()
  /** URLs redialed whenever they drop: the seeds' addresses and `Node.connect`'s. */
  private readonly seedUrls = new Set<string>()
  private seedTimer: TimerHandle | undefined

  constructor(host: DialerHost, options: DialerOptions) {
    this.host = host
    this.opts = options
  }

  /** Dials the seeds, and resolves their host names again every `seedRefreshMs`. */
  start(): void {
    void this.resolveSeeds()
    if (this.opts.seeds.length > 0) {
      const refresh = (): void => {
        this.seedTimer = this.host.clock.setTimeout(() => {
          if (!this.host.running()) return
          void this.resolveSeeds()
          refresh()
        }, nodeDefaults.seedRefreshMs)
      }
      refresh()
    }
  }

  /** Dials `url` and keeps it as a seed (see `Node.connect`). */
  connect(url: string): void {
    const u = normalizeUrl(url)
    this.seedUrls.add(u)
    this.dial(u)
  }

  /** Dials `url` unless a peer or a dial is there already. */
  dial(url: string, servername?: string): void {
    if (!this.host.running() || url === this.host.url) return
    if (this.host.peerAt(url)) return
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
    this.open(d)
  }

  /** True while a socket this node dialed to `url` is in its handshake. */
  dialing(url: string): boolean {
    return this.dials.get(url)?.socket !== undefined
  }

  /** A peer is up at these URLs: their reconnects stop and their backoff starts over. */
  connected(urls: ReadonlyArray<string | undefined>): void {
    for (const url of urls) {
      const d = url === undefined ? undefined : this.dials.get(url)
      if (d === undefined) continue
      this.host.clock.clearTimeout(d.timer)
      d.timer = undefined
      d.attempt = 0
    }
  }

  /** A peer at these URLs went down (not by leaving): dial again those still wanted. */
  lost(urls: ReadonlyArray<string | undefined>): void {
    for (const url of urls) {
      if (url === undefined || !this.wanted(url)) continue
      const d = this.dials.get(url)
      if (d === undefined) this.dial(url)
      else if (d.socket === undefined && d.timer === undefined) this.retry(d)
    }
  }

  /** Cancels every timer and cuts every dial in progress (the node stops). */
  stop(): void {
    if (this.seedTimer !== undefined) this.host.clock.clearTimeout(this.seedTimer)
    for (const d of this.dials.values())
      if (d.timer !== undefined) this.host.clock.clearTimeout(d.timer)
    for (const d of this.dials.values()) d.socket?.terminate()
  }

  private async resolveSeeds(): Promise<void> {
    for (const seed of this.opts.seeds) {
      const u = new URL(seed)
      const host = u.hostname.replace(/^\[|\]$/g, '')
      let addresses: string[] = [host]
      if (!isIpLiteral(host)) {
        try {
          addresses = await this.opts.resolveHost(host)
        } catch (e) {
          this.host.logger.warn({ seed, err: e }, 'seed did not resolve; will retry')
          continue
        }
      }
      if (!this.host.running()) return
      // A named seed is dialed at the addresses `resolveHost` gave (even just one: an injected
      // resolver may know names the system resolver does not), with the name for TLS.
      if (isIpLiteral(host) || addresses.length === 0) {
        this.seedUrls.add(seed)
        this.dial(seed)
        continue
      }
      for (const address of addresses) {
        const url = normalizeUrl(
          `${u.protocol}//${address.includes(':') ? `[${address}]` : address}${u.port ? `:${u.port}` : ''}`,
        )
        this.seedUrls.add(url)
        this.dial(url, host)
      }
    }
  }

  /** Whether `url` should be dialed again after a failure. */
  private wanted(url: string): boolean {
    if (!this.host.running() || url === this.host.url) return false
    if (this.host.peerAt(url)) return false
    if (this.seedUrls.has(url)) return true
    return this.host.memberToDial(url)
  }

  private retry(d: DialState): void {
    d.socket = undefined
    if (d.self || !this.wanted(d.url)) {
      if (!d.self) this.dials.delete(d.url)
      return
    }
    const { reconnectMinMs, reconnectMaxMs, refusedRetryMs } = this.opts
    const backoff = Math.min(reconnectMaxMs, reconnectMinMs * 2 ** d.attempt)
    const delay = d.refused
      ? refusedRetryMs
      : backoff / 2 + (this.host.clock.random() * backoff) / 2
    d.attempt = Math.min(d.attempt + 1, nodeDefaults.maxReconnectDoublings)
    d.refused = false
    d.timer = this.host.clock.setTimeout(() => {
      d.timer = undefined
      if (this.wanted(d.url)) this.open(d)
    }, delay)
  }

  /** Opens a socket to `d.url` and runs the handshake on it. */
  private open(d: DialState): void {
    const target = `${this.opts.rewriteUrl(d.url)}/cluster`
    const { tls } = this.opts
    let ws: WebSocket
    try {
      ws = new this.opts.WebSocket(target, {
        perMessageDeflate: false,
        maxPayload: this.opts.maxFrameBytes,
        handshakeTimeout: this.opts.handshakeTimeoutMs,
        ...(tls ? { key: tls.key, cert: tls.cert, ca: tls.ca } : {}),
        ...(d.servername !== undefined ? { servername: d.servername } : {}),
      })
    } catch (e) {
      this.host.logger.warn({ url: d.url, err: e }, 'cannot dial')
      this.retry(d)
      return
    }
    d.socket = ws
    this.host.handshake(ws, d.url, {
      refused: (why) => {
        if (why === 'self') d.self = true
        else d.refused = true
      },
      done: () => {
        d.socket = undefined
        d.attempt = 0
      },
      closed: () => this.retry(d),
    })
  }
}

function isIpLiteral(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':')
}
