// Rolling upgrades: nodes of two adjacent releases in one cluster. A node of the previous
// release speaks protocol version 2 only (pinned here with `protocolVersions`: on the wire it
// then calls with Monitor, Send and Demonitor frames, as that release did); this release speaks
// 2, 3 and 4, and a connection speaks the newest both know. A worker's state carries its class's
// `stateVersion`, and `migrateState` turns an older one into the new shape; a name is placed only
// on nodes whose sworm has its worker type.
import { describe, expect, it } from 'vitest'
import { Actor as PlainActor, nodeOf, silentLogger } from '@swormjs/actor'
import { PROTOCOL_VERSION, startNode as startClusterNode, type Node } from '@swormjs/cluster'
import { Actor, Sworm, runSworm } from '@swormjs/sworm'
import { HandoffCounter, TEST_COOKIE, waitUntil } from '../../src/index.js'

const base = { cookie: TEST_COOKIE, logger: silentLogger, host: '127.0.0.1' }
const OLD = { protocolVersions: { min: 2, max: 2 } }

class Echo extends PlainActor {
  override handleCall(msg: unknown): unknown {
    return msg
  }
}

/** The previous release's counter: its state is a bare number. */
class CounterV1 extends HandoffCounter {}

/** This release's: its state is `{ n, from }`, and it takes a v1 number through migrateState. */
class CounterV2 extends Actor {
  static override stateVersion = 2
  static override migrateState(state: unknown, fromVersion: number): unknown {
    return fromVersion < 2 ? { n: state as number, from: fromVersion } : state
  }
  n = 0
  from = 2
  override handleCall(msg: 'inc' | 'get' | 'from'): unknown {
    if (msg === 'inc') this.n++
    return msg === 'from' ? this.from : this.n
  }
  override beginHandoff(): { n: number; from: number } {
    return { n: this.n, from: this.from }
  }
  override endHandoff(s: { n: number; from: number }): void {
    this.n = s.n
    this.from = s.from
  }
}

/** A type only this release has. */
class Timer extends Actor {
  override handleCall(): string {
    return 'tick'
  }
}

// The same sworm, as each release declares it (one name, `Rooms`, on every node).
const RoomsV1 = class Rooms extends Sworm {
  static override actors = { Counter: CounterV1 }
  static override options = { handoff: true, replicas: 1 }
}
const RoomsV2 = class Rooms extends Sworm {
  static override actors = { Counter: CounterV2, Timer }
  static override options = { handoff: true, replicas: 1 }
}

/** Nodes `a` and `b` of this release and `old`, pinned to version 2, meshed; pushed to `nodes`. */
async function threeNodes(nodes: Node[]): Promise<[Node, Node, Node]> {
  const a = await startClusterNode({ ...base, name: 'a' })
  nodes.push(a)
  const old = await startClusterNode({ ...base, ...OLD, name: 'old', seeds: [a.url] })
  nodes.push(old)
  const b = await startClusterNode({ ...base, name: 'b', seeds: [a.url] })
  nodes.push(b)
  await meshed(nodes)
  return [a, old, b]
}

async function meshed(nodes: Node[]): Promise<void> {
  await waitUntil(
    () => nodes.every((x) => nodes.every((y) => x === y || x.isUp(y.id))),
    5000,
    'the mesh',
  )
}

describe('rolling upgrades', () => {
  it('connections speak the newest version both know; calls work both ways and leave no watch', async () => {
    const nodes: Node[] = []
    try {
      const [a, old, b] = await threeNodes(nodes)
      expect(a.protocolOf(old.id)).toBe(2)
      expect(old.protocolOf(a.id)).toBe(2)
      expect(a.protocolOf(b.id)).toBe(PROTOCOL_VERSION)
      expect(PROTOCOL_VERSION).toBe(4)
      const echoes = await Promise.all(nodes.map((n) => n.runtime.start(Echo, undefined)))
      for (const from of nodes) {
        for (const [i, to] of nodes.entries()) {
          if (from === to) continue
          expect(await from.runtime.call(echoes[i]!, { from: from.name })).toEqual({
            from: from.name,
          })
        }
      }
      // The old link carried a monitor and a send per call, and its caller took the monitor
      // back: nothing is left watched on any node.
      await waitUntil(() => nodes.every((n) => n.stats().watchesForPeers === 0))
      // A node that speaks version 3 only refuses the old one, and meets the others.
      const next = await startClusterNode({
        ...base,
        name: 'next',
        seeds: [a.url],
        protocolVersions: { min: 3, max: 3 },
      })
      nodes.push(next)
      await waitUntil(() => next.isUp(a.id) && next.isUp(b.id))
      await new Promise((r) => setTimeout(r, 300))
      expect(next.isUp(old.id)).toBe(false)
    } finally {
      for (const n of nodes.reverse()) await n.stop()
    }
  })

  it('a sworm runs across both releases: states migrate, new types stay on new nodes, copies cross', async () => {
    const nodes: Node[] = []
    try {
      const [a, old, b] = await threeNodes(nodes)
      const onA = await runSworm(a, RoomsV2)
      const onOld = await runSworm(old, RoomsV1)
      await runSworm(b, RoomsV2)
      await waitUntil(() => nodes.every((n) => RoomsV2.on(n).nodes().length === 3))

      // Counters from the old node, three counts each; some land on the old node.
      const names = Array.from({ length: 24 }, (_, i) => `c${i}`)
      for (const name of names) {
        await onOld.registerName(name, CounterV1)
        for (let k = 0; k < 3; k++) await onOld.call(name, 'inc')
      }
      const onOldNode = names.filter((n) => nodeOf(onA.whereis(n)!) === old.id)
      expect(onOldNode.length).toBeGreaterThan(0)

      // A type only this release has is placed only where it runs.
      for (let i = 0; i < 20; i++) {
        const pid = await onA.registerName(`t${i}`, Timer)
        expect(nodeOf(pid)).not.toBe(old.id)
      }

      // A new node crashes: its counters come back from their copies (some held by the old
      // node, in the bytes it reads), counts intact.
      const onB = names.filter((n) => nodeOf(onA.whereis(n)!) === b.id)
      await b.kill()
      nodes.splice(nodes.indexOf(b), 1)
      let checked = 0
      for (const name of onB) {
        await waitUntil(() => {
          const pid = onA.whereis(name)
          return pid !== undefined && nodeOf(pid) !== b.id
        }, 10_000)
        // One adopted by the old node gets a state of the new shape (see the README's note on
        // downgrades): only those back on a node of this release are read here.
        if (nodeOf(onA.whereis(name)!) !== a.id) continue
        expect(await onA.call(name, 'get')).toBe(3)
        checked++
      }
      expect(checked).toBeGreaterThan(0)

      // The old node is upgraded away: its counters move to `a`, where the v2 class takes the
      // v1 number through migrateState.
      await old.stop()
      nodes.splice(nodes.indexOf(old), 1)
      for (const name of onOldNode) {
        await waitUntil(() => nodeOf(onA.whereis(name) ?? ('x' as never)) === a.id, 10_000)
        expect(await onA.call(name, 'get')).toBe(3)
        expect(await onA.call(name, 'from')).toBe(0)
        expect(await onA.call(name, 'inc')).toBe(4)
      }
    } finally {
      for (const n of nodes.reverse()) await n.stop()
    }
  })
})
