// The handshake: a wrong cookie, a wrong cluster or a missing cookie keep a node out, with a
// clear log line on both sides; a refused dialer backs off; a node never connects to itself;
// and the cookie never crosses the wire.
import * as net from 'node:net'
import { describe, expect, it } from 'vitest'
import { silentLogger } from '@swormjs/actor'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import { WebSocketServer } from 'ws'
import { FaultProxy, pause, recordingLogger, waitUntil } from '../../src/index.js'
import {
  Frame,
  PROTOCOL_VERSION,
  frame,
  makeNonce,
  readIdentity,
  writeChallenge,
  writeHello,
} from '@swormjs/cluster/protocol'
import { helloFrame, lowNodeId, openRaw } from './rawPeer.js'
import { BadConfig, startNode, type NodeOptions } from '@swormjs/cluster'

const fast: NodeOptions = { reconnectMinMs: 10, reconnectMaxMs: 50 }
const RIGHT = 'the-right-cookie-for-this-test'
const WRONG = 'a-wrong-cookie-for-this-test'

/** Errors logged, as `msg` lines. */
const errors = (lines: Array<Record<string, unknown>>): string[] =>
  lines.filter((l) => l['level'] === 'error').map((l) => String(l['msg']))

/**
 * A TCP relay to 127.0.0.1:`port` that keeps every byte it carries, both ways. (FaultProxy
 * counts bytes but does not keep them.)
 */
