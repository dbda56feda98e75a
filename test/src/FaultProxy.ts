// A TCP proxy on 127.0.0.1 that sits on the link between two nodes and can cut it, black-hole it
// or slow it down, so multi-node tests exercise partitions with real sockets.
import * as net from 'node:net'
import { performance } from 'node:perf_hooks'
import { HarnessError, HarnessErrorCode } from './errors.js'

/** The only host a proxy listens on or connects to. */
export const LOOPBACK = '127.0.0.1'

/**
 * What the proxy does with its connections.
 *
 * - `'pass'`: forwards bytes both ways.
 * - `'close'`: destroys every open connection (both ends) and every new one as soon as it arrives.
 * - `'blackhole'`: keeps sockets open but drops every byte both ways (also chunks still held by
 *   a delay, and half-closes, which are held back until the mode lets bytes through again).
 * - `{ delayMs }`: holds each chunk for `delayMs` before forwarding it, keeping the order.
 */
export type FaultMode = 'pass' | 'close' | 'blackhole' | { readonly delayMs: number }

/** Options of {@link FaultProxy.start}. */
export interface FaultProxyOptions {
  /** Where connections are forwarded to. Only 127.0.0.1 is allowed (the default host). */
  readonly target: { readonly host?: typeof LOOPBACK; readonly port: number }
  /** The mode the proxy starts in. Default `'pass'`. */
  readonly mode?: FaultMode
}

/** Counters for assertions; a snapshot, taken by {@link FaultProxy.stats}. */
export interface FaultProxyStats {
  /** Connections accepted since start, including those closed at once in `'close'` mode. */
  readonly accepted: number
  /** Connections still open (either socket not yet closed). */
  readonly open: number
  /** Connections destroyed on arrival because the mode was `'close'`. */
  readonly refused: number
  /** Connections destroyed by switching to `'close'` (or by `close()`). */
  readonly cut: number
  /** Bytes written to the target (client → target). */
  readonly bytesToTarget: number
  /** Bytes written back to clients (target → client). */
  readonly bytesToClient: number
  /** Bytes dropped in `'blackhole'` mode, both directions. */
  readonly bytesDropped: number
}

type Direction = 'toTarget' | 'toClient'

interface Held {
  readonly due: number
  readonly chunk: Buffer
}

interface Counters {
  accepted: number
  refused: number
  cut: number
  bytesToTarget: number
  bytesToClient: number
  bytesDropped: number
}

/** One direction of one connection: a FIFO of chunks that are due at a given time. */
class Pipe {
  readonly #proxy: FaultProxy
  readonly #src: net.Socket
  readonly #dst: net.Socket
  readonly #direction: Direction
  readonly #counters: Counters
  #queue: Held[] = []
  #timer: NodeJS.Timeout | undefined
  #ended = false
  #endSent = false

  constructor(
    proxy: FaultProxy,
    src: net.Socket,
    dst: net.Socket,
    direction: Direction,
    counters: Counters,
  ) {
    this.#proxy = proxy
    this.#src = src
    this.#dst = dst
    this.#direction = direction
    this.#counters = counters
    src.on('data', (chunk: Buffer) => this.#push(chunk))
    src.on('end', () => {
      this.#ended = true
      this.flush()
    })
  }

  /** True once the source half-closed, i.e. it ended rather than being torn down. */
  get sourceEnded(): boolean {
    return this.#ended
  }

  #push(chunk: Buffer): void {
    const mode = this.#proxy.mode
    if (mode === 'blackhole' || mode === 'close') {
      this.#counters.bytesDropped += chunk.length
      return
    }
    const delayMs = typeof mode === 'object' ? mode.delayMs : 0
    const last = this.#queue.at(-1)
    // A chunk never overtakes an earlier one, even when the delay was just lowered.
    const due = Math.max(performance.now() + delayMs, last?.due ?? 0)
    this.#queue.push({ due, chunk })
    this.flush()
  }

