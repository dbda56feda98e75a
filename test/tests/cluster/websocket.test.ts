// The WebSocket implementation is injectable (`webSocket` option): the node dials its peers and
// accepts their sockets with the classes it is given.
import type { ClientRequestArgs } from 'node:http'
import { describe, expect, it } from 'vitest'
import { WebSocket, WebSocketServer, type ClientOptions } from 'ws'
import { silentLogger } from '@swormjs/actor'
import { BadConfig, startNode, type NodeOptions } from '@swormjs/cluster'
import { TEST_COOKIE, waitUntil } from '../../src/index.js'
import { Inbox } from './helpers.js'

const base: NodeOptions = { cookie: TEST_COOKIE, logger: silentLogger }

/** A `ws` WebSocket subclass that counts the sockets it makes: dialed, and accepted by a server. */
function countingWebSocket(): {
  webSocket: NonNullable<NodeOptions['webSocket']>
  made: { dialed: number; accepted: number }
} {
  const made = { dialed: 0, accepted: 0 }
  class CountingWebSocket extends WebSocket {
    constructor(
      address: string | URL | null,
      protocols?: string | string[] | ClientOptions | ClientRequestArgs,
      options?: ClientOptions | ClientRequestArgs,
    ) {
      // A server makes its sockets with `address` null; the other arguments pass through as is.
      super(address as string, protocols as string[], options)
      if (address === null) made.accepted++
      else made.dialed++
    }
  }
  return { webSocket: { WebSocket: CountingWebSocket, WebSocketServer }, made }
}

describe('an injected WebSocket implementation', () => {
  it('dials and accepts peers through the classes given, and they talk', async () => {
    const onA = countingWebSocket()
    const onB = countingWebSocket()
    await using a = await startNode({ ...base, name: 'a', webSocket: onA.webSocket })
    await using b = await startNode({
      ...base,
      name: 'b',
      seeds: [a.url],
      webSocket: onB.webSocket,
    })
    await waitUntil(() => a.isUp(b.id) && b.isUp(a.id), 5000, 'a and b to connect')
    // b dialed a with its class, and a accepted b's socket with its own.
    expect(onB.made.dialed).toBeGreaterThanOrEqual(1)
    expect(onA.made.accepted).toBeGreaterThanOrEqual(1)
    expect(onA.made.dialed).toBe(0)

    const inbox = a.runtime.spawn(Inbox, undefined)
    expect(await b.runtime.call(inbox, 'node')).toBe(a.id)
  })

  it('rejects a webSocket option without both classes', async () => {
    for (const webSocket of [{}, { WebSocket }, { WebSocketServer }]) {
      let error: unknown
      try {
        const node = await startNode({ ...base, webSocket } as NodeOptions)
        await node.stop()
      } catch (e) {
        error = e
      }
      expect(BadConfig.is(error), `BadConfig, got ${String(error)}`).toBe(true)
      expect((error as Error).message).toMatch(/'webSocket'/)
    }
  })
})
