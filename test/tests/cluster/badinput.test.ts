// Bad input on a node's sockets: garbage, truncated and unknown frames, oversized messages,
// bad upgrade paths and a flood of half-open connections. Each closes the offending socket with
// a logged reason, and the node keeps serving the peers it already has.
import * as net from 'node:net'
import * as encoding from 'lib0/encoding'
import { afterEach, describe, expect, it } from 'vitest'
import { Actor, formatPid, formatRef, silentLogger, type NodeId } from '@swormjs/actor'
import { TEST_COOKIE, waitUntil } from '../../src/index.js'
import { NotSerializable, startNode, type Node } from '@swormjs/cluster'
import { Frame, frame } from '@swormjs/cluster/protocol'
import { writePayload } from '@swormjs/cluster/protocol'
import {
  expectHealthy,
  handshakeByHand,
  helloFrame,
  lowNodeId,
  openRaw,
  twoNodes,
  type RawSocket,
  type TwoNodes,
} from './rawPeer.js'

const MAX_FRAME = 64 * 1024
const HANDSHAKE_MS = 1000
const MAX_PENDING = 8

let current: TwoNodes | undefined

/** Two nodes at the limits above. */
/**
 * `n` messages from the fake peer `fake` were dropped as undecodable, logged and counted, and
 * nothing else: its connection `sock` is kept and it is up, and the nodes still work.
 */
async function expectDroppedAndKept(
  s: TwoNodes,
  sock: RawSocket,
  fake: string,
  n: number,
): Promise<void> {
  expect(s.rec.find(s.a.name, 'a message that could not be decoded was dropped')).toHaveLength(n)
  expect(s.rec.find(s.a.name, 'malformed frame from peer')).toHaveLength(0)
  expect(sock.closeCode()).toBeUndefined()
  expect(s.a.isUp(fake as Node['id'])).toBe(true)
  expect(s.a.stats().undecodable).toBe(n)
  await expectHealthy(s)
}

async function setup(): Promise<TwoNodes> {
  current = await twoNodes({
    maxFrameBytes: MAX_FRAME,
    handshakeTimeoutMs: HANDSHAKE_MS,
    maxPendingConnections: MAX_PENDING,
    yjsEndpoint: { token: 'a-token-for-the-bad-input-tests' },
  })
  return current
}
const sockets: RawSocket[] = []

afterEach(async () => {
  for (const s of sockets.splice(0)) s.ws.terminate()
  await current?.cluster.stop()
  current = undefined
})

async function raw(node: Node, maxPayload?: number): Promise<RawSocket> {
  const s = await openRaw(`${node.url}/cluster`, maxPayload)
  sockets.push(s)
  return s
}

async function hand(node: Node, n: number): Promise<RawSocket> {
  const s = await handshakeByHand(node, lowNodeId(n))
  sockets.push(s)
  return s
}

/**
 * Writes a raw HTTP request and resolves with the status line ('' if the node sent none), once
 * the node closes the connection or after 2 s.
 */
function httpRaw(node: Node, request: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(node.port, '127.0.0.1')
    let got = ''
    const timer = setTimeout(() => socket.destroy(), 2000)
    socket.on('data', (d: Buffer) => (got += d.toString('latin1')))
    socket.on('error', () => undefined)
    socket.on('close', () => {
      clearTimeout(timer)
      resolve(got.split('\r\n')[0] ?? '')
    })
    socket.write(request)
  })
}

function upgradeRequest(path: string): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
    `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`
  )
}

const sendFrame = frame((enc) => {
  encoding.writeVarUint(enc, Frame.Send)
  encoding.writeVarString(enc, '<00000000-0000-4000-8000-000000000000.1>')
  writePayload(enc, { hello: 'world' })
})