  /** Writes every chunk that is due, and schedules itself for the next one. */
  flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#dst.destroyed) {
      this.#queue = []
      return
    }
    const mode = this.#proxy.mode
    if (mode === 'blackhole' || mode === 'close') {
      // Chunks in flight are lost with the link, as on a real partition.
      for (const held of this.#queue) this.#counters.bytesDropped += held.chunk.length
      this.#queue = []
      return
    }
    while (this.#queue.length > 0) {
      const head = this.#queue[0]!
      const waitMs = head.due - performance.now()
      if (waitMs > 0) {
        this.#timer = setTimeout(() => this.flush(), Math.ceil(waitMs))
        return
      }
      this.#queue.shift()
      this.#counters[this.#direction === 'toTarget' ? 'bytesToTarget' : 'bytesToClient'] +=
        head.chunk.length
      if (!this.#dst.write(head.chunk) && !this.#src.isPaused()) {
        this.#src.pause()
        this.#dst.once('drain', () => this.#src.resume())
      }
    }
    if (this.#ended && !this.#endSent) {
      this.#endSent = true
      this.#dst.end()
    }
  }

  dispose(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    this.#queue = []
  }
}

/** A client connection and the connection the proxy opened to the target for it. */
class Link {
  readonly client: net.Socket
  readonly upstream: net.Socket
  readonly #pipes: readonly [Pipe, Pipe]

