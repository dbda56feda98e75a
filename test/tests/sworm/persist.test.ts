// `persist` across in-process nodes: after every node stopped (gracefully, or killed), the
// same nodes started again with the same directories bring back every name, each with its
// newest acknowledged state; and the option's errors.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { Actor, ConfigError, Sworm } from 'sworm'
import { waitUntil } from '../../src/index.js'
import { swormCluster } from './swormCluster.js'

const root = mkdtempSync(join(tmpdir(), 'sworm-persist-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

class Counter extends Actor<undefined> {
  n = 0
  override handleCall(msg: unknown): number {
    return msg === 'inc' ? ++this.n : this.n
  }
  override beginHandoff(): number {
    return this.n
  }
  override endHandoff(n: number): void {
    this.n = n
  }
}

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