describe('bad input before the handshake', () => {
  it.each([
    ['garbage bytes', Uint8Array.from([0x63, 0x00, 0xff, 0x13, 0x37])],
    ['an endless varuint', new Uint8Array(32).fill(0xff)],
    ['an empty message', new Uint8Array(0)],
    ['a truncated hello', helloFrame(lowNodeId(1)).subarray(0, 30)],
    ['an unknown frame type', Uint8Array.from([99, 1, 2, 3])],
    ['a Send frame', sendFrame],
    ['a Welcome frame', frame((enc) => encoding.writeVarUint(enc, Frame.Welcome))],
  ])('closes a connection that sends %s first, and logs why', async (_what, bytes) => {
    const s = await setup()
    const sock = await raw(s.a)
    sock.send(bytes)
    await sock.closed
    expect(s.rec.find(s.a.name, 'bad handshake frame')).toHaveLength(1)
    expect(s.a.isStopping).toBe(false)
    await expectHealthy(s)
  })

  it('closes a connection that sends a message larger than maxFrameBytes, and logs why', async () => {
    const s = await setup()
    const sock = await raw(s.a)
    sock.send(new Uint8Array(MAX_FRAME + 1).fill(1))
    expect(await sock.closed).toBe(1009)
    await waitUntil(
      () => s.rec.find(s.a.name, 'bad websocket message from an incoming connection').length > 0,
      2000,
      'a log line',
    )
    await expectHealthy(s)
  })

  it('refuses an upgrade to an unknown path with 404', async () => {
    const s = await setup()
    await expect(openRaw(`${s.a.url}/nope`)).rejects.toThrow(/404/)
    await expect(openRaw(`${s.a.url}/`)).rejects.toThrow(/404/)
    await expectHealthy(s)
  })

  it.each([
    ['an upgrade to //', upgradeRequest('//')],
    [
      'an upgrade to a doc name that is not valid percent-encoding',
      upgradeRequest('/yjs/%E0%A4%A'),
    ],
    ['a plain request for //', 'GET // HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'],
  ])('answers %s with 400 and keeps running', async (_what, request) => {
    const s = await setup()
    expect(await httpRaw(s.a, request)).toMatch(/^HTTP\/1\.1 400/)
    expect(s.a.isStopping).toBe(false)
    await expectHealthy(s)
  })

  it('pushes the oldest idle connection out when every slot is taken, and closes idle ones after handshakeTimeoutMs', async () => {
    const s = await setup()
    const start = Date.now()
    const idle = await Promise.all(Array.from({ length: MAX_PENDING }, () => raw(s.a)))
    // Four more get in: each takes the slot of the oldest connection that never said hello.
    const more = await Promise.all(Array.from({ length: 4 }, () => raw(s.a)))
    await Promise.all(idle.slice(0, 4).map((x) => x.closed))
    expect(idle.slice(4).every((x) => x.closeCode() === undefined)).toBe(true)
    // B keeps its connection meanwhile.
    await expectHealthy(s)

    await Promise.all([...idle.slice(4), ...more].map((x) => x.closed))
    expect(Date.now() - start).toBeGreaterThanOrEqual(HANDSHAKE_MS - 50)
    // Logged once for their source, not once each.
    expect(s.rec.find(s.a.name, 'did not finish its handshake in time')).toHaveLength(1)
    const again = await raw(s.a)
    again.send(helloFrame(lowNodeId(2)))
    await waitUntil(() => again.received.length > 0, 5000, 'a challenge')
    expect(again.received[0]![0]).toBe(Frame.Challenge)
    await expectHealthy(s)
  })

  it('never pushes out the handshake of a node it has met: a full house of them gets 503', async () => {
    const s = await setup()
    // Connections that say hello as B (a member A has met) hold their slots.
    const members = await Promise.all(Array.from({ length: MAX_PENDING }, () => raw(s.a)))
    for (const m of members) m.send(helloFrame(s.b.id))
    await waitUntil(() => members.every((m) => m.received.length > 0), 5000, 'the challenges')
    await expect(raw(s.a)).rejects.toThrow(/503/)
    expect(s.rec.find(s.a.name, 'every handshake slot is held by a known member')).toHaveLength(1)
    await expectHealthy(s)
  })

  it('lets a real node join within a second while 100 idle sockets sit on /cluster', async () => {
    const s = await setup()
    const idle = await Promise.all(Array.from({ length: 100 }, () => raw(s.a)))
    const started = Date.now()
    await using c = await startNode({
      cookie: TEST_COOKIE,
      seeds: [s.a.url],
      logger: silentLogger,
      maxFrameBytes: MAX_FRAME,
    })
    await waitUntil(() => s.a.isUp(c.id) && c.isUp(s.a.id), 5000, 'c to join')
    expect(Date.now() - started).toBeLessThan(1000)
    expect(idle.filter((x) => x.closeCode() === undefined).length).toBeLessThanOrEqual(MAX_PENDING)
    await expectHealthy(s)
  })
})