  constructor(proxy: FaultProxy, client: net.Socket, target: number, counters: Counters) {
    this.client = client
    // Writes made before the connection is up are buffered by the socket itself.
    this.upstream = net.createConnection({ host: LOOPBACK, port: target, allowHalfOpen: true })
    this.#pipes = [
      new Pipe(proxy, client, this.upstream, 'toTarget', counters),
      new Pipe(proxy, this.upstream, client, 'toClient', counters),
    ]
    const [toTarget, toClient] = this.#pipes
    const wire = (socket: net.Socket, other: net.Socket, from: Pipe): void => {
      // An error (a reset, the target refusing) tears the whole link down; a clean close lets
      // the half-close travel through the pipe so the other side ends in its own time.
      socket.on('error', () => this.destroy())
      socket.on('close', () => {
        if (!from.sourceEnded && !other.destroyed) other.destroy()
        if (this.client.destroyed && this.upstream.destroyed) this.dispose()
      })
    }
    wire(client, this.upstream, toTarget)
    wire(this.upstream, client, toClient)
  }

  get closed(): boolean {
    return this.client.destroyed && this.upstream.destroyed
  }

  flush(): void {
    for (const pipe of this.#pipes) pipe.flush()
  }

  destroy(): void {
    this.dispose()
    this.client.destroy()
    this.upstream.destroy()
  }

  dispose(): void {
    for (const pipe of this.#pipes) pipe.dispose()
  }
}

function checkMode(mode: FaultMode): FaultMode {
  if (typeof mode === 'object') {
    if (!Number.isFinite(mode.delayMs) || mode.delayMs < 0) {
      throw new HarnessError(
        HarnessErrorCode.BadArgument,
        `delayMs must be a finite number >= 0, got ${mode.delayMs}`,
      )
    }
    return { delayMs: mode.delayMs }
  }
  return mode
}

/**
 * A TCP proxy between a client and `target`, listening on a free port of 127.0.0.1.
 *
 * @example
 * ```ts
 * await using proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: nodeB.port } })
 * nodeA.connect(proxy.wsUrl)
 * proxy.setMode('blackhole') // partition A from B, sockets stay open
 * proxy.setMode('pass') // heal
 * ```
 */
export class FaultProxy implements AsyncDisposable {
  /** The host the proxy listens on. */
  readonly host = LOOPBACK
  /** The port the proxy listens on. */
  readonly port: number
  #targetPort: number
  readonly #server: net.Server
  readonly #links = new Set<Link>()
  readonly #counters: Counters = {
    accepted: 0,
    refused: 0,
    cut: 0,
    bytesToTarget: 0,
    bytesToClient: 0,
    bytesDropped: 0,
  }
  #mode: FaultMode
  #closing: Promise<void> | undefined

  private constructor(server: net.Server, port: number, targetPort: number, mode: FaultMode) {
    this.#server = server
    this.port = port
    this.#targetPort = targetPort
    this.#mode = mode
    server.on('connection', (socket) => this.#accept(socket))
  }

  /** Starts a proxy to `options.target`; resolves once it listens. */
  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    // Typed as a string: callers may bypass the literal type, and this check is the guard.
    const host: string = options.target.host ?? LOOPBACK
    const port = options.target.port
    if (host !== LOOPBACK) {
      throw new HarnessError(
        HarnessErrorCode.BadArgument,
        `FaultProxy only connects to ${LOOPBACK}, got ${host}`,
      )
    }
    if (!Number.isInteger(port) || port <= 0 || port > 65535) {
      throw new HarnessError(HarnessErrorCode.BadArgument, `bad target port ${port}`)
    }
    const mode = checkMode(options.mode ?? 'pass')
    const server = net.createServer({ allowHalfOpen: true })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen({ host: LOOPBACK, port: 0 }, () => {
        server.off('error', reject)
        resolve()
      })
    })
    const address = server.address()
    if (address === null || typeof address === 'string') {
      server.close()
      throw new HarnessError(HarnessErrorCode.BadArgument, 'proxy server has no TCP address')
    }
    return new FaultProxy(server, address.port, port, mode)
  }

  /** The port new connections are forwarded to. */
  get targetPort(): number {
    return this.#targetPort
  }

  /**
   * Forwards new connections to `port` from now on (a node restarted on another port keeps its
   * proxies); open connections stay with the old target.
   */
  retarget(port: number): void {
    if (!Number.isInteger(port) || port <= 0 || port > 65535) {
      throw new HarnessError(HarnessErrorCode.BadArgument, `bad target port ${port}`)
    }
    this.#targetPort = port
  }

  /** The current mode. */
  get mode(): FaultMode {
    return this.#mode
  }

  /** `127.0.0.1:<port>`. */
  get address(): string {
    return `${LOOPBACK}:${this.port}`
  }

  /** `ws://127.0.0.1:<port>`. */
  get wsUrl(): string {
    return `ws://${this.address}`
  }

  /** `http://127.0.0.1:<port>`. */
  get httpUrl(): string {
    return `http://${this.address}`
  }

  /** A URL of the proxy with any scheme and path: `url('ws', '/cluster')`. */
  url(scheme: string, path = ''): string {
    return `${scheme}://${this.address}${path}`
  }

  /**
   * Switches the mode; it applies at once to open connections and to new ones. Back to `'pass'`,
   * connections that are still open resume forwarding (chunks held by a delay keep their time).
   */
  setMode(mode: FaultMode): void {
    this.#mode = checkMode(mode)
    if (this.#mode === 'close') {
      for (const link of this.#links) this.#cut(link)
      return
    }
    for (const link of this.#links) link.flush()
  }

  /** A snapshot of the counters. */
  stats(): FaultProxyStats {
    let open = 0
    for (const link of this.#links) if (!link.closed) open++
    return { ...this.#counters, open }
  }

  /** Stops listening and destroys every connection. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#server.close(() => resolve())
      for (const link of this.#links) this.#cut(link)
    })
    return this.#closing
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  #accept(client: net.Socket): void {
    this.#counters.accepted++
    if (this.#mode === 'close' || this.#closing !== undefined) {
      this.#counters.refused++
      client.on('error', () => undefined)
      client.destroy()
      return
    }
    const link = new Link(this, client, this.#targetPort, this.#counters)
    this.#links.add(link)
    const forget = (): void => {
      if (link.closed) this.#links.delete(link)
    }
    client.on('close', forget)
    link.upstream.on('close', forget)
  }

  #cut(link: Link): void {
    if (!link.closed) this.#counters.cut++
    link.destroy()
    this.#links.delete(link)
  }
}
