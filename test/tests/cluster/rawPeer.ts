// Raw clients of a node's `/cluster` endpoint for the bad-input and fuzz tests: a socket that
// sends whatever bytes it is given, one that first completes the cookie handshake by hand, and
// the small pieces every such test needs (an echo process).
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import { WebSocket, type RawData } from 'ws'
import { isCallEnvelope, type Pid } from '@swormjs/actor'
import { expect } from 'vitest'
import {
  TEST_COOKIE,
  recordingLogger,
  testCluster,
  waitUntil,
  type TestCluster,
} from '../../src/index.js'
import type { Node, NodeOptions } from '@swormjs/cluster'
import {
  Frame,
  frame,
  PROTOCOL_VERSION,
  readIdentity,
  writeHello,
  type HelloFrame,
} from '@swormjs/cluster/protocol'
import { makeNonce, proof } from '@swormjs/cluster/protocol'

/** A websocket to a node that keeps what it receives and how it ended. */
export interface RawSocket {
  readonly ws: WebSocket
  readonly received: Uint8Array[]
  /** Set once the socket closed: the close code (1006 when cut without a close frame). */
  readonly closeCode: () => number | undefined
  /** Resolves with the close code once the socket is closed. */
  readonly closed: Promise<number>
  send(bytes: Uint8Array): void
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data)
  if (data instanceof ArrayBuffer) return new Uint8Array(data)
  return data
}

/** Opens a websocket to `url` (rejects if the upgrade fails, e.g. with a 404 or a 503). */
export function openRaw(url: string, maxPayload = 256 * 1024 * 1024): Promise<RawSocket> {
  const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload })
  const received: Uint8Array[] = []
  let code: number | undefined
  const closed = new Promise<number>((resolve) => {
    ws.on('close', (c) => {
      code = c
      resolve(c)
    })
  })
  ws.on('message', (data: RawData) => received.push(toBytes(data)))
  return new Promise<RawSocket>((resolve, reject) => {
    ws.once('error', reject)
    ws.once('open', () => {
      ws.off('error', reject)
      // Errors after the open (a reset by the node) only end the socket.
      ws.on('error', () => undefined)
      resolve({
        ws,
        received,
        closeCode: () => code,
        closed,
        send: (bytes) => {
          if (ws.readyState === ws.OPEN) ws.send(bytes)
        },
      })
    })
  })
}

/** A node id that sorts before every random uuid, so no real node ever dials it back. */
export function lowNodeId(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`
}

/** The hello a dialer `nodeId` sends, with a fresh nonce. */
export function helloOf(nodeId: string, cluster = 'sworm'): HelloFrame {
  return {
    version: PROTOCOL_VERSION,
    cluster,
    nodeId,
    name: `raw-${nodeId.slice(-4)}`,
    url: 'ws://127.0.0.1:1',
    nonce: makeNonce(),
  }
}

/** A hello frame as a dialer sends it. */
export function helloFrame(nodeId: string, cluster = 'sworm'): Uint8Array {
  return frame((enc) => writeHello(enc, helloOf(nodeId, cluster)))
}

/**
 * Connects to `node` as a fake node `nodeId` and completes the handshake by hand (hello,
 * challenge, auth, welcome): the node then counts it as a peer.
 */
export async function handshakeByHand(
  node: Node,
  nodeId: string,
  cookie = TEST_COOKIE,
): Promise<RawSocket> {
  const raw = await openRaw(`${node.url}/cluster`)
  const hello = helloOf(nodeId)
  raw.send(frame((enc) => writeHello(enc, hello)))
  await waitUntil(
    () => raw.received.length >= 1 || raw.closeCode() !== undefined,
    5000,
    'a challenge',
  )
  const dec = decoding.createDecoder(raw.received[0]!)
  if (decoding.readVarUint(dec) !== Frame.Challenge) throw new Error('expected a challenge')
  const acceptor = readIdentity(dec)
  const mine = proof(cookie, 'dialer', {
    cluster: 'sworm',
    dialerId: nodeId,
    acceptorId: acceptor.nodeId,
    dialerNonce: hello.nonce,
    acceptorNonce: acceptor.nonce,
  })
  raw.send(
    frame((enc) => {
      encoding.writeVarUint(enc, Frame.Auth)
      encoding.writeVarUint8Array(enc, mine)
    }),
  )
  // The fake node owns no docs: it announces none and tells the node it has caught up (a
  // `SyncDone` that runs ahead of the node's `SyncAsk` is taken all the same).
  raw.send(
    frame((enc) => {
      encoding.writeVarUint(enc, Frame.AnnounceEnd)
      encoding.writeVarUint(enc, Frame.SyncDone)
    }),
  )
  await waitUntil(() => node.isUp(nodeId as Node['id']), 5000, 'the node to take the raw peer')
  return raw
}

/** A process on `node` that answers every call with the message it got. */
export function spawnEcho(node: Node): Pid {
  return node.runtime.spawn((msg, ctx) => {
    if (isCallEnvelope(msg)) ctx.reply({ ref: msg.$call }, msg.msg)
  })
}

/** Two real nodes under attack by raw peers: A with an echo process and a doc replicated on B. */
export interface TwoNodes {
  cluster: TestCluster
  a: Node
  b: Node
  rec: ReturnType<typeof recordingLogger>
  echo: Pid
  /** A doc of A replicated on B. */
  doc: string
  /** nodeDown events between the two real nodes. */
  downs: string[]
}

/** Starts {@link TwoNodes} with `options` (default limits unless given). */
export async function twoNodes(options: Omit<NodeOptions, 'logger'> = {}): Promise<TwoNodes> {
  const rec = recordingLogger()
  const cluster = await testCluster(2, { ...options, logger: rec.logger })
  const [a, b] = [cluster.node(0), cluster.node(1)]
  const downs: string[] = []
  a.on('nodeDown', (n, reason) => n.id === b.id && downs.push(`A lost B: ${reason}`))
  b.on('nodeDown', (n, reason) => n.id === a.id && downs.push(`B lost A: ${reason}`))
  const doc = `probe/${a.id}/0`
  a.docs.create(doc)
  a.docs.write(doc, (d) => {
    for (let i = 0; i < 100; i++) d.getMap('m').set(`k${i}`, i)
  })
  await waitUntil(() => b.docs.get(doc)?.getMap('m').get('k99') === 99)
  return { cluster, a, b, rec, echo: spawnEcho(a), doc, downs }
}

/**
 * A still serves B as before: no down, calls work, the doc is intact and still replicates, and
 * nothing of a chunked update is left half-received.
 */
export async function expectHealthy(s: TwoNodes): Promise<void> {
  expect(s.downs).toEqual([])
  expect(s.a.isUp(s.b.id) && s.b.isUp(s.a.id)).toBe(true)
  await expect(s.b.runtime.call(s.echo, { ping: 1 }, { timeoutMs: 5000 })).resolves.toEqual({
    ping: 1,
  })
  const replica = s.b.docs.get(s.doc)!.getMap('m')
  expect(replica.toJSON()).toEqual(s.a.docs.get(s.doc)!.getMap('m').toJSON())
  for (let i = 0; i < 100; i++) expect(replica.get(`k${i}`)).toBe(i)
  s.a.docs.write(s.doc, (d) => d.getMap('m').set('after', true))
  await waitUntil(() => replica.get('after') === true, 5000, 'a write after the attack')
  expect(s.a.docs.partialUpdateBytes()).toBe(0)
}
