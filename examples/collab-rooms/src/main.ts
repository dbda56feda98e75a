// Starts a 3-node collab-rooms cluster in this process on 127.0.0.1 and prints where
// y-websocket clients connect. Ctrl-C stops the nodes one after the other, gracefully: each
// node's rooms move to the nodes still running, with their documents.
//   COLLAB_ROOMS_PORT=4100 npm start -w @swormjs/example-collab-rooms   (nodes on 4100, 4101, 4102)
import { startNode, type SwormNode } from '@swormjs/sworm'
import { Rooms } from './Room.js'
import { RoomServer } from './RoomServer.js'

const NODES = 3
const basePort = Number(process.env['COLLAB_ROOMS_PORT'] ?? 0)
const cookie = process.env['SWORM_COOKIE'] ?? 'collab-rooms-cookie'

const t0 = performance.now()
const log = (line: string): void => {
  process.stdout.write(`[${((performance.now() - t0) / 1000).toFixed(2).padStart(6)}s] ${line}\n`)
}

const nodes: SwormNode[] = []
const servers: RoomServer[] = []
for (let i = 0; i < NODES; i++) {
  const name = String.fromCharCode(97 + i)
  const node = await startNode({
    name,
    host: '127.0.0.1',
    port: basePort === 0 ? 0 : basePort + i,
    seeds: nodes.length > 0 ? [nodes[0]!.url] : [],
    cookie,
    children: [Rooms],
  })
  node.on('nodeUp', (n) => log(`${name}: node ${n.name} up`))
  node.on('nodeDown', (n, reason) => log(`${name}: node ${n.name} down (${reason})`))
  Rooms.on(node).on('handoff', (room, withState) =>
    log(
      `${name}: room ${JSON.stringify(room)} moves away ${withState ? 'with its document' : 'empty'}`,
    ),
  )
  nodes.push(node)
  servers.push(await RoomServer.start(node))
}

log(`${NODES} nodes on 127.0.0.1, each serving every room:`)
for (const [i, node] of nodes.entries()) {
  log(`  ${node.name}  rooms ${servers[i]!.url}/<name>`)
}
log('connect y-websocket clients to any of them, for example:')
log(`  new WebsocketProvider('${servers[0]!.url}', 'my-doc', doc)`)
log('Ctrl-C stops the nodes gracefully, one after the other')

let stopping = false
const stop = async (): Promise<void> => {
  if (stopping) return
  stopping = true
  for (const node of nodes) {
    log(`stopping ${node.name}`)
    await node.stop()
  }
  log('stopped')
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    stop().then(
      () => process.exit(0),
      (e: unknown) => {
        console.error(e)
        process.exit(1)
      },
    )
  })
}
