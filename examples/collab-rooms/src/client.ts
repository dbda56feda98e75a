// For clients: any node serves any room, so a client whose node leaves (or fails) carries on
// with another node. `failover` moves a y-websocket provider to the next server URL each time its
// connection closes; the provider's own sync then sends the room whatever edits it missed.
import type { WebsocketProvider } from 'y-websocket'

/**
 * Makes `provider` reconnect to the next of `serverUrls` (`RoomServer.url` of each node)
 * whenever its connection closes. Returns the function that stops it.
 * @example
 * const provider = new WebsocketProvider(urls[0], 'notes', doc)
 * failover(provider, urls)
 */
export function failover(provider: WebsocketProvider, serverUrls: readonly string[]): () => void {
  if (serverUrls.length === 0) throw new Error('failover needs at least one server URL')
  let i = Math.max(0, serverUrls.indexOf(provider.serverUrl))
  const next = (): void => {
    i = (i + 1) % serverUrls.length
    provider.serverUrl = serverUrls[i]!
  }
  provider.on('connection-close', next)
  return () => provider.off('connection-close', next)
}
