// Big docs between nodes: a doc or a write larger than a frame goes in bounded parts (and a
// value larger than a part in chunks), a node that joins late still catches up, what is sent
// after a big write still arrives after all of it, and heartbeats go out between the parts.
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { testCluster, waitUntil } from '../../src/index.js'
import { nodeDefaults, type Node } from '@swormjs/cluster'
import { Frame } from '@swormjs/cluster/protocol'
import { handshakeByHand, lowNodeId } from './rawPeer.js'
import { DocKind, EMPTY_STATE_VECTOR, docFrame, readFrames } from './rawFrames.js'

/** Small enough that a doc of a few thousand names passes it many times over. */
const MAX_FRAME = 64 * 1024

/** Writes `count` registry-like entries to `name` in one transaction (~100 bytes each). */
function fill(node: Node, name: string, count: number, prefix = 'name'): void {
  node.docs.write(name, (d) => {
    const m = d.getMap('names')
    for (let i = 0; i < count; i++) {
      m.set(`s${prefix}:${i}`, { p: `<${node.id}.${i + 10}>`, c: 1_700_000_000_000 + i })
    }
  })
}

function namesOf(node: Node, name: string): Y.Map<unknown> | undefined {
  return node.docs.get(name)?.getMap('names')
}

describe('docs larger than a frame', () => {
  it('syncs a doc larger than maxFrameBytes to a node that joins later', async () => {
    await using cluster = await testCluster(1, { maxFrameBytes: MAX_FRAME })
    const a = cluster.node(0)
    const name = `big/${a.id}/0`
    a.docs.create(name)
    fill(a, name, 20_000)
    expect(a.docs.encodedSize(name)).toBeGreaterThan(10 * MAX_FRAME)
    const b = await cluster.add({ maxFrameBytes: MAX_FRAME })
    await waitUntil(() => namesOf(b, name)?.size === 20_000, 15_000, 'the whole doc on B')
    expect(namesOf(b, name)!.toJSON()).toEqual(namesOf(a, name)!.toJSON())
    expect(b.isUp(a.id) && a.isUp(b.id)).toBe(true)
  })

  it('sends a write larger than maxFrameBytes to every replica, in parts', async () => {
    await using cluster = await testCluster(3, { maxFrameBytes: MAX_FRAME })
    const [a, b, c] = [cluster.node(0), cluster.node(1), cluster.node(2)]
    const name = `big/${a.id}/0`
    a.docs.create(name)
    fill(a, name, 100)
    await waitUntil(() => namesOf(c, name)?.size === 100, 5000, 'the first write')
    fill(a, name, 20_000, 'more')
    for (const n of [b, c]) {
      await waitUntil(() => namesOf(n, name)?.size === 20_100, 15_000, `the write on ${n.name}`)
      expect(namesOf(n, name)!.toJSON()).toEqual(namesOf(a, name)!.toJSON())
    }
    // No connection was lost on the way.
    expect(a.isUp(b.id) && a.isUp(c.id) && b.isUp(c.id)).toBe(true)
  })

  it('delivers a message sent after a big write only after every part of it', async () => {
    await using cluster = await testCluster(2, { maxFrameBytes: MAX_FRAME })
    const [a, b] = [cluster.node(0), cluster.node(1)]
    const name = `big/${a.id}/0`
    a.docs.create(name)
    await waitUntil(() => b.docs.get(name) !== undefined, 5000, 'the replica')
    const seen: number[] = []
    const probe = b.runtime.spawn(() => {
      seen.push(namesOf(b, name)?.size ?? -1)
    })
    fill(a, name, 20_000)
    a.runtime.send(probe, 'after the write')
    await waitUntil(() => seen.length === 1, 15_000, 'the message')
    expect(seen).toEqual([20_000])
  })

  it('syncs a value larger than a chunk, at the default limits, to a late and a live replica', async () => {
    await using cluster = await testCluster(1)
    const a = cluster.node(0)
    const name = `blob/${a.id}/0`
    const big = 'x'.repeat(3 * nodeDefaults.docChunkBytes + 123)
    a.docs.create(name)
    a.docs.write(name, (d) => {
      d.getMap('m').set('before', 1)
      d.getMap('m').set('blob', big)
      d.getMap('m').set('after', 2)
    })
    const b = await cluster.add()
    await waitUntil(() => b.docs.get(name)?.getMap('m').get('after') === 2, 5000, 'the doc')
    expect(b.docs.get(name)!.getMap('m').get('blob')).toBe(big)
    const bigger = 'y'.repeat(5 * nodeDefaults.docChunkBytes)
    a.docs.write(name, (d) => d.getMap('m').set('blob', bigger))
    await waitUntil(() => b.docs.get(name)?.getMap('m').get('blob') === bigger, 5000, 'the write')
    expect(b.docs.partialUpdateBytes()).toBe(0)
  })
})

describe('heartbeats during a big sync', () => {
  it('sends heartbeats between the parts of a big sync, in messages of bounded size', async () => {
    const interval = 10
    await using cluster = await testCluster(1, { heartbeatIntervalMs: interval })
    const a = cluster.node(0)
    const name = `big/${a.id}/0`
    a.docs.create(name)
    fill(a, name, 40_000)
    const size = a.docs.encodedSize(name)
    expect(size).toBeGreaterThan(40 * nodeDefaults.docChunkBytes)

    // A raw peer asks for the whole doc as a new replica would, and keeps what comes.
    const raw = await handshakeByHand(a, lowNodeId(1))
    try {
      await waitUntil(
        // The first message is the handshake's challenge.
        () => raw.received.slice(1).some((m) => readFrames(m).some((f) => f.doc === name)),
        5000,
        'the announce',
      )
      const from = raw.received.length
      raw.send(docFrame(name, DocKind.Request, EMPTY_STATE_VECTOR))
      const replica = new Y.Doc()
      let read = from
      await waitUntil(
        () => {
          for (; read < raw.received.length; read++) {
            for (const f of readFrames(raw.received[read]!)) {
              if (f.type === Frame.Doc && f.kind === DocKind.Update)
                Y.applyUpdate(replica, f.bytes!)
            }
          }
          return replica.getMap('names').size === 40_000
        },
        10_000,
        'the whole doc',
      )
      const messages = raw.received.slice(from, read)
      const kinds = messages.map((m) => {
        const frames = readFrames(m)
        return frames.every((f) => f.type === Frame.Heartbeat) ? 'beat' : 'doc'
      })
      const firstPart = kinds.indexOf('doc')
      const lastPart = kinds.lastIndexOf('doc')
      // Every message is bounded: the doc came in many, none much larger than a part.
      expect(lastPart - firstPart).toBeGreaterThan(40)
      for (const m of messages) expect(m.length).toBeLessThan(nodeDefaults.docChunkBytes + 16_384)
      // And heartbeats went out while the doc did, not after it.
      const beatsBetween = kinds.slice(firstPart, lastPart).filter((k) => k === 'beat').length
      expect(beatsBetween).toBeGreaterThan(0)
      expect(replica.getMap('names').toJSON()).toEqual(namesOf(a, name)!.toJSON())
    } finally {
      raw.ws.terminate()
    }
  })
})
