// Chunked doc updates (`DocChunk` frames) from a peer, at the default limits: pieces in order are
// put back together and applied; pieces out of place, past the bound or never finished close
// that peer's connection with a typed reason and drop what it sent, and nothing else is lost.
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import { waitUntil } from '../../src/index.js'
import { nodeDefaults, type Node } from '@swormjs/cluster'
import { DocKind, Frame, frame, writeDocChunk, writePayload } from '@swormjs/cluster/protocol'
import {
  expectHealthy,
  handshakeByHand,
  lowNodeId,
  twoNodes,
  type RawSocket,
  type TwoNodes,
} from './rawPeer.js'
import { EMPTY_STATE_VECTOR, docFrame } from './rawFrames.js'

const CHUNK = nodeDefaults.docChunkBytes

let current: TwoNodes | undefined

/** Two nodes at the default limits. */
async function setup(): Promise<TwoNodes> {
  current = await twoNodes()
  return current
}
const sockets: RawSocket[] = []

afterEach(async () => {
  for (const s of sockets.splice(0)) s.ws.terminate()
  await current?.cluster.stop()
  current = undefined
})

/**
 * A raw peer of A that owns a doc: it announces it, A makes a replica and asks for it, and
 * from then on A takes that doc's updates from this peer.
 */
async function rawOwner(
  s: TwoNodes,
  n: number,
): Promise<{ sock: RawSocket; id: string; doc: string }> {
  const id = lowNodeId(n)
  const sock = await handshakeByHand(s.a, id)
  sockets.push(sock)
  const doc = `raw/${id}/0`
  sock.send(docFrame(doc, DocKind.StateVector, EMPTY_STATE_VECTOR))
  await waitUntil(() => s.a.docs.owner(doc) === id, 5000, 'the replica on A')
  return { sock, id, doc }
}

function piece(doc: string, total: number, offset: number, bytes: Uint8Array): Uint8Array {
  return frame((enc) => writeDocChunk(enc, { doc, total, offset, bytes }))
}

/** The pieces of `update`, `CHUNK` bytes each, one message each. */
function pieces(doc: string, update: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let at = 0; at < update.length; at += CHUNK) {
    out.push(piece(doc, update.length, at, update.subarray(at, at + CHUNK)))
  }
  return out
}

/** A Yjs update setting `key` to a string of `bytes` characters. */
function bigUpdate(key: string, bytes: number): Uint8Array {
  const d = new Y.Doc()
  d.getMap('m').set(key, 'z'.repeat(bytes))
  return Y.encodeStateAsUpdate(d)
}

/** The connection closes for a malformed frame, logged with a `BadDocChunk` of `reason`. */
async function expectRefused(
  s: TwoNodes,
  sock: RawSocket,
  id: string,
  reason: string,
): Promise<void> {
  expect(await sock.closed).toBe(1002)
  const lines = s.rec.find(s.a.name, 'malformed frame from peer')
  expect(lines).toHaveLength(1)
  const err = lines[0]!['err'] as { code: string; message: string }
  expect(err.code).toBe('BAD_DOC_CHUNK')
  expect(err.message).toContain(`(${reason})`)
  await waitUntil(() => !s.a.isUp(id as Node['id']), 2000, 'the peer to be down')
  expect(s.a.docs.partialUpdateBytes()).toBe(0)
}

