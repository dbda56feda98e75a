// Client-only nodes (`startNode({ clients: [Rooms] })`): a node that uses a sworm without running
// its workers calls, casts, looks up, registers names and joins groups; no name is ever placed
// on it, its stop moves nothing, and it has no say in a quorum.
import { describe, expect, it } from 'vitest'
import { Actor, nodeOf, silentLogger } from '@swormjs/actor'
import { BadConfig, Sworm, startNode, type SwormNode } from '@swormjs/sworm'
import { TEST_COOKIE, waitUntil } from '../../src/index.js'

class Room extends Actor {
  said: string[] = []
  override handleCall(msg: string): string[] {
    if (msg !== 'get') this.said.push(msg)
    return this.said
  }
  override handleCast(msg: string): void {
    this.said.push(msg)
  }
}

/** Keeps what is published to it. */
class Listener extends Actor {
  got: unknown[] = []
  override handleInfo(msg: unknown): void {
    this.got.push(msg)
  }
  override handleCall(): unknown[] {
    return this.got
  }
}

class Rooms extends Sworm {
  static override actors = { Room }
  static override options = { distribution: 'quorum' as const }
}

const base = { cookie: TEST_COOKIE, logger: silentLogger, host: '127.0.0.1' }

describe('client-only nodes', () => {
  it('call, cast, look up, register and join groups of a sworm they do not run', async () => {
    const nodes: SwormNode[] = []
    try {
      const a = await startNode({ ...base, name: 'a', children: [Rooms] })
      nodes.push(a)
      nodes.push(await startNode({ ...base, name: 'b', seeds: [a.url], children: [Rooms] }))
      const client = await startNode({ ...base, name: 'c', seeds: [a.url], clients: [Rooms] })
      nodes.push(client)
      const hosts = nodes.slice(0, 2)
      for (const n of nodes) await waitUntil(() => n.nodes().length === 2)
      // The client is in no node's directory, its own included; hosts count two members.
      for (const n of nodes) await waitUntil(() => Rooms.on(n).nodes().length === 2)
      expect(Rooms.on(client).nodes().sort()).toEqual(hosts.map((n) => n.id).sort())

      const rooms = Rooms.on(client)
      for (let i = 0; i < 20; i++) {
        const pid = await rooms.registerName(`r${i}`, Room)
        expect(nodeOf(pid)).not.toBe(client.id)
      }
      expect(await rooms.call('r0', 'hi')).toEqual(['hi'])
      rooms.cast('r0', 'there')
      expect(await rooms.call('r0', 'get')).toEqual(['hi', 'there'])
      expect(rooms.whereis('r1')).toBeDefined()
      expect(rooms.find('r1')?.name).toMatch(/^[ab]$/)
      expect(await rooms.whereisOrRegisterName('r1', Room)).toBe(rooms.whereis('r1'))

      // A process of the client joins a group; a host publishes to it.
      const listener = await client.runtime.start(Listener, undefined)
      await rooms.join('lobby', listener)
      await waitUntil(() => Rooms.on(a).members('lobby').length === 1)
      expect(Rooms.on(a).publish('lobby', 'welcome')).toBe(1)
      await expect
        .poll(() => client.runtime.call(listener, 'get'), { timeout: 5000 })
        .toEqual(['welcome'])

      // The client leaves: nothing was there to move; every name still runs.
      await client.stop()
      nodes.pop()
      for (let i = 0; i < 20; i++) expect(Rooms.on(a).whereis(`r${i}`)).toBeDefined()
    } finally {
      for (const n of nodes.reverse()) await n.stop()
    }
  })

  it('a client has no say in a quorum', async () => {
    const nodes: SwormNode[] = []
    try {
      const a = await startNode({ ...base, name: 'a', children: [Rooms] })
      nodes.push(a)
      const b = await startNode({ ...base, name: 'b', seeds: [a.url], children: [Rooms] })
      nodes.push(b)
      nodes.push(await startNode({ ...base, name: 'c', seeds: [a.url], clients: [Rooms] }))
      for (const n of nodes) await waitUntil(() => n.nodes().length === 2)
      await waitUntil(() => Rooms.on(a).supervisor.stats().members === 2)
      expect(Rooms.on(a).supervisor.stats().quorum).toBe(true)
      // b crashes: a and the client are up, but a alone is 1 of the 2 hosts, no majority
      // (counted, the client would make it 2 of 3).
      await b.kill()
      await waitUntil(() => !a.isUp(b.id))
      expect(Rooms.on(a).supervisor.stats().quorum).toBe(false)
    } finally {
      for (const n of nodes.reverse()) await n.stop()
    }
  })

  it('a sworm given both as a child and a client is a BadConfig', async () => {
    await expect(
      startNode({ ...base, children: [Rooms], clients: [Rooms] }),
    ).rejects.toBeInstanceOf(BadConfig)
  })
})
