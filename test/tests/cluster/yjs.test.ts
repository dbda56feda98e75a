// The read-only y-websocket endpoint (`/yjs/<doc>`), driven by a real y-websocket
// WebsocketProvider as a browser or a tool would use it, and by hostile raw clients: it is off by
// default, lets in only the token's holders (browsers only from listed origins), drops writes
// undecoded, and bounds every client (message size, idle time, unread replies, connections).
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { WebSocket } from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as encoding from 'lib0/encoding'
import { silentLogger } from '@swormjs/actor'
import {
  TEST_COOKIE,
  mulberry32,
  recordingLogger,
  seedFor,
  testCluster,
  waitUntil,
} from '../../src/index.js'
import { BadConfig, startNode, type Node } from '@swormjs/cluster'
import { openRaw } from './rawPeer.js'

const TOKEN = 'a-token-for-the-yjs-tests'
const yjs = { yjsEndpoint: { token: TOKEN } } as const

/** A provider on `node` for `docName`, destroyed by `await using`. */
function provide(
  node: Node,
  docName: string,
): { doc: Y.Doc; provider: WebsocketProvider } & Disposable {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(`${node.url}/yjs`, docName, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
    params: { token: TOKEN },
  })
  return {
    doc,
    provider,
    [Symbol.dispose]() {
      provider.destroy()
      doc.destroy()
    },
  }
}

