// Mutual TLS: nodes with certificates of one CA mesh over wss:// and call each other; a node
// whose certificate another CA signed is kept out; only /cluster asks for a certificate; and a
// relay that ends TLS on each side cannot pass a handshake. Certificates are made with `openssl`.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as https from 'node:https'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import { silentLogger } from '@swormjs/actor'
import { TEST_COOKIE, waitUntil } from '../../src/index.js'
import { startNode, type NodeOptions, type TlsOptions } from '@swormjs/cluster'
import { Inbox } from './helpers.js'

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

// Without openssl there is no way to make certificates here: the tests are skipped, not faked.
const describeTls = hasOpenssl() ? describe : describe.skip

describeTls('mutual TLS between nodes (openssl certificates)', () => {
  let dir: string
  const tls: Record<'a' | 'b' | 'rogue', TlsOptions> = {} as never

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sworm-tls-'))
    // Arguments as one line each, split on spaces (none of them holds a space).
    const openssl = (line: string): void => {
      execFileSync('openssl', line.split(' '), { cwd: dir, stdio: 'pipe' })
    }
    const newKey = '-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes'
    const ca = (name: string): void =>
      openssl(`req -x509 ${newKey} -keyout ${name}.key -out ${name}.crt -days 2 -subj /CN=${name}`)
    // A node certificate for 127.0.0.1 (the subjectAltName a wss://127.0.0.1 dial checks),
    // good for both server and client authentication.
    const leaf = (name: string, caName: string): void => {
      openssl(`req -new ${newKey} -keyout ${name}.key -out ${name}.csr -subj /CN=${name}`)
      writeFileSync(
        join(dir, `${name}.ext`),
        [
          'subjectAltName=IP:127.0.0.1',
          'basicConstraints=CA:FALSE',
          'keyUsage=digitalSignature,keyEncipherment',
          'extendedKeyUsage=serverAuth,clientAuth',
        ].join('\n'),
      )
      openssl(
        `x509 -req -in ${name}.csr -CA ${caName}.crt -CAkey ${caName}.key -CAcreateserial ` +
          `-out ${name}.crt -days 2 -extfile ${name}.ext`,
      )
    }
    ca('ca')
    ca('other-ca')
    leaf('a', 'ca')
    leaf('b', 'ca')
    leaf('rogue', 'other-ca')
    const read = (f: string): string => readFileSync(join(dir, f), 'utf8')
    const caPem = read('ca.crt')
    for (const name of ['a', 'b', 'rogue'] as const) {
      // The rogue node trusts the right CA: only its own certificate is wrong.
      tls[name] = { key: read(`${name}.key`), cert: read(`${name}.crt`), ca: caPem }
    }
  })

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
  })

  const base: NodeOptions = { cookie: TEST_COOKIE, logger: silentLogger }

  it('meshes over wss:// and carries a call', async () => {
    await using a = await startNode({ ...base, name: 'a', tls: tls.a })
    // With TLS on, the advertised URL is wss:// by default.
    expect(a.url).toBe(`wss://127.0.0.1:${a.port}`)
    await using b = await startNode({ ...base, name: 'b', tls: tls.b, seeds: [a.url] })
    await waitUntil(() => a.isUp(b.id) && b.isUp(a.id), 5000, 'a and b to connect over TLS')
    expect(b.nodes().map((n) => n.url)).toEqual([a.url])
    const inbox = a.runtime.spawn(Inbox, undefined)
    expect(await b.runtime.call(inbox, 'node')).toBe(a.id)
  })

  it('keeps out a node whose certificate another CA signed', async () => {
    await using a = await startNode({ ...base, name: 'a', tls: tls.a })
    let attempts = 0
    await using rogue = await startNode({
      ...base,
      name: 'rogue',
      tls: tls.rogue,
      seeds: [a.url],
      reconnectMinMs: 10,
      reconnectMaxMs: 50,
      rewriteUrl: (u) => {
        attempts++
        return u
      },
    })
    // It keeps trying; none of its attempts gets through.
    await waitUntil(() => attempts >= 4, 5000, 'the rogue node to dial a few times')
    expect(a.nodes()).toEqual([])
    expect(rogue.nodes()).toEqual([])

    // Control: a node with a good certificate joins a the same way.
    await using b = await startNode({ ...base, name: 'b', tls: tls.b, seeds: [a.url] })
    await waitUntil(() => a.isUp(b.id), 5000, 'b to join a')
    expect(a.nodes().map((n) => n.name)).toEqual(['b'])
  })

  it('asks a certificate of /cluster only: HTTP and websocket routes serve clients without one', async () => {
    await using a = await startNode({ ...base, name: 'a', tls: tls.a })
    a.addHttpRoute('/hello', (_req, res) => res.end('hi'))
    a.addWebSocketRoute('/rooms/', (ws) => ws.send('welcome'))
    // A client that trusts the node's CA and has no certificate of its own, as a browser.
    const got = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      https
        .get(`https://127.0.0.1:${a.port}/hello`, { ca: tls.a.ca }, (res) => {
          let body = ''
          res.on('data', (d: Buffer) => (body += d.toString()))
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
        })
        .on('error', reject)
    })
    expect(got).toEqual({ status: 200, body: 'hi' })
    const room = new WebSocket(`wss://127.0.0.1:${a.port}/rooms/x`, { ca: tls.a.ca })
    const first = await new Promise<string>((resolve, reject) => {
      room.once('message', (d: Buffer) => resolve(d.toString()))
      room.once('error', reject)
    })
    expect(first).toBe('welcome')
    room.close()
    // /cluster without a certificate: refused before any handshake byte.
    const peer = new WebSocket(`wss://127.0.0.1:${a.port}/cluster`, { ca: tls.a.ca })
    await expect(
      new Promise((resolve, reject) => {
        peer.once('open', resolve)
        peer.once('error', reject)
      }),
    ).rejects.toThrow(/401/)
  })

  it('binds the handshake to the TLS session: a relay that ends TLS on each side gets nobody in', async () => {
    await using a = await startNode({ ...base, name: 'a', tls: tls.a })
    // The relay holds a good certificate (a stolen one) but not the cookie: it ends the dialer's
    // TLS with it, dials A with it, and passes every message through unchanged.
    const server = https.createServer({
      key: tls.b.key,
      cert: tls.b.cert,
      ca: tls.b.ca,
      requestCert: true,
      rejectUnauthorized: false,
    })
    const wss = new WebSocketServer({ server })
    let relayed = 0
    let attempts = 0
    wss.on('connection', (down) => {
      attempts++
      const up = new WebSocket(`wss://127.0.0.1:${a.port}/cluster`, {
        key: tls.b.key,
        cert: tls.b.cert,
        ca: tls.b.ca,
      })
      const queued: Buffer[] = []
      up.on('open', () => {
        for (const m of queued.splice(0)) up.send(m)
      })
      down.on('message', (m: Buffer) => {
        relayed++
        if (up.readyState === up.OPEN) up.send(m)
        else queued.push(m)
      })
      up.on('message', (m: Buffer) => {
        relayed++
        down.send(m)
      })
      up.on('close', () => down.close())
      down.on('close', () => up.close())
      up.on('error', () => down.terminate())
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    const relayPort = (server.address() as AddressInfo).port
    try {
      await using b = await startNode({
        ...base,
        name: 'b',
        tls: tls.b,
        seeds: [`wss://127.0.0.1:${relayPort}`],
        refusedRetryMs: 50,
        reconnectMinMs: 10,
        reconnectMaxMs: 50,
      })
      // The handshake's frames do cross the relay, and it fails every time: its proofs fit
      // neither TLS session. (One that passed would stay connected: no third attempt.)
      await waitUntil(() => attempts >= 3, 5000, 'three handshakes through the relay')
      expect(relayed).toBeGreaterThanOrEqual(6)
      expect(a.nodes()).toEqual([])
      expect(b.nodes()).toEqual([])
    } finally {
      for (const c of wss.clients) c.terminate()
      await new Promise<void>((r) => server.close(() => r()))
    }
  })
})
