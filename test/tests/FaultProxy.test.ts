// FaultProxy against a plain TCP echo server: pass, close, blackhole and delay on real sockets.
import * as net from 'node:net'
import { performance } from 'node:perf_hooks'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { FaultProxy } from '../src/index.js'

const WAIT = { timeout: 5_000, interval: 5 }

interface EchoServer extends AsyncDisposable {
  readonly port: number
  /** Connections the server has accepted so far. */
  readonly accepted: () => number
}

async function startEchoServer(): Promise<EchoServer> {
  const sockets = new Set<net.Socket>()
  let accepted = 0
  const server = net.createServer((socket) => {
    accepted++
    sockets.add(socket)
    socket.on('error', () => undefined)
    socket.on('close', () => sockets.delete(socket))
    socket.pipe(socket)
  })
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve))
  const address = server.address() as net.AddressInfo
  return {
    port: address.port,
    accepted: () => accepted,
    async [Symbol.asyncDispose]() {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

interface Client {
  readonly socket: net.Socket
  /** Everything received so far. */
  received(): string
  closed(): boolean
}

const clients = new Set<net.Socket>()
afterEach(() => {
  for (const socket of clients) socket.destroy()
  clients.clear()
})

function connect(port: number): Client {
  const socket = net.createConnection({ host: '127.0.0.1', port })
  clients.add(socket)
  let received = ''
  let closed = false
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => (received += chunk))
  socket.on('error', () => undefined)
  socket.on('close', () => (closed = true))
  return { socket, received: () => received, closed: () => closed }
}

async function echoes(client: Client, text: string): Promise<void> {
  const before = client.received()
  client.socket.write(text)
  await vi.waitFor(() => expect(client.received()).toBe(before + text), WAIT)
}

describe('FaultProxy', () => {
  it('forwards bytes both ways in pass mode', async () => {
    await using server = await startEchoServer()
    await using proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: server.port } })
    expect(proxy.wsUrl).toBe(`ws://127.0.0.1:${proxy.port}`)
    expect(proxy.port).not.toBe(server.port)

    const client = connect(proxy.port)
    await echoes(client, 'hello')
    await echoes(client, ' world')

    expect(proxy.stats()).toMatchObject({
      accepted: 1,
      open: 1,
      bytesToTarget: 11,
      bytesToClient: 11,
      bytesDropped: 0,
    })
    expect(server.accepted()).toBe(1)
  })

  it('drops live connections in close mode and refuses new ones until pass', async () => {
    await using server = await startEchoServer()
    await using proxy = await FaultProxy.start({ target: { port: server.port } })
    const live = connect(proxy.port)
    await echoes(live, 'before')

    proxy.setMode('close')
    await vi.waitFor(() => expect(live.closed()).toBe(true), WAIT)

    const refused = connect(proxy.port)
    refused.socket.write('anyone?')
    await vi.waitFor(() => expect(refused.closed()).toBe(true), WAIT)
    expect(refused.received()).toBe('')
    expect(server.accepted()).toBe(1)
    expect(proxy.stats()).toMatchObject({ accepted: 2, refused: 1, cut: 1, open: 0 })

    proxy.setMode('pass')
    const after = connect(proxy.port)
    await echoes(after, 'after')
    expect(server.accepted()).toBe(2)
  })

  it('drops bytes in blackhole mode but keeps the socket open, and forwards again after pass', async () => {
    await using server = await startEchoServer()
    await using proxy = await FaultProxy.start({ target: { port: server.port } })
    const client = connect(proxy.port)
    await echoes(client, 'a')

    proxy.setMode('blackhole')
    client.socket.write('lost')
    await vi.waitFor(() => expect(proxy.stats().bytesDropped).toBe(4), WAIT)
    // A connection made during the blackhole is accepted, and black-holed as well.
    const late = connect(proxy.port)
    late.socket.write('late')
    await vi.waitFor(() => expect(proxy.stats().bytesDropped).toBe(8), WAIT)

    expect(client.received()).toBe('a')
    expect(late.received()).toBe('')
    expect(client.closed()).toBe(false)
    expect(late.closed()).toBe(false)
    expect(proxy.stats()).toMatchObject({ open: 2, bytesToTarget: 1, bytesToClient: 1 })

    proxy.setMode('pass')
    await echoes(client, 'b')
    await echoes(late, 'c')
    expect(client.received()).toBe('ab')
    expect(late.received()).toBe('c')
  })

  it('holds each chunk for about delayMs and keeps the order', async () => {
    const delayMs = 150
    await using server = await startEchoServer()
    await using proxy = await FaultProxy.start({ target: { port: server.port } })
    const client = connect(proxy.port)
    await echoes(client, 'warm-up|')

    proxy.setMode({ delayMs })
    const started = performance.now()
    let expected = 'warm-up|'
    for (let i = 0; i < 20; i++) {
      client.socket.write(`${i},`)
      expected += `${i},`
      // Separate turns of the event loop, so the proxy sees (mostly) separate chunks.
      await new Promise((resolve) => setImmediate(resolve))
    }
    let arrived = 0
    await vi.waitFor(() => {
      expect(client.received()).toBe(expected)
      arrived = performance.now() - started
    }, WAIT)

    // Both legs (to the server and back) go through the proxy, so a round trip takes 2 × delayMs.
    expect(arrived).toBeGreaterThanOrEqual(2 * delayMs)
    expect(arrived).toBeLessThan(2 * delayMs + 1_000)

    proxy.setMode('pass')
    await echoes(client, 'done')
  })

  it('passes a half-close through, so both ends close cleanly', async () => {
    await using server = await startEchoServer()
    await using proxy = await FaultProxy.start({ target: { port: server.port } })
    const client = connect(proxy.port)
    await echoes(client, 'bye')

    client.socket.end()
    await vi.waitFor(() => expect(client.closed()).toBe(true), WAIT)
    await vi.waitFor(() => expect(proxy.stats().open).toBe(0), WAIT)
    expect(client.received()).toBe('bye')
  })

  it('closes the client when the target is down', async () => {
    const server = await startEchoServer()
    const port = server.port
    await server[Symbol.asyncDispose]()
    await using proxy = await FaultProxy.start({ target: { port } })

    const client = connect(proxy.port)
    await vi.waitFor(() => expect(client.closed()).toBe(true), WAIT)
    expect(proxy.stats()).toMatchObject({ accepted: 1, open: 0 })
  })

  it('closes every connection and stops listening on close()', async () => {
    await using server = await startEchoServer()
    const proxy = await FaultProxy.start({ target: { port: server.port } })
    const client = connect(proxy.port)
    await echoes(client, 'x')

    await proxy.close()
    await vi.waitFor(() => expect(client.closed()).toBe(true), WAIT)
    const after = connect(proxy.port)
    await vi.waitFor(() => expect(after.closed()).toBe(true), WAIT)
    expect(after.received()).toBe('')
    await proxy[Symbol.asyncDispose]() // idempotent
  })

  it('forwards new connections to the port it is retargeted to, and keeps open ones', async () => {
    await using first = await startEchoServer()
    await using second = await startEchoServer()
    await using proxy = await FaultProxy.start({ target: { port: first.port } })
    const old = connect(proxy.port)
    await echoes(old, 'old')

    proxy.retarget(second.port)
    expect(proxy.targetPort).toBe(second.port)
    const fresh = connect(proxy.port)
    await echoes(fresh, 'new')
    await echoes(old, ' still')
    expect([first.accepted(), second.accepted()]).toEqual([1, 1])
    expect(() => proxy.retarget(0)).toThrow(/bad target port/)
  })

  it('refuses a target other than 127.0.0.1', async () => {
    await expect(
      FaultProxy.start({ target: { host: 'localhost' as '127.0.0.1', port: 1 } }),
    ).rejects.toThrow(/only connects to 127\.0\.0\.1/)
  })
})
