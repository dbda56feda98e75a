// `persist` across in-process nodes: after every node stopped (gracefully, or killed), the
// same nodes started again with the same directories bring back every name, each with its
// newest acknowledged state; and the option's errors.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { nodeOf, silentLogger } from '@swormjs/actor'
import { ConfigError, Sworm, startNode } from '@swormjs/sworm'
import { TEST_COOKIE, waitUntil } from '../../src/index.js'
import { MergingCounter } from './mergingCounter.js'
import { swormCluster } from './swormCluster.js'

const root = mkdtempSync(join(tmpdir(), 'sworm-persist-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

const Counter = MergingCounter

/** A sworm kept under `dir` (each node in its own `{node}` directory). */
function kept(dir: string): typeof Sworm {
  return class Kept extends Sworm {
    static override actors = { Counter }
    static override options = { handoff: true, persist: { dir: join(dir, '{node}') } }
  }
}

const NAMES = Array.from({ length: 30 }, (_, i) => `p${i}`)

/** Two nodes; name i counted up to i + 1; then `end` stops them all. */
async function countThenEnd(S: typeof Sworm, end: 'stop' | 'kill'): Promise<void> {
  const cluster = await swormCluster(2, [S])
  const sworm = S.on(cluster.at(0))
  for (const [i, name] of NAMES.entries()) {
    await sworm.registerName(name, Counter)
    for (let k = 0; k <= i; k++) await sworm.call(name, 'inc')
  }
  if (end === 'stop') await Promise.all(cluster.nodes.map((n) => n.stop()))
  else await Promise.all(cluster.nodes.map((n) => n.kill()))
}

async function countsAfterRestart(S: typeof Sworm): Promise<number[]> {
  await using cluster = await swormCluster(2, [S])
  const sworm = S.on(cluster.at(1))
  await waitUntil(() => sworm.registered().length === NAMES.length, 10_000, 'every name back')
  return Promise.all(NAMES.map((name) => sworm.call<number>(name, 'get')))
}

describe('persist', () => {
  it('brings every name back with its count after every node stopped gracefully', async () => {
    const S = kept(join(root, 'graceful'))
    await countThenEnd(S, 'stop')
    expect(await countsAfterRestart(S)).toEqual(NAMES.map((_, i) => i + 1))
  })

  it('brings every name back with its count after every node was killed', async () => {
    const S = kept(join(root, 'killed'))
    await countThenEnd(S, 'kill')
    expect(await countsAfterRestart(S)).toEqual(NAMES.map((_, i) => i + 1))
  })

  it('forgets an unregistered name', async () => {
    const S = kept(join(root, 'unregistered'))
    {
      await using cluster = await swormCluster(2, [S])
      const sworm = S.on(cluster.at(0))
      await sworm.registerName('gone', Counter)
      await sworm.registerName('stays', Counter)
      await sworm.call('stays', 'inc')
      await sworm.unregisterName('gone')
    }
    await using cluster = await swormCluster(2, [S])
    const sworm = S.on(cluster.at(0))
    await waitUntil(() => sworm.whereis('stays') !== undefined, 10_000, 'stays back')
    expect(await sworm.call('stays', 'get')).toBe(1)
    expect(sworm.whereis('gone')).toBeUndefined()
  })

  it('does not bring back, on a node that restarts alone, the names the others adopted meanwhile', async () => {
    const S = kept(join(root, 'alone'))
    await using cluster = await swormCluster(3, [S])
    const sworm = S.on(cluster.at(0))
    for (const name of NAMES) {
      await sworm.registerName(name, Counter)
      await sworm.call(name, 'inc')
    }
    const victim = cluster.at(2)
    const itsNames = NAMES.filter((n) => nodeOf(sworm.whereis(n)!) === victim.id)
    expect(itsNames.length).toBeGreaterThan(0)
    await victim.kill()
    // Adopted on the others from their init args (no replicas): counted again from zero.
    await waitUntil(
      () =>
        itsNames.every(
          (n) => (sworm.whereis(n) ?? `<x@${victim.id}>`).includes(victim.id) === false,
        ),
      10_000,
      'its names adopted',
    )
    for (const n of itsNames) expect(await sworm.call(n, 'inc')).toBe(1)
    // The same node comes back on its directory: its names run elsewhere now, once each.
    const back = await startNode({
      name: victim.name,
      cookie: TEST_COOKIE,
      logger: silentLogger,
      children: [S],
      seeds: [cluster.at(0).url],
    })
    try {
      const mine = S.on(back)
      await waitUntil(() => mine.registered().length === NAMES.length, 10_000, 'every name seen')
      for (const n of itsNames) expect(await mine.call(n, 'get')).toBe(1)
      expect(mine.supervisor.stats().local).toBe(0)
    } finally {
      await back.stop()
    }
  })

  it('refuses persist without handoff, or without a directory, naming the sworm and the key', async () => {
    class NoHandoff extends Sworm {
      static override actors = { Counter }
      static override options = { persist: { dir: root } }
    }
    class NoDir extends Sworm {
      static override actors = { Counter }
      static override options = { handoff: true, persist: { directory: root } } as never
    }
    await expect(swormCluster(1, [NoHandoff])).rejects.toSatisfy(
      (e) =>
        ConfigError.is(e) &&
        (e as Error).message.includes('NoHandoff.options.persist: persist needs handoff: true'),
    )
    await expect(swormCluster(1, [NoDir])).rejects.toSatisfy(
      (e) =>
        ConfigError.is(e) &&
        (e as Error).message.includes('NoDir.options.persist: expected an object { "dir"'),
    )
  })
})