describe('bad input from an authenticated peer', () => {
  it.each([
    ['garbage bytes', Uint8Array.from([0x63, 0x00, 0xff, 0x13, 0x37])],
    ['an unknown frame type', Uint8Array.from([99, 1, 2, 3])],
    ['a truncated Send frame', sendFrame.subarray(0, sendFrame.length - 4)],
    ['a Send frame with a bad payload tag', Uint8Array.from([...sendFrame.subarray(0, 43), 7])],
    [
      'a Doc frame of an unknown kind',
      frame((enc) => {
        encoding.writeVarUint(enc, Frame.Doc)
        encoding.writeVarString(enc, 'some/doc')
        encoding.writeVarUint(enc, 9)
        encoding.writeVarUint8Array(enc, new Uint8Array(3))
      }),
    ],
    [
      'a Doc update that is not a Yjs update',
      frame((enc) => {
        encoding.writeVarUint(enc, Frame.Doc)
        encoding.writeVarString(enc, 'fake/doc')
        encoding.writeVarUint(enc, 0)
        encoding.writeVarUint8Array(enc, new Uint8Array(0))
        encoding.writeVarUint(enc, Frame.Doc)
        encoding.writeVarString(enc, 'fake/doc')
        encoding.writeVarUint(enc, 1)
        encoding.writeVarUint8Array(enc, Uint8Array.from([0xff, 0xff, 0xff, 0x01, 0x02]))
      }),
    ],
  ])('closes the connection of a peer that sends %s, and logs why', async (_what, bytes) => {
    const s = await setup()
    const fake = lowNodeId(7)
    const sock = await hand(s.a, 7)
    expect(s.a.isUp(fake as Node['id'])).toBe(true)
    sock.send(bytes)
    expect(await sock.closed).toBe(1002)
    expect(s.rec.find(s.a.name, 'malformed frame from peer')).toHaveLength(1)
    expect(s.a.isUp(fake as Node['id'])).toBe(false)
    await expectHealthy(s)
  })

  it('drops a message whose payload does not decode, answers such a call with NotSerializable, and keeps the connection and the frames after it', async () => {
    // Bytes read whole that do not decode: what a newer Node's v8 format looks like to an older
    // one in a rolling upgrade across Node versions.
    const s = await setup()
    const fake = lowNodeId(9)
    const sock = await hand(s.a, 9)
    const got: unknown[] = []
    const target = s.a.runtime.spawn(
      class extends Actor<void> {
        override handleInfo(msg: unknown): void {
          got.push(msg)
        }
      },
      undefined,
    )
    const v8Garbage = (enc: encoding.Encoder): void => {
      encoding.writeUint8(enc, 1) // the v8 tag
      encoding.writeVarUint8Array(enc, Uint8Array.from([0xff, 0x63, 0x7f, 0x00, 0x13]))
    }
    const ref = formatRef(fake as NodeId, 1)
    sock.send(
      frame((enc) => {
        encoding.writeVarUint(enc, Frame.Send)
        encoding.writeVarString(enc, target)
        v8Garbage(enc)
        encoding.writeVarUint(enc, Frame.Call)
        encoding.writeVarString(enc, target)
        encoding.writeVarString(enc, ref)
        v8Garbage(enc)
        encoding.writeVarUint(enc, Frame.Send)
        encoding.writeVarString(enc, target)
        writePayload(enc, { after: 'the bad ones' })
      }),
    )
    await waitUntil(() => got.length === 1, 2000, 'the good message after the bad ones')
    expect(got).toEqual([{ after: 'the bad ones' }])
    // The call's reply came back (among the node's other frames), with a NotSerializable that
    // says why.
    const text = (): string => sock.received.map((b) => Buffer.from(b).toString('latin1')).join()
    await waitUntil(() => text().includes(ref), 2000, 'a reply to the call')
    expect(text()).toContain('could not decode a v8 payload')
    expect(text()).toContain('NOT_SERIALIZABLE')
    await expectDroppedAndKept(s, sock, fake, 2)
  })

  it('fails a call whose reply does not decode with NotSerializable, at once, and keeps the connection', async () => {
    const s = await setup()
    const fake = lowNodeId(10)
    const sock = await hand(s.a, 10)
    const started = performance.now()
    const target = formatPid(fake as NodeId, 1)
    const call = s.a.runtime.call(target, 'ping', { timeoutMs: 4000 })
    call.catch(() => undefined)
    // The call went out to the fake peer: its ref follows the target's pid (after the ref's
    // length byte) in what the peer received.
    const text = (): string => sock.received.map((b) => Buffer.from(b).toString('latin1')).join()
    const refOf = (): string | undefined => {
      const at = text().indexOf(target)
      if (at < 0) return undefined
      const ref = new RegExp(`^#${s.a.id}\\.\\d+(~[\\w-]+)?`)
      return ref.exec(text().slice(at + target.length + 1))?.[0]
    }
    await waitUntil(() => refOf() !== undefined, 2000, 'the call frame')
    sock.send(
      frame((enc) => {
        encoding.writeVarUint(enc, Frame.Reply)
        encoding.writeVarString(enc, refOf()!)
        encoding.writeUint8(enc, 1)
        encoding.writeUint8(enc, 1) // the v8 tag
        encoding.writeVarUint8Array(enc, Uint8Array.from([0xff, 0x63, 0x7f, 0x00, 0x13]))
      }),
    )
    const err = await call.then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(NotSerializable.is(err)).toBe(true)
    expect(String((err as Error).message)).toContain('could not decode a v8 payload')
    // Long before the call's own timeout.
    expect(performance.now() - started).toBeLessThan(3000)
    await expectDroppedAndKept(s, sock, fake, 1)
  })

  it('closes the connection of a peer that sends more than maxFrameBytes, and logs why', async () => {
    const s = await setup()
    const fake = lowNodeId(8)
    const sock = await hand(s.a, 8)
    sock.send(new Uint8Array(MAX_FRAME + 1).fill(Frame.Heartbeat))
    expect(await sock.closed).toBe(1009)
    await waitUntil(() => !s.a.isUp(fake as Node['id']), 2000, 'the peer to be down')
    await waitUntil(
      () => s.rec.find(s.a.name, 'bad websocket message from peer').length > 0,
      2000,
      'a log line',
    )
    await expectHealthy(s)
  })
})

describe('the frame size limit', () => {
  it('keeps batches under maxFrameBytes: a burst of messages that together pass it arrives', async () => {
    const s = await setup()
    const got: unknown[] = []
    const sink = s.a.runtime.spawn((msg) => {
      got.push(msg)
    })
    const chunk = 'x'.repeat(10 * 1024)
    for (let i = 0; i < 20; i++) s.b.runtime.send(sink, { i, chunk })
    await waitUntil(() => got.length === 20 || s.downs.length > 0, 5000, 'the burst')
    expect(s.downs).toEqual([])
    expect(got).toHaveLength(20)
    await expectHealthy(s)
  })
})
