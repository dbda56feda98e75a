// An authenticated peer speaks for its own processes only: an Exit, Link or Unlink "from" a
// process of another node, a Monitor under another node's ref, or a Down for a monitor placed
// on another node is dropped (and logged once); and refs are unguessable, so a Reply for a call
// the peer was never sent cannot be forged by counting.
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'
import { afterEach, describe, expect, it } from 'vitest'
import type { NodeId, Ref } from '@swormjs/actor'
import { recordingLogger, testCluster, waitUntil, type TestCluster } from '../../src/index.js'
import { nodeDefaults } from '@swormjs/cluster'
import { DocKind, Frame, frame, writeMembers, writePayload } from '@swormjs/cluster/protocol'
import { handshakeByHand, lowNodeId, spawnEcho, type RawSocket } from './rawPeer.js'

let cluster: TestCluster | undefined
const sockets: RawSocket[] = []
afterEach(async () => {
  for (const s of sockets.splice(0)) s.ws.terminate()
  await cluster?.stop()
  cluster = undefined
})

/** Two real nodes, A and B, and a fake peer of A that completed the handshake by hand. */
async function setup(options: { forgetAfterMs?: number } = {}) {
  const rec = recordingLogger()
  cluster = await testCluster(2, { ...options, logger: rec.logger })
  const [a, b] = [cluster.node(0), cluster.node(1)]
  const fake = await handshakeByHand(a, lowNodeId(42))
  sockets.push(fake)
  return { a, b, fake, rec }
}

/** A process that takes every message and does nothing. */
const idle = (): (() => void) => () => undefined

