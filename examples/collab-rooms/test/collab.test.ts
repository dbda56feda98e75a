// collab-rooms end to end: three nodes in this process, real y-websocket clients on different
// nodes editing one room whose worker runs on a third node, and that node leaving while they type.
import { describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import { WebSocket } from 'ws'
import { WebsocketProvider } from 'y-websocket'
import { nodeOf, silentLogger, type Pid } from '@swormjs/actor'
import { startNode, type SwormNode } from '@swormjs/sworm'
import {
  Room,
  Rooms,
  RoomServer,
  failover,
  type RoomArgs,
  type RoomStats,
  type SyncReply,
} from '../src/index.js'

const COOKIE = 'collab-rooms-test'

interface Cluster extends AsyncDisposable {
  nodes: SwormNode[]
  servers: RoomServer[]
}

/** `n` nodes running `Rooms`, each with its room server, ready once every node sees the others. */
async function cluster(n: number): Promise<Cluster> {
  const nodes: SwormNode[] = []
  const servers: RoomServer[] = []
  for (let i = 0; i < n; i++) {
    const node = await startNode({
      name: `n${i}`,
      host: '127.0.0.1',
      port: 0,
      cookie: COOKIE,
      logger: silentLogger,
      seeds: i === 0 ? [] : [nodes[0]!.url],
      children: [Rooms],
    })
    nodes.push(node)
    servers.push(await RoomServer.start(node))
  }
  await vi.waitFor(
    () => {
      for (const x of nodes) {
        expect(x.nodes().filter((p) => p.status === 'up')).toHaveLength(n - 1)
        expect(Rooms.on(x).supervisor.stats().members).toBe(n)
      }
    },
    { timeout: 5000, interval: 10 },
  )
  return {
    nodes,
    servers,
    async [Symbol.asyncDispose]() {
      await Promise.all(nodes.map((x) => x.stop()))
    },
  }
}

/** A room name whose worker runs on `host` (rooms landing elsewhere are stopped again). */
async function roomOn(node: SwormNode, host: SwormNode): Promise<string> {
  const rooms = Rooms.on(node)
  for (let i = 0; i < 100; i++) {
    const name = `doc-${i}`
    const args: RoomArgs = { name }
    const pid = await rooms.whereisOrRegisterName(name, Room, args)
    if (nodeOf(pid) === host.id) return name
    await rooms.unregisterName(name)
  }
  throw new Error(`no room name hashed to ${host.name}`)
}

interface Client extends Disposable {
  name: string
  doc: Y.Doc
  text: Y.Text
  provider: WebsocketProvider
  /** Every edit this client made, in order. */
  edits: string[]
  /** Types one more edit at the end of the text. */
  type(): void
}

function client(name: string, serverUrl: string, room: string): Client {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(serverUrl, room, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
  })
  const text = doc.getText('t')
  const edits: string[] = []
  return {
    name,
    doc,
    text,
    provider,
    edits,
    type() {
      const edit = `[${name}${edits.length}]`
      edits.push(edit)
      text.insert(text.length, edit)
    },
    [Symbol.dispose]() {
      provider.destroy()
      doc.destroy()
    },
  }
}

/** Both clients hold the same text, and it has every edit of both, once each. */
async function converged(a: Client, b: Client): Promise<void> {
  await vi.waitFor(
    () => {
      expect(a.text.toJSON()).toBe(b.text.toJSON())
      for (const edit of [...a.edits, ...b.edits]) {
        expect(a.text.toJSON().split(edit)).toHaveLength(2)
      }
    },
    { timeout: 5000, interval: 10 },
  )
}

/** The room's document as its worker holds it, read by name through `node`. */
async function roomText(node: SwormNode, room: string): Promise<string> {
  const reply = await Rooms.on(node).call<SyncReply>(room, { type: 'sync' })
  const doc = new Y.Doc()
  Y.applyUpdate(doc, reply.update)
  const text = doc.getText('t').toJSON()
  doc.destroy()
  return text
}

/** Lets a typist's next keystroke wait a little: it paces typing, it orders nothing. */
const keystroke = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1))