describe('chunked doc updates from a peer', () => {
  it('puts the pieces of an update back together and applies it', async () => {
    const s = await setup()
    const { sock, id, doc } = await rawOwner(s, 1)
    const update = bigUpdate('blob', 3 * CHUNK + 7)
    const all = pieces(doc, update)
    expect(all.length).toBe(4)
    for (const p of all.slice(0, 2)) sock.send(p)
    await waitUntil(() => s.a.docs.partialUpdateBytes() === 2 * CHUNK, 5000, 'half of it held')
    for (const p of all.slice(2)) sock.send(p)
    await waitUntil(() => s.a.docs.get(doc)?.getMap('m').has('blob') === true, 5000, 'the update')
    expect((s.a.docs.get(doc)!.getMap('m').get('blob') as string).length).toBe(3 * CHUNK + 7)
    expect(s.a.isUp(id as Node['id'])).toBe(true)
    await expectHealthy(s)
  })

  it('takes heartbeats between the pieces', async () => {
    const s = await setup()
    const { sock, doc } = await rawOwner(s, 2)
    const all = pieces(doc, bigUpdate('blob', 2 * CHUNK))
    for (const p of all) {
      sock.send(p)
      sock.send(Uint8Array.of(Frame.Heartbeat))
    }
    await waitUntil(() => s.a.docs.get(doc)?.getMap('m').has('blob') === true, 5000, 'the update')
    await expectHealthy(s)
  })

  it.each([
    [
      'declared larger than maxFrameBytes',
      'too-large',
      (doc: string) => [piece(doc, nodeDefaults.maxFrameBytes + 1, 0, new Uint8Array(CHUNK))],
    ],
    [
      'whose pieces run past its declared size',
      'too-large',
      (doc: string) => [
        piece(doc, 100, 0, new Uint8Array(60)),
        piece(doc, 100, 60, new Uint8Array(60)),
      ],
    ],
    [
      'with a piece that skips ahead',
      'out-of-order',
      (doc: string) => [
        piece(doc, 300, 0, new Uint8Array(100)),
        piece(doc, 300, 200, new Uint8Array(100)),
      ],
    ],
    [
      'with a piece of another update in the middle',
      'out-of-order',
      (doc: string) => [
        piece(doc, 300, 0, new Uint8Array(100)),
        piece(doc, 500, 100, new Uint8Array(100)),
      ],
    ],
    [
      'that starts past offset 0',
      'out-of-order',
      (doc: string) => [piece(doc, 300, 100, new Uint8Array(100))],
    ],
    [
      'with a piece of no bytes',
      'malformed',
      (doc: string) => [piece(doc, 300, 0, new Uint8Array(0))],
    ],
    [
      'never finished before another frame',
      'unfinished',
      (doc: string) => [
        piece(doc, 2 * CHUNK, 0, new Uint8Array(CHUNK)),
        frame((enc) => {
          encoding.writeVarUint(enc, Frame.Send)
          encoding.writeVarString(enc, '<00000000-0000-4000-8000-000000000000.1>')
          writePayload(enc, 'in the middle')
        }),
      ],
    ],
  ])('closes the connection of a peer that sends an update %s', async (_what, reason, make) => {
    const s = await setup()
    const { sock, id, doc } = await rawOwner(s, 3)
    for (const m of make(doc)) sock.send(m)
    await expectRefused(s, sock, id, reason)
    expect(s.a.docs.get(doc)?.getMap('m').size ?? 0).toBe(0)
    await expectHealthy(s)
  })

  it('drops what came of an update never finished once its peer goes', async () => {
    const s = await setup()
    const { sock, id, doc } = await rawOwner(s, 4)
    const all = pieces(doc, bigUpdate('blob', 32 * CHUNK))
    for (const p of all.slice(0, 16)) sock.send(p)
    await waitUntil(() => s.a.docs.partialUpdateBytes() === 16 * CHUNK, 5000, 'half of it held')
    sock.ws.terminate()
    await waitUntil(() => !s.a.isUp(id as Node['id']), 5000, 'the peer to be down')
    expect(s.a.docs.partialUpdateBytes()).toBe(0)
    expect(s.a.docs.get(doc)!.getMap('m').has('blob')).toBe(false)
    await expectHealthy(s)
  })

  it('skips an update for a doc it does not hold, keeping none of it, and reads on', async () => {
    const s = await setup()
    const { sock, id, doc } = await rawOwner(s, 5)
    const unknown = `unknown/${id}/0`
    for (const p of pieces(unknown, bigUpdate('blob', 8 * CHUNK))) sock.send(p)
    // Then half of an update of its own doc: once A holds that half, it has read the other one.
    const own = pieces(doc, bigUpdate('own', 8 * CHUNK))
    for (const p of own.slice(0, 4)) sock.send(p)
    await waitUntil(() => s.a.docs.partialUpdateBytes() === 4 * CHUNK, 5000, 'half of its own')
    for (const p of own.slice(4)) sock.send(p)
    await waitUntil(() => s.a.docs.get(doc)?.getMap('m').has('own') === true, 5000, 'its own')
    expect(s.a.docs.get(unknown)).toBeUndefined()
    expect(sock.closeCode()).toBeUndefined()
    expect(s.a.isUp(id as Node['id'])).toBe(true)
    await expectHealthy(s)
  })

  it('closes the connection of a peer whose pieces together are not a Yjs update', async () => {
    const s = await setup()
    const { sock, id, doc } = await rawOwner(s, 6)
    const garbage = new Uint8Array(2 * CHUNK + 5).fill(0xff)
    for (const p of pieces(doc, garbage)) sock.send(p)
    expect(await sock.closed).toBe(1002)
    expect(s.rec.find(s.a.name, 'malformed frame from peer')).toHaveLength(1)
    await waitUntil(() => !s.a.isUp(id as Node['id']), 2000, 'the peer to be down')
    await expectHealthy(s)
  })
})