describe('a peer speaks for its own processes only', () => {
  it('drops an Exit, a Link and a Down that speak for another node, and logs it once', async () => {
    const { a, b, fake, rec } = await setup()
    const victim = a.runtime.spawn(idle())
    const onB = b.runtime.spawn(idle())
    // A watches a process of B: only B may say it went down.
    let fired = false
    const ref = a.runtime.monitor(() => (fired = true), onB)
    fake.send(
      frame((enc) => {
        encoding.writeVarUint(enc, Frame.Exit)
        encoding.writeVarString(enc, victim)
        encoding.writeVarString(enc, onB)
        encoding.writeUint8(enc, 0)
        writePayload(enc, 'kill')
        encoding.writeVarUint(enc, Frame.Link)
        encoding.writeVarString(enc, onB)
        encoding.writeVarString(enc, victim)
        encoding.writeVarUint(enc, Frame.Down)
        encoding.writeVarString(enc, ref)
        writePayload(enc, 'normal')
      }),
    )
    await waitUntil(
      () => rec.find(a.name, 'frame for a process or ref of another node').length > 0,
      5000,
      'the drop to be logged',
    )
    // The fake's message was read in full: a call through A still works after it.
    const echo = b.runtime.spawn((msg, ctx) => {
      if (typeof msg === 'object' && msg !== null && '$call' in msg) {
        ctx.reply({ ref: (msg as { $call: Ref }).$call }, 'pong')
      }
    })
    expect(await a.runtime.call(echo, 'ping')).toBe('pong')
    expect(a.runtime.isAlive(victim)).toBe(true)
    expect(fired).toBe(false)
    expect(a.runtime.processInfo(victim)?.links ?? []).not.toContain(onB)
    expect(rec.find(a.name, 'frame for a process or ref of another node')).toHaveLength(1)
    // The real owner's word still counts.
    b.runtime.exit(onB, 'kill')
    await waitUntil(() => fired, 5000, 'the real DOWN from B')
  })

  it('makes refs no peer can guess: a reply forged by counting never lands', async () => {
    const { a, b, fake } = await setup()
    const [r1, r2] = [a.runtime.makeRef(), a.runtime.makeRef()]
    expect(r1).toMatch(/^#.+\.\d+~[\w-]{8}$/)
    expect(r2.split('~')[1]).not.toBe(r1.split('~')[1])
    // A calls a process of B that never answers; the fake tries every serial near A's.
    const silent = b.runtime.spawn(idle())
    const call = a.runtime.call(silent, 'hello?', { timeoutMs: 1500 }).then(
      (v) => ({ answered: v }),
      (e: unknown) => ({ failed: String(e) }),
    )
    const serial = Number(/\.(\d+)~/.exec(a.runtime.makeRef())![1])
    fake.send(
      frame((enc) => {
        for (let n = Math.max(1, serial - 200); n < serial + 200; n++) {
          encoding.writeVarUint(enc, Frame.Reply)
          encoding.writeVarString(enc, `#${a.id}.${n}`)
          encoding.writeUint8(enc, 1)
          writePayload(enc, 'forged')
        }
      }),
    )
    expect(await call).toEqual({ failed: expect.stringMatching(/timed out/) })
  })

  it("ignores a doc published under another node's name, and keeps the peer's own", async () => {
    const { a, b, fake, rec } = await setup()
    // An owner announces a doc with its state vector; the node then asks it for the rest.
    const doc = new Y.Doc()
    doc.getMap('names').set('user:mallory', { p: `#${b.id}.1~0`, c: 1 })
    const publish = (name: string): Uint8Array =>
      frame((enc) => {
        encoding.writeVarUint(enc, Frame.Doc)
        encoding.writeVarString(enc, name)
        encoding.writeVarUint(enc, DocKind.StateVector)
        encoding.writeVarUint8Array(enc, Y.encodeStateVector(doc))
      })
    const squatted = `registry/Rooms/${b.id}/7`
    const malformed = 'supervisor/Rooms/no-generation'
    const own = `registry/Rooms/${lowNodeId(42)}/0`
    fake.send(publish(squatted))
    fake.send(publish(malformed))
    fake.send(publish(own))
    await waitUntil(() => a.docs.names().includes(own), 5000, "the fake's own doc")
    expect(a.docs.names()).not.toContain(squatted)
    expect(a.docs.names()).not.toContain(malformed)
    expect(a.stats().forged).toBe(2)
    expect(rec.find(a.name, "under another node's name")).toHaveLength(1)
  })
})

describe('gossip from a peer is bounded', () => {
  it('ignores gossiped members past maxMembers, logs it once, and keeps serving', async () => {
    const { a, b, fake, rec } = await setup()
    // 1,500 made-up members, each with an id above A's (so A is the one to dial them), at
    // ports nothing listens on.
    const fakes = Array.from({ length: 1500 }, (_, i) => ({
      nodeId: `ffffffff-ffff-4fff-bfff-${String(i).padStart(12, '0')}`,
      name: `ghost${i}`,
      url: `ws://127.0.0.1:${1 + (i % 1000)}`,
    }))
    fake.send(frame((enc) => writeMembers(enc, fakes)))
    fake.send(frame((enc) => writeMembers(enc, fakes)))
    await waitUntil(
      () => rec.find(a.name, 'gossiped members past maxMembers ignored').length > 0,
      5000,
      'the cap to be logged',
    )
    const ghosts = a.members().filter((m) => m.name.startsWith('ghost'))
    // A knows B and the fake peer, so room was left for all but those two.
    expect(ghosts.length).toBe(nodeDefaults.maxMembers - 2)
    expect(rec.find(a.name, 'gossiped members past maxMembers ignored')).toHaveLength(1)
    // Each frame's members past the cap are counted: 502 in the first, the same 502 in the second.
    const ignored = 2 * (fakes.length - ghosts.length)
    await waitUntil(() => a.stats().overLimit >= ignored, 5000, 'both frames counted')
    expect(a.stats().overLimit).toBe(ignored)
    const echo = spawnEcho(b)
    expect(await a.runtime.call(echo, 'ping', { timeoutMs: 5000 })).toBe('ping')
  })
})

describe('what a peer holds on a node is bounded', () => {
  it('fires a monitor past maxMonitorsPerPeer at once with system_limit, and keeps serving', async () => {
    const { a, b, fake, rec } = await setup()
    const target = a.runtime.spawn(idle())
    const heapBefore = process.memoryUsage().heapUsed
    const refOf = (i: number): string => `#${lowNodeId(42)}.${i}~m`
    const limit = nodeDefaults.maxMonitorsPerPeer
    // The limit, and one more, in messages of 1,000 monitors each.
    for (let start = 0; start <= limit; start += 1000) {
      fake.send(
        frame((enc) => {
          for (let i = start; i < Math.min(start + 1000, limit + 1); i++) {
            encoding.writeVarUint(enc, Frame.Monitor)
            encoding.writeVarString(enc, target)
            encoding.writeVarString(enc, refOf(i))
          }
        }),
      )
    }
    const last = Buffer.from(refOf(limit))
    await waitUntil(
      () => fake.received.some((m) => Buffer.from(m).includes(last)),
      20_000,
      'the Down of the monitor past the limit',
    )
    const down = fake.received.find((m) => Buffer.from(m).includes(last))!
    expect(Buffer.from(down).includes(Buffer.from('system_limit'))).toBe(true)
    // Only that one fired: the others stand.
    const fired = fake.received.filter((m) => Buffer.from(m).includes(Buffer.from('system_limit')))
    expect(fired).toHaveLength(1)
    expect(rec.find(a.name, 'went past its limit')).toHaveLength(1)
    expect(a.stats().overLimit).toBe(1)
    // 100,000 monitors held: a few tens of MiB at most.
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 2 ** 20)
    const echo = spawnEcho(b)
    expect(await a.runtime.call(echo, 'ping', { timeoutMs: 5000 })).toBe('ping')
  })

  it('answers a link past maxLinksPerPeer with an exit system_limit, and keeps serving', async () => {
    const { a, b, fake, rec } = await setup()
    const target = a.runtime.spawn(idle())
    const heapBefore = process.memoryUsage().heapUsed
    const pidOf = (i: number): string => `<${lowNodeId(42)}.${i}>`
    const limit = nodeDefaults.maxLinksPerPeer
    for (let start = 0; start <= limit; start += 1000) {
      fake.send(
        frame((enc) => {
          for (let i = start; i < Math.min(start + 1000, limit + 1); i++) {
            encoding.writeVarUint(enc, Frame.Link)
            encoding.writeVarString(enc, pidOf(i))
            encoding.writeVarString(enc, target)
          }
        }),
      )
    }
    const last = Buffer.from(pidOf(limit))
    await waitUntil(
      () => fake.received.some((m) => Buffer.from(m).includes(last)),
      20_000,
      'the exit for the link past the limit',
    )
    const refused = fake.received.filter((m) =>
      Buffer.from(m).includes(Buffer.from('system_limit')),
    )
    expect(refused).toHaveLength(1)
    expect(Buffer.from(refused[0]!).includes(last)).toBe(true)
    expect(a.runtime.isAlive(target)).toBe(true)
    expect(rec.find(a.name, 'went past its limit')).toHaveLength(1)
    expect(a.stats().overLimit).toBe(1)
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 2 ** 20)
    const echo = spawnEcho(b)
    expect(await a.runtime.call(echo, 'ping', { timeoutMs: 5000 })).toBe('ping')
  })

  it('ignores docs a peer announces past maxDocsPerPeer, and keeps serving', async () => {
    const { a, b, fake, rec } = await setup()
    const limit = nodeDefaults.maxDocsPerPeer
    const sv = Y.encodeStateVector(new Y.Doc())
    const heapBefore = process.memoryUsage().heapUsed
    for (let start = 0; start < limit + 100; start += 1000) {
      fake.send(
        frame((enc) => {
          for (let i = start; i < Math.min(start + 1000, limit + 100); i++) {
            encoding.writeVarUint(enc, Frame.Doc)
            encoding.writeVarString(enc, `junk/${i}`)
            encoding.writeVarUint(enc, DocKind.StateVector)
            encoding.writeVarUint8Array(enc, sv)
          }
        }),
      )
    }
    await waitUntil(
      () => rec.find(a.name, 'more docs than maxDocsPerPeer').length > 0,
      20_000,
      'the cap to be logged',
    )
    await waitUntil(() => a.docs.names().includes(`junk/${limit - 1}`), 20_000, 'the last doc')
    const junk = a.docs.names().filter((n) => n.startsWith('junk/'))
    expect(junk).toHaveLength(limit)
    expect(rec.find(a.name, 'more docs than maxDocsPerPeer')).toHaveLength(1)
    expect(a.stats().overLimit).toBe(100)
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(128 * 2 ** 20)
    const echo = spawnEcho(b)
    expect(await a.runtime.call(echo, 'ping', { timeoutMs: 5000 })).toBe('ping')
  })
})

