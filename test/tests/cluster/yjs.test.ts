// The read-only y-websocket endpoint (`/yjs/<doc>`), driven by a real y-websocket
// WebsocketProvider as a browser or a tool would use it.
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { WebSocket } from 'ws'
import { WebsocketProvider } from 'y-websocket'
import { recordingLogger, testCluster, waitUntil } from '../../src/index.js'
import type { Node } from '@sworm/cluster'

/** A provider on `node` for `docName`, destroyed by `await using`. */
function provide(
  node: Node,
  docName: string,
): { doc: Y.Doc; provider: WebsocketProvider } & Disposable {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(`${node.url}/yjs`, docName, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
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
    await using cluster = await testCluster(1)
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
    await using cluster = await testCluster(2)
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

  it('ignores a write made by the client, and logs it', async () => {
    const rec = recordingLogger()
    await using cluster = await testCluster(2, { logger: rec.logger })
    const [a, b] = [cluster.node(0), cluster.node(1)]
    const name = `test/${a.id}/0`
    a.docs.create(name)
    a.docs.write(name, (d) => d.getMap('m').set('k', 'owner'))
    await waitUntil(() => b.docs.get(name)?.getMap('m').get('k') === 'owner')

    using client = provide(a, name)
    await waitUntil(() => client.provider.synced, 5000, 'the provider to sync')
    expect(rec.find(a.name, 'y-websocket client ignored')).toHaveLength(0)

    client.doc.getMap('m').set('k', 'client')
    client.doc.getMap('m').set('extra', true)
    await waitUntil(
      () => rec.find(a.name, 'write from a y-websocket client ignored').length > 0,
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
    await using cluster = await testCluster(1)
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
    await using cluster = await testCluster(1)
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
})
