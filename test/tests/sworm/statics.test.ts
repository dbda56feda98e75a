// The static API binds to a node: inside a process, that process's node (also after an await);
// outside any process, the one node of this OS process, and a typed error when there are several.
import { describe, expect, it } from 'vitest'
import { silentLogger } from '@swormjs/actor'
import { Actor, NoNodeContext, Sworm, startNode } from '@swormjs/sworm'
import { TEST_COOKIE, waitUntil } from '../../src/index.js'

/** Answers with what the static API says from inside a worker, after an await. */
class Asker extends Actor<void> {
  override async handleCall(msg: string): Promise<unknown> {
    await new Promise((r) => setTimeout(r, 1))
    return { whereis: Lobby.whereis(msg) ?? null, node: this.runtime.nodeId }
  }
}

class Lobby extends Sworm {
  static override actors = { Asker }
}

describe('sworm statics', () => {
  it('bind to the one node of the process outside any process', async () => {
    await using node = await startNode({
      cookie: TEST_COOKIE,
      logger: silentLogger,
      children: [Lobby],
    })
    const pid = await Lobby.registerName('a', Asker)
    expect(Lobby.whereis('a')).toBe(pid)
    expect(Lobby.registered()).toEqual([['a', pid]])
    expect(await Lobby.call('a', 'a')).toEqual({ whereis: pid, node: node.id })
  })

  it('fail with NoNodeContext outside a process when several nodes run, and bind inside one', async () => {
    await using a = await startNode({
      cookie: TEST_COOKIE,
      logger: silentLogger,
      children: [Lobby],
    })
    await using b = await startNode({
      cookie: TEST_COOKIE,
      logger: silentLogger,
      children: [Lobby],
      seeds: [a.url],
    })
    await waitUntil(
      () => a.isUp(b.id) && Lobby.on(a).supervisor.stats().members === 2,
      5000,
      'the mesh',
    )
    expect(() => Lobby.whereis('x')).toThrow(NoNodeContext)
    const pid = await Lobby.on(a).registerName('x', Asker)
    // The worker's own node answers from inside it, after an await.
    const asked = await a.runtime.call<{ whereis: string; node: string }>(pid, 'x')
    expect(asked.whereis).toBe(pid)
    expect(a.id === asked.node || b.id === asked.node).toBe(true)
  })
})
