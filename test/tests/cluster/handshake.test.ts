// The handshake: a wrong cookie, a wrong cluster or a missing cookie keep a node out, with a
// clear log line on both sides; a refused dialer backs off; a node never connects to itself;
// and the cookie never crosses the wire.
import * as net from 'node:net'
import { describe, expect, it } from 'vitest'
import { silentLogger } from '@sworm/actor'
import { FaultProxy, pause, recordingLogger, waitUntil } from '../../src/index.js'
import { BadConfig, startNode, type NodeOptions } from '@sworm/cluster'

const fast: NodeOptions = { reconnectMinMs: 10, reconnectMaxMs: 50 }

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
    await using a = await startNode({ ...fast, name: 'a', cookie: 'right', logger: logA.logger })
    await using b = await startNode({
      ...fast,
      name: 'b',
      cookie: 'wrong',
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
    await using a = await startNode({ ...fast, cookie: 'right', logger: silentLogger })
    await using b = await startNode({
      ...fast,
      cookie: 'wrong',
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
      cookie: 'same',
      cluster: 'alpha',
      logger: logA.logger,
    })
    await using b = await startNode({
      ...fast,
      name: 'b',
      cookie: 'same',
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
    await using a = await startNode({ cookie: 'c', logger: silentLogger })
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
    await using a = await startNode({ ...fast, name: 'a', cookie: 'c', logger: silentLogger })
    a.connect(loner.url)
    await waitUntil(() => errors(logLoner.lines).length > 0, 5000, 'the refusal')
    expect(errors(logLoner.lines).join('\n')).toMatch(/no cookie/)
    await pause(100)
    expect(a.nodes()).toEqual([])
    expect(loner.nodes()).toEqual([])
  })

  it('never dials its own URL given as a seed', async () => {
    const dials: string[] = []
    await using a = await startNode({ cookie: 'c', logger: silentLogger })
    await using self = await startNode({
      ...fast,
      cookie: 'c',
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
    await using node = await startNode({ ...fast, cookie: 'c', logger: log.logger })
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
})