describe('the y-websocket endpoint', () => {
  it('syncs the current content of a doc, then shows later changes live', async () => {
    await using cluster = await testCluster(1, yjs)
    const a = cluster.node(0)
    const name = `test/${a.id}/0`
    a.docs.create(name)
    a.docs.write(name, (d) => {
      d.getMap('m').set('before', 1)
      d.getText('t').insert(0, 'hello')
    })

    using client = provide(a, name)
    await waitUntil(() => client.provider.synced, 5000, 'the provider to sync')
    expect(client.doc.getMap('m').get('before')).toBe(1)
    expect(client.doc.getText('t').toJSON()).toBe('hello')

    a.docs.write(name, (d) => {
      d.getMap('m').set('after', 2)
      d.getText('t').insert(5, ' world')
    })
    await waitUntil(() => client.doc.getMap('m').get('after') === 2, 5000, 'the live change')
    expect(client.doc.getText('t').toJSON()).toBe('hello world')
  })

  it("serves a replica and forwards its owner's changes live", async () => {
    await using cluster = await testCluster(2, yjs)
    const [a, b] = [cluster.node(0), cluster.node(1)]
    const name = `test/${a.id}/0`
    a.docs.create(name)
    a.docs.write(name, (d) => d.getMap('m').set('k', 1))
    await waitUntil(() => b.docs.get(name)?.getMap('m').get('k') === 1)

    using client = provide(b, name)
    await waitUntil(() => client.doc.getMap('m').get('k') === 1, 5000, 'the replica content')
    a.docs.write(name, (d) => d.getMap('m').set('k', 2))
    await waitUntil(() => client.doc.getMap('m').get('k') === 2, 5000, 'the change through B')
  })

  it('drops a write made by the client, and logs it once', async () => {
    const rec = recordingLogger()
    await using cluster = await testCluster(2, { ...yjs, logger: rec.logger })
    const [a, b] = [cluster.node(0), cluster.node(1)]
    const name = `test/${a.id}/0`
    a.docs.create(name)
    a.docs.write(name, (d) => d.getMap('m').set('k', 'owner'))
    await waitUntil(() => b.docs.get(name)?.getMap('m').get('k') === 'owner')

    using client = provide(a, name)
    await waitUntil(() => client.provider.synced, 5000, 'the provider to sync')
    expect(rec.find(a.name, 'y-websocket client dropped')).toHaveLength(0)

    client.doc.getMap('m').set('k', 'client')
    client.doc.getMap('m').set('extra', true)
    await waitUntil(
      () => rec.find(a.name, 'write from a y-websocket client dropped').length > 0,
      5000,
      'the log line',
    )

    // The owner's next write reaches the client and B; the client's never reaches anyone.
    a.docs.write(name, (d) => d.getMap('m').set('later', 1))
    await waitUntil(() => b.docs.get(name)?.getMap('m').get('later') === 1)
    await waitUntil(() => client.doc.getMap('m').get('later') === 1)
    for (const n of [a, b]) {
      expect(n.docs.get(name)!.getMap('m').get('k')).toBe('owner')
      expect(n.docs.get(name)!.getMap('m').has('extra')).toBe(false)
    }
    expect(a.isUp(b.id)).toBe(true)
  })

  it('closes the socket with 4404 for an unknown doc name', async () => {
    await using cluster = await testCluster(1, yjs)
    const a = cluster.node(0)
    using client = provide(a, 'no/such/doc')
    const closed = await new Promise<{ code: number; reason: string }>((resolve) => {
      client.provider.on('closed', (event) => resolve(event))
    })
    expect(closed.code).toBe(4404)
    expect(closed.reason).toBe('unknown doc')
    expect(client.provider.synced).toBe(false)
    expect(client.provider.shouldConnect).toBe(false)
  })

  it('closes its clients with 4404 when the doc is dropped', async () => {
    await using cluster = await testCluster(1, yjs)
    const a = cluster.node(0)
    const name = `test/${a.id}/0`
    a.docs.create(name)
    using client = provide(a, name)
    await waitUntil(() => client.provider.synced, 5000, 'the provider to sync')
    const closed = new Promise<{ code: number; reason: string }>((resolve) => {
      client.provider.on('closed', (event) => resolve(event))
    })
    a.docs.drop(name)
    expect((await closed).code).toBe(4404)
  })

  it('is not served by default, and refuses a config without a strong token', async () => {
    await using cluster = await testCluster(1)
    const a = cluster.node(0)
    a.docs.create(`test/${a.id}/0`)
    await expect(openRaw(`${a.url}/yjs/test%2F${a.id}%2F0?token=${TOKEN}`)).rejects.toThrow(/404/)
    for (const bad of [true, { token: 'short' }, { token: TOKEN, typo: 1 }]) {
      await expect(
        startNode({ cookie: TEST_COOKIE, logger: silentLogger, yjsEndpoint: bad as never }),
      ).rejects.toSatisfy((e: unknown) => BadConfig.is(e) && /yjsEndpoint/.test(String(e)))
    }
  })

  it('refuses an upgrade without the token (401) or from an origin not listed (403), before any doc byte', async () => {
    await using cluster = await testCluster(1, {
      yjsEndpoint: { token: TOKEN, origins: ['https://app.example.com'] },
    })
    const a = cluster.node(0)
    const name = `test/${a.id}/0`
    a.docs.create(name)
    a.docs.write(name, (d) => d.getMap('m').set('secret', 'api-key'))
    const url = `${a.url}/yjs/${encodeURIComponent(name)}`
    await expect(openRaw(url)).rejects.toThrow(/401/)
    await expect(openRaw(`${url}?token=not-the-token-at-all`)).rejects.toThrow(/401/)
    const evil = new WebSocket(`${url}?token=${TOKEN}`, { origin: 'https://evil.example' })
    await expect(
      new Promise((resolve, reject) => {
        evil.once('open', resolve)
        evil.once('error', reject)
      }),
    ).rejects.toThrow(/403/)
    // The token in a header, from a listed origin: served.
    const good = new WebSocket(url, {
      origin: 'https://app.example.com',
      headers: { authorization: `Bearer ${TOKEN}` },
    })
    const first = await new Promise<Buffer>((resolve, reject) => {
      good.once('message', (d: Buffer) => resolve(d))
      good.once('error', reject)
    })
    expect(first[0]).toBe(0)
    good.terminate()
  })

  it('closes a client that never reads its answers, and keeps serving', async () => {
    const rec = recordingLogger()
    await using cluster = await testCluster(1, { ...yjs, logger: rec.logger })
    const a = cluster.node(0)
    const name = `test/${a.id}/0`
    a.docs.create(name)
    // A doc of about 450 KB: 250 answers to it would be 110 MiB.
    a.docs.write(name, (d) => {
      const m = d.getMap('m')
      for (let i = 0; i < 3000; i++) m.set(`k${i}`, 'v'.repeat(150))
    })
    const raw = await openRaw(`${a.url}/yjs/${encodeURIComponent(name)}?token=${TOKEN}`)
    const socket = (raw.ws as unknown as { _socket: { pause(): void } })._socket
    socket.pause()
    const step1 = (() => {
      const enc = encoding.createEncoder()
      encoding.writeVarUint(enc, 0)
      encoding.writeVarUint(enc, 0)
      encoding.writeVarUint8Array(enc, Y.encodeStateVector(new Y.Doc()))
      return encoding.toUint8Array(enc)
    })()
    for (let i = 0; i < 250; i++) raw.send(step1)
    await waitUntil(
      () => rec.find(a.name, 'does not read').length > 0,
      10_000,
      'the node to close the client',
    )
    expect(rec.find(a.name, 'does not read')).toHaveLength(1)
    // The node still answers others.
    using client = provide(a, name)
    await waitUntil(() => client.doc.getMap('m').get('k2999') !== undefined, 5000, 'a fresh sync')
    raw.ws.terminate()
  })

  it('bounds its clients: message size, idle time and how many at once', async () => {
    await using cluster = await testCluster(1, {
      yjsEndpoint: { token: TOKEN, idleTimeoutMs: 300, maxConnections: 2 },
    })
    const a = cluster.node(0)
    const name = `test/${a.id}/0`
    a.docs.create(name)
    const url = `${a.url}/yjs/${encodeURIComponent(name)}?token=${TOKEN}`
    const big = await openRaw(url)
    big.send(new Uint8Array(64 * 1024 + 1))
    expect(await big.closed).toBe(1009)
    const idle = await openRaw(url)
    const second = await openRaw(url)
    await expect(openRaw(url)).rejects.toThrow(/503/)
    expect(await idle.closed).toBe(1000)
    await second.closed
    const again = await openRaw(url)
    again.ws.terminate()
  })

  it('survives random and mutated y-websocket messages, and hands no write on', async () => {
    await using cluster = await testCluster(2, yjs)
    const [a, b] = [cluster.node(0), cluster.node(1)]
    const name = `test/${a.id}/0`
    a.docs.create(name)
    a.docs.write(name, (d) => d.getMap('m').set('k', 'owner'))
    await waitUntil(() => b.docs.get(name)?.getMap('m').get('k') === 'owner')
    const seed = seedFor('YJS_FUZZ_SEED')
    const rng = mulberry32(seed)
    const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => rng() * 256)
    const writer = new Y.Doc()
    writer.getMap('m').set('k', 'mallory')
    const update = Y.encodeStateAsUpdate(writer)
    const corpus: Uint8Array[] = [0, 1, 2].map((sub) => {
      const enc = encoding.createEncoder()
      encoding.writeVarUint(enc, 0)
      encoding.writeVarUint(enc, sub)
      encoding.writeVarUint8Array(enc, sub === 0 ? Y.encodeStateVector(writer) : update)
      return encoding.toUint8Array(enc)
    })
    try {
      for (let round = 0; round < 20; round++) {
        const raw = await openRaw(`${a.url}/yjs/${encodeURIComponent(name)}?token=${TOKEN}`)
        for (let i = 0; i < 20; i++) {
          const base = corpus[Math.floor(rng() * corpus.length)]!
          const m = rng() < 0.3 ? bytes(Math.floor(rng() * 64)) : Uint8Array.from(base)
          if (m.length > 0 && rng() < 0.5) m[Math.floor(rng() * m.length)] = rng() * 256
          raw.send(rng() < 0.2 ? m.subarray(0, Math.floor(rng() * m.length)) : m)
        }
        raw.ws.terminate()
      }
      for (const n of [a, b]) expect(n.docs.get(name)!.getMap('m').get('k')).toBe('owner')
      using client = provide(a, name)
      await waitUntil(() => client.doc.getMap('m').get('k') === 'owner', 5000, 'a clean sync')
      expect(a.isUp(b.id)).toBe(true)
    } catch (e) {
      throw new Error(`y-websocket fuzz failed; rerun with YJS_FUZZ_SEED=${seed}: ${String(e)}`)
    }
  })
})