describe('what a peer leaves behind is forgotten', () => {
  it('forgets a gossiped member never reached, and the docs of a peer gone for forgetAfterMs', async () => {
    const { a, fake } = await setup({ forgetAfterMs: 500 })
    const ghost = {
      nodeId: 'ffffffff-ffff-4fff-bfff-000000000001',
      name: 'ghost',
      url: 'ws://127.0.0.1:1',
    }
    const sv = Y.encodeStateVector(new Y.Doc())
    fake.send(
      frame((enc) => {
        writeMembers(enc, [ghost])
        for (let i = 0; i < 50; i++) {
          encoding.writeVarUint(enc, Frame.Doc)
          encoding.writeVarString(enc, `left-behind/${i}`)
          encoding.writeVarUint(enc, DocKind.StateVector)
          encoding.writeVarUint8Array(enc, sv)
        }
      }),
    )
    const junk = (): string[] => a.docs.names().filter((n) => n.startsWith('left-behind/'))
    await waitUntil(() => junk().length === 50, 5000, 'the peer docs')
    expect(a.members().some((m) => m.name === 'ghost')).toBe(true)
    // Never reached: forgotten after the bound.
    await waitUntil(() => !a.members().some((m) => m.name === 'ghost'), 5000, 'the ghost forgotten')
    // The peer goes: its docs stay for the bound, then go.
    fake.ws.terminate()
    await waitUntil(() => !a.isUp(lowNodeId(42) as NodeId), 5000, 'the peer down')
    expect(junk()).toHaveLength(50)
    await waitUntil(() => junk().length === 0, 5000, 'its docs dropped')
  })
})
