// Websocket routes of a node (`addWebSocketRoute`): an application's own sockets on the node's
// port, next to the mesh; a taken or malformed prefix is refused, an unknown path gets 404.
import { describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { BadConfig } from '@swormjs/cluster'
import { testCluster } from '../../src/index.js'

/** Opens a websocket and resolves with its first message, or rejects with the upgrade's status. */
function firstMessage(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url)
    ws.on('message', (data: Buffer) => {
      resolve(data.toString())
      ws.close()
    })
    ws.on('unexpected-response', (_req, res) => reject(new Error(`status ${res.statusCode}`)))
    ws.on('error', reject)
  })
}

describe('websocket routes', () => {
  it('hands sockets on a prefix to the route, the longest prefix winning, and 404 elsewhere', async () => {
    await using cluster = await testCluster(1)
    const a = cluster.node(0)
    a.addWebSocketRoute('/rooms/', (ws, req) => ws.send(`rooms ${req.url}`))
    const remove = a.addWebSocketRoute('/rooms/vip/', (ws) => ws.send('vip'))
    expect(await firstMessage(`${a.url}/rooms/tea`)).toBe('rooms /rooms/tea')
    expect(await firstMessage(`${a.url}/rooms/vip/1`)).toBe('vip')
    remove()
    expect(await firstMessage(`${a.url}/rooms/vip/1`)).toBe('rooms /rooms/vip/1')
    await expect(firstMessage(`${a.url}/elsewhere`)).rejects.toThrow('status 404')
  })

  it('refuses the node’s own paths and prefixes that are not paths', async () => {
    await using cluster = await testCluster(1)
    const a = cluster.node(0)
    for (const prefix of ['/cluster', '/yjs/x', 'rooms/']) {
      expect(() => a.addWebSocketRoute(prefix, () => {})).toThrow(
        expect.objectContaining({ code: new BadConfig('x').code }),
      )
    }
  })
})