describe('collab rooms', () => {
  it('keeps every edit of clients on two nodes while their room moves off a leaving third node', async () => {
    await using c = await cluster(3)
    const [n0, n1, n2] = c.nodes as [SwormNode, SwormNode, SwormNode]
    const room = await roomOn(n0, n2)
    const before = Rooms.on(n0).whereis(room)!
    expect(nodeOf(before)).toBe(n2.id)

    using a = client('a', c.servers[0]!.url, room)
    using b = client('b', c.servers[1]!.url, room)
    await vi.waitFor(() => expect(a.provider.synced && b.provider.synced).toBe(true), {
      timeout: 5000,
      interval: 10,
    })

    // Before: both type, and each sees the other's edits through the room on n2.
    for (let i = 0; i < 5; i++) {
      a.type()
      b.type()
      await keystroke()
    }
    await converged(a, b)

    // During: n2 leaves while both keep typing. Each also types the instant the room hands its
    // document over, when sworm holds the room's name on every node.
    let handedOver = false
    Rooms.on(n2).on('handoff', (name, withState) => {
      if (name !== room) return
      handedOver = withState
      a.type()
      b.type()
    })
    const leaving = n2.stop()
    let left = false
    void leaving.then(() => (left = true))
    let duringMove = 0
    while (!left) {
      a.type()
      b.type()
      duringMove++
      await keystroke()
    }
    await leaving
    expect(handedOver).toBe(true)
    expect(duringMove).toBeGreaterThan(0)

    // After: the room runs on n0 or n1, with its document, and both keep typing.
    await vi.waitFor(
      () => {
        const pid = Rooms.on(n0).whereis(room)
        expect(pid).toBeDefined()
        expect([n0.id, n1.id]).toContain(nodeOf(pid as Pid))
        expect(Rooms.on(n1).whereis(room)).toBe(pid)
      },
      { timeout: 5000, interval: 10 },
    )
    for (let i = 0; i < 5; i++) {
      a.type()
      b.type()
      await keystroke()
    }
    await converged(a, b)
    expect(a.edits.length + b.edits.length).toBeGreaterThanOrEqual(24)

    // The room itself holds every edit, and none came back through a client's re-sync: sworm
    // delivered everything sent during the move to the new worker.
    expect(await roomText(n0, room)).toBe(a.text.toJSON())
    const stats = await Rooms.on(n1).call<RoomStats>(room, { type: 'stats' })
    expect(stats.repairs).toBe(0)
  })

  it('moves a client whose own node leaves to another node, and keeps its edits', async () => {
    await using c = await cluster(3)
    const [n0, n1, n2] = c.nodes as [SwormNode, SwormNode, SwormNode]
    const room = await roomOn(n0, n0)
    const urls = c.servers.map((s) => s.url)

    using a = client('a', urls[2]!, room)
    using b = client('b', urls[1]!, room)
    failover(a.provider, urls)
    await vi.waitFor(() => expect(a.provider.synced && b.provider.synced).toBe(true), {
      timeout: 5000,
      interval: 10,
    })
    a.type()
    b.type()
    await converged(a, b)

    // a's node leaves: a reconnects to the next node and its edits, made offline too, arrive.
    await n2.stop()
    a.type()
    b.type()
    await vi.waitFor(
      () => {
        expect(a.provider.serverUrl).not.toBe(urls[2])
        expect(a.provider.synced).toBe(true)
      },
      { timeout: 5000, interval: 10 },
    )
    a.type()
    await converged(a, b)
    expect(await roomText(n1, room)).toBe(b.text.toJSON())
  })

  it('rebuilds a room that restarted empty after its node crashed from its clients', async () => {
    await using c = await cluster(3)
    const [n0, n1, n2] = c.nodes as [SwormNode, SwormNode, SwormNode]
    const room = await roomOn(n0, n2)

    using a = client('a', c.servers[0]!.url, room)
    using b = client('b', c.servers[1]!.url, room)
    await vi.waitFor(() => expect(a.provider.synced && b.provider.synced).toBe(true), {
      timeout: 5000,
      interval: 10,
    })
    for (let i = 0; i < 3; i++) {
      a.type()
      b.type()
    }
    await converged(a, b)

    // No handoff on a crash: the room restarts empty elsewhere, and the connections' re-sync
    // asks the clients for the document.
    await n2.kill()
    await vi.waitFor(
      async () => {
        expect(await roomText(n0, room)).toBe(a.text.toJSON())
        const stats = await Rooms.on(n1).call<RoomStats>(room, { type: 'stats' })
        expect(stats.repairs).toBeGreaterThan(0)
      },
      { timeout: 5000, interval: 20 },
    )
    a.type()
    b.type()
    await converged(a, b)
  })
})