async function recordingRelay(port: number): Promise<{
  url: string
  bytes: () => Buffer
  close: () => Promise<void>
}> {
  const chunks: Buffer[] = []
  const sockets = new Set<net.Socket>()
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port })
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('error', () => undefined)
      s.on('close', () => {
        client.destroy()
        upstream.destroy()
      })
    }
    client.on('data', (d: Buffer) => {
      chunks.push(d)
      upstream.write(d)
    })
    upstream.on('data', (d: Buffer) => {
      chunks.push(d)
      client.write(d)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address() as net.AddressInfo
  return {
    url: `ws://127.0.0.1:${address.port}`,
    bytes: () => Buffer.concat(chunks),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

describe('the handshake', () => {
  it('refuses a node with a wrong cookie, with an error logged on both sides', async () => {
    const logA = recordingLogger()
    const logB = recordingLogger()
    await using a = await startNode({ ...fast, name: 'a', cookie: RIGHT, logger: logA.logger })
    await using b = await startNode({
      ...fast,
      name: 'b',
      cookie: WRONG,
      seeds: [a.url],
      logger: logB.logger,
    })
    await waitUntil(
      () => errors(logA.lines).length > 0 && errors(logB.lines).length > 0,
      5000,
      'an error line on both sides',
    )
    expect(errors(logA.lines).join('\n')).toMatch(/cookie/)
    expect(errors(logB.lines).join('\n')).toMatch(/cookie mismatch/)
    // Each line names the node that logged it.
    expect(logA.lines.every((l) => l['node'] === 'a')).toBe(true)
    expect(logB.lines.every((l) => l['node'] === 'b')).toBe(true)
    await pause(150)
    expect(a.nodes()).toEqual([])
    expect(b.nodes()).toEqual([])
    expect(a.members().map((m) => m.name)).toEqual(['a'])
  })

  it('waits refusedRetryMs before dialing again after a refusal', async () => {
    const refusedRetryMs = 300
    const dials: number[] = []
    await using a = await startNode({ ...fast, cookie: RIGHT, logger: silentLogger })
    await using b = await startNode({
      ...fast,
      cookie: WRONG,
      seeds: [a.url],
      logger: silentLogger,
      refusedRetryMs,
      rewriteUrl: (u) => {
        dials.push(Date.now())
        return u
      },
    })
    await waitUntil(() => dials.length >= 3, 5000, 'three dials')
    const gaps = dials.slice(1).map((t, i) => t - dials[i]!)
    // Without the refusal, the next dial would come after 10–50 ms.
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(refusedRetryMs - 5)
    expect(b.nodes()).toEqual([])
  })

  it('refuses a node of another cluster, with an error logged on both sides', async () => {
    const logA = recordingLogger()
    const logB = recordingLogger()
    await using a = await startNode({
      ...fast,
      name: 'a',
      cookie: RIGHT,
      cluster: 'alpha',
      logger: logA.logger,
    })
    await using b = await startNode({
      ...fast,
      name: 'b',
      cookie: RIGHT,
      cluster: 'beta',
      seeds: [a.url],
      logger: logB.logger,
    })
    await waitUntil(
      () => errors(logA.lines).length > 0 && errors(logB.lines).length > 0,
      5000,
      'an error line on both sides',
    )
    expect(errors(logA.lines).join('\n')).toMatch(/cluster mismatch/)
    expect(errors(logB.lines).join('\n')).toMatch(/cluster mismatch/)
    await pause(150)
    expect(a.nodes()).toEqual([])
    expect(b.nodes()).toEqual([])
  })

  it('does not start a node that has seeds but no cookie', async () => {
    await using a = await startNode({ cookie: RIGHT, logger: silentLogger })
    await expect(startNode({ seeds: [a.url], logger: silentLogger })).rejects.toSatisfy(
      (e: unknown) => BadConfig.is(e) && /cookie/.test((e as Error).message),
    )
    await expect(startNode({ seeds: [a.url], cookie: '', logger: silentLogger })).rejects.toSatisfy(
      (e: unknown) => BadConfig.is(e),
    )
  })

  it('keeps a node without a cookie out when another node dials it', async () => {
    const logLoner = recordingLogger()
    await using loner = await startNode({ ...fast, name: 'loner', logger: logLoner.logger })
    await using a = await startNode({ ...fast, name: 'a', cookie: RIGHT, logger: silentLogger })
    a.connect(loner.url)
    await waitUntil(() => errors(logLoner.lines).length > 0, 5000, 'the refusal')
    expect(errors(logLoner.lines).join('\n')).toMatch(/no cookie/)
    await pause(100)
    expect(a.nodes()).toEqual([])
    expect(loner.nodes()).toEqual([])
  })

  it('never dials its own URL given as a seed', async () => {
    const dials: string[] = []
    await using a = await startNode({ cookie: RIGHT, logger: silentLogger })
    await using self = await startNode({
      ...fast,
      cookie: RIGHT,
      port: 0,
      seeds: [a.url],
      logger: silentLogger,
      rewriteUrl: (u) => {
        dials.push(u)
        return u
      },
    })
    self.connect(self.url)
    await waitUntil(() => self.isUp(a.id), 5000, 'the seed')
    await pause(100)
    expect(dials).not.toContain(self.url)
    expect(self.nodes().map((n) => n.id)).toEqual([a.id])
  })

  it('detects that it has dialed itself under another address, and does not retry', async () => {
    const log = recordingLogger()
    await using node = await startNode({ ...fast, cookie: RIGHT, logger: log.logger })
    await using mirror = await FaultProxy.start({ target: { port: node.port } })
    node.connect(mirror.wsUrl)
    await waitUntil(() => mirror.stats().accepted === 1, 5000, 'the dial')
    await waitUntil(() => mirror.stats().open === 0, 5000, 'the refusal')
    // Reconnects would come every 10–50 ms; none comes.
    await pause(300)
    expect(mirror.stats().accepted).toBe(1)
    expect(node.nodes()).toEqual([])
    expect(errors(log.lines)).toEqual([])
  })

  it('never sends the cookie over the wire', async () => {
    const cookie = 'c00kie-S3CRET-that-must-stay-home'
    await using a = await startNode({ cookie, name: 'node-a', logger: silentLogger })
    const relay = await recordingRelay(a.port)
    try {
      await using b = await startNode({
        cookie,
        name: 'node-b',
        seeds: [a.url],
        logger: silentLogger,
        rewriteUrl: (u) => (u === a.url ? relay.url : u),
      })
      await waitUntil(() => a.isUp(b.id) && b.isUp(a.id), 5000, 'a and b to connect')
      // Some traffic after the handshake too.
      const pid = a.runtime.spawn(() => undefined)
      b.runtime.send(pid, { hello: 'a' })
      await waitUntil(() => a.stats().messagesIn === 1, 5000, 'the message')
      const wire = relay.bytes()
      // The relay did see the handshake in clear: it holds both node names.
      expect(wire.includes('node-a')).toBe(true)
      expect(wire.includes('node-b')).toBe(true)
      for (const form of [
        cookie,
        Buffer.from(cookie).toString('base64'),
        Buffer.from(cookie).toString('hex'),
      ]) {
        expect(wire.includes(form)).toBe(false)
      }
    } finally {
      await relay.close()
    }
  })

  it('proves nothing to a dialer that has not proved the cookie, and names no cluster', async () => {
    const log = recordingLogger()
    await using a = await startNode({
      cookie: RIGHT,
      cluster: 'alpha-private-name',
      name: 'a',
      logger: log.logger,
    })
    const raw = await openRaw(`${a.url}/cluster`)
    try {
      raw.send(helloFrame(lowNodeId(7), 'alpha-private-name'))
      await waitUntil(() => raw.received.length === 1, 5000, 'a challenge')
      const dec = decoding.createDecoder(raw.received[0]!)
      expect(decoding.readVarUint(dec)).toBe(Frame.Challenge)
      const challenge = readIdentity(dec)
      // Its identity and nonce, and nothing after them: no proof to crack offline.
      expect(decoding.hasContent(dec)).toBe(false)
      expect(challenge.cluster).toBe('')
      // A wrong proof gets a refusal, not the acceptor's proof.
      raw.send(
        frame((enc) => {
          encoding.writeVarUint(enc, Frame.Auth)
          encoding.writeVarUint8Array(enc, new Uint8Array(32))
        }),
      )
      await raw.closed
      const frames = raw.received.map((b) => b[0])
      expect(frames).toEqual([Frame.Challenge, Frame.Refuse])
      const wire = Buffer.concat(raw.received.map((b) => Buffer.from(b)))
      expect(wire.includes('alpha-private-name')).toBe(false)
    } finally {
      raw.ws.terminate()
    }
    // A dialer of another cluster hears "cluster mismatch", not which cluster this is.
    const other = await openRaw(`${a.url}/cluster`)
    other.send(helloFrame(lowNodeId(8), 'beta'))
    await other.closed
    const refusal = Buffer.from(other.received[0]!)
    expect(refusal[0]).toBe(Frame.Refuse)
    expect(refusal.includes('cluster mismatch')).toBe(true)
    expect(refusal.includes('alpha')).toBe(false)
  })

  it('refuses a weak cookie at start, naming the option', async () => {
    for (const weak of ['s3cret', 'short-cookie', 'aaaaaaaaaaaaaaaaaaaa', 'passwordpassword']) {
      await expect(startNode({ cookie: weak, logger: silentLogger })).rejects.toSatisfy(
        (e: unknown) => BadConfig.is(e) && /cookie.*too weak/.test((e as Error).message),
      )
    }
  })

  it('keeps dialing a peer that answers with an unproved refusal, or echoes its own id', async () => {
    // A stranger at a seed's address: it refuses with `self`, or claims to be the dialer.
    for (const answer of ['refuse-self', 'echo-id'] as const) {
      const server = new WebSocketServer({ host: '127.0.0.1', port: 0 })
      await new Promise<void>((r) => server.once('listening', () => r()))
      let dials = 0
      server.on('connection', (ws) => {
        dials++
        ws.on('message', (data: Buffer) => {
          const dec = decoding.createDecoder(data)
          if (decoding.readVarUint(dec) !== Frame.Hello) return
          const hello = readIdentity(dec)
          ws.send(
            answer === 'refuse-self'
              ? frame((enc) => {
                  encoding.writeVarUint(enc, Frame.Refuse)
                  encoding.writeVarString(enc, 'self')
                  encoding.writeVarString(enc, 'connected to itself')
                })
              : frame((enc) => writeChallenge(enc, { ...hello, cluster: '', nonce: makeNonce() })),
          )
          ws.close()
        })
      })
      const port = (server.address() as net.AddressInfo).port
      try {
        await using node = await startNode({
          ...fast,
          cookie: RIGHT,
          refusedRetryMs: 50,
          seeds: [`ws://127.0.0.1:${port}`],
          logger: silentLogger,
        })
        await waitUntil(() => dials >= 3, 5000, `three dials (${answer})`)
        expect(node.nodes()).toEqual([])
      } finally {
        for (const c of server.clients) c.terminate()
        await new Promise<void>((r) => server.close(() => r()))
      }
    }
  })

  it('clips what a stranger sends in its log, and logs one line per source per interval', async () => {
    const log = recordingLogger()
    await using a = await startNode({ cookie: RIGHT, name: 'a', logger: log.logger })
    const huge = 'x'.repeat(1_000_000)
    for (let i = 0; i < 20; i++) {
      const raw = await openRaw(`${a.url}/cluster`)
      raw.send(
        frame((enc) =>
          writeHello(enc, {
            version: PROTOCOL_VERSION,
            cluster: huge,
            nodeId: lowNodeId(i),
            name: huge,
            url: huge,
            nonce: makeNonce(),
          }),
        ),
      )
      await raw.closed
    }
    const refusals = log.find('a', 'refusing connection')
    expect(refusals).toHaveLength(1)
    const bytes = log.lines.reduce((n, l) => n + JSON.stringify(l).length, 0)
    expect(bytes).toBeLessThan(4096)
  })
})
