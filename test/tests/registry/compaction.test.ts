// Compaction: under churn a node moves its doc to a new generation holding only live entries,
// the other nodes switch without a name ever blinking out, and the dead weight stays bounded.
import { describe, expect, it } from 'vitest'
import type { Pid } from '@swormjs/actor'
import type { Registry } from '@swormjs/registry'
import { proxiedCluster, testCluster, waitUntil } from '../../src/index.js'
import { CONVERGE_MS, FAST, idle, recordEvents, startRegistries } from './helpers.js'

const COMPACT_MIN_DEAD = 100

/** The dead weight a registry may hold before it compacts. */
function threshold(reg: Registry): number {
  return Math.max(COMPACT_MIN_DEAD, reg.stats().ownLive)
}

describe('compaction', () => {
  it('keeps every live name resolving on the other nodes while a churning node compacts', async () => {
    await using cluster = await testCluster(3)
    const regs = await startRegistries(cluster.nodes, 'r', { compactMinDead: COMPACT_MIN_DEAD })
    const [a, b, c] = regs as [Registry, Registry, Registry]
    const n0 = cluster.node(0)

    // Names that stay: 50 on the churning node, 10 on another.
    const stable = new Map<string, Pid>()
    for (let k = 0; k < 50; k++) {
      const pid = idle(n0)
      await a.register(`stable-${k}`, pid, { rev: 0 })
      stable.set(`stable-${k}`, pid)
    }
    for (let k = 0; k < 10; k++) {
      const pid = idle(cluster.node(1))
      await b.register(`other-${k}`, pid)
      stable.set(`other-${k}`, pid)
    }
    await waitUntil(() => regs.every((r) => r.count() === 60), CONVERGE_MS, 'the stable names')
    const seen = [b, c].map(recordEvents)
    const stays = (name: unknown): boolean => typeof name === 'string' && stable.has(name)

    // Every few milliseconds, every stable name must resolve to its process on b and c.
    const misses: string[] = []
    const check = setInterval(() => {
      for (const [i, reg] of [b, c].entries()) {
        for (const [name, pid] of stable) {
          if (reg.whereis(name) !== pid) misses.push(`${name} on ${i === 0 ? 'n1' : 'n2'}`)
        }
      }
    }, 5)

    try {
      const startGen = a.stats().generation
      for (let cycle = 1; cycle <= 30; cycle++) {
        // The same 60 names each cycle: registering one again overwrites its tombstone.
        const churn: Pid[] = []
        for (let k = 0; k < 60; k++) {
          const pid = idle(n0)
          churn.push(pid)
          await a.register(`churn-${k}`, pid, { cycle })
        }
        await waitUntil(
          () => a.stats().ownDead <= threshold(a),
          1000,
          'compaction after registering',
        )
        for (let k = 0; k < 50; k += 7) a.updateMeta(`stable-${k}`, { rev: cycle })
        for (const [k, pid] of churn.entries()) {
          if (k % 2 === 0) n0.runtime.exit(pid, 'kill')
          else expect(await a.unregister(`churn-${k}`)).toBe(true)
        }
        await waitUntil(() => a.stats().ownDead <= threshold(a), 1000, 'compaction after removing')
        await waitUntil(
          () => [b, c].every((r) => r.count() === 60),
          CONVERGE_MS,
          `the churn of cycle ${cycle} gone on n1 and n2`,
        )
      }
      expect(a.stats().generation).toBeGreaterThan(startGen + 5)
      console.info(`generation ${a.stats().generation} after 30 cycles, ${a.stats().ownDead} dead`)
    } finally {
      clearInterval(check)
    }

    expect(misses.slice(0, 5)).toEqual([])
    for (const [i, events] of seen.entries()) {
      expect(
        events.filter((e) => stays(e.name)),
        `events of stable names on n${i + 1}`,
      ).toEqual([])
    }
    for (const reg of regs) {
      expect(reg.count()).toBe(60)
      for (const [name, pid] of stable) expect(reg.whereis(name)).toBe(pid)
    }
    await waitUntil(
      () => [b, c].every((r) => (r.meta('stable-0') as { rev: number }).rev === 30),
      CONVERGE_MS,
      'the last meta update on n1 and n2',
    )
    expect(b.meta('stable-1')).toEqual({ rev: 0 })
    // The other nodes hold only the churning node's current generation.
    const gen = a.stats().generation
    for (const node of cluster.nodes.slice(1)) {
      expect(node.docs.names(n0.id).filter((d) => d.startsWith('registry/r/'))).toEqual([
        `registry/r/${n0.id}/${gen}`,
      ])
    }
  })

  it('keeps the dead weight of a node under its threshold whatever the churn', async () => {
    await using cluster = await testCluster(2)
    const [a, b] = await startRegistries(cluster.nodes, 'r', { compactMinDead: COMPACT_MIN_DEAD })
    const n0 = cluster.node(0)
    const pid = idle(n0)
    await a!.register('keep', pid)
    for (let k = 0; k < 2000; k++) {
      const p = idle(n0)
      await a!.register(`k${k % 150}`, p)
      await a!.join(`g${k % 30}`, p)
      if (k % 3 === 0) await a!.leave(`g${k % 30}`, p)
      n0.runtime.exit(p, 'kill')
      if (k % 100 === 99) {
        await waitUntil(() => a!.stats().ownDead <= threshold(a!), 1000, 'compaction')
      }
    }
    await waitUntil(() => a!.stats().ownDead <= threshold(a!), 1000, 'compaction')
    expect(a!.stats().generation).toBeGreaterThan(10)
    await waitUntil(() => b!.count() === 1, CONVERGE_MS, 'n1 to see only keep')
    expect(b!.whereis('keep')).toBe(pid)
    expect(b!.members('g0')).toEqual([])
    // The doc the others replicate is as small as its live content, not its history.
    const docName = `registry/r/${n0.id}/${a!.stats().generation}`
    expect(cluster.node(1).docs.encodedSize(docName)).toBeLessThan(20_000)
  })

  it('brings the others to the generation a node compacted to while it was cut off', async () => {
    await using cluster = await proxiedCluster(3, FAST)
    const regs = await startRegistries(cluster.nodes, 'r', { compactMinDead: COMPACT_MIN_DEAD })
    const [a, b] = regs as [Registry, Registry, Registry]
    const n0 = cluster.node(0)
    const before = idle(n0)
    const gone = idle(n0)
    await a.register('before', before)
    await a.register('gone', gone, undefined, { awaitReplication: true })
    await cluster.split([0])
    const startGen = a.stats().generation
    n0.runtime.exit(gone, 'kill')
    for (let k = 0; k < 300; k++) {
      const p = idle(n0)
      await a.register(`churn-${k % 20}`, p)
      n0.runtime.exit(p, 'kill')
    }
    const during = idle(n0)
    await a.register('during', during)
    await waitUntil(() => a.stats().generation > startGen, 1000, 'a compaction on n0')

    await cluster.heal()
    await waitUntil(
      () => regs.every((r) => r.whereis('during') === during && r.whereis('gone') === undefined),
      CONVERGE_MS,
      "n0's names as they are now, everywhere",
    )
    for (const reg of regs) {
      expect(reg.whereis('before')).toBe(before)
      expect(reg.count()).toBe(2)
    }
    // Only n0's current generation is kept: the one it had before the cut is dropped.
    const gen = a.stats().generation
    await waitUntil(
      () =>
        cluster.nodes
          .slice(1)
          .every(
            (node) =>
              node.docs.names(n0.id).filter((d) => d.startsWith('registry/r/')).length === 1,
          ),
      CONVERGE_MS,
      'one generation of n0 on n1 and n2',
    )
    for (const node of cluster.nodes.slice(1)) {
      expect(node.docs.names(n0.id).filter((d) => d.startsWith('registry/r/'))).toEqual([
        `registry/r/${n0.id}/${gen}`,
      ])
    }
    expect(b.stats().nodes).toBe(3)
  })

  it('carries into the new generation what is written while it copies', async () => {
    await using cluster = await testCluster(2)
    const [a, b] = (await startRegistries(cluster.nodes, 'r')) as [Registry, Registry]
    const n0 = cluster.node(0)
    const pids: Pid[] = []
    for (let k = 0; k < 300; k++) {
      pids.push(idle(n0))
      await a.register(`k${k}`, pids[k]!, { rev: 0 })
    }
    await waitUntil(() => b.count() === 300, CONVERGE_MS, 'the names on n1')
    const gen = a.stats().generation

    const compacted = a.compact()
    // The first step has copied the names; these land in the old generation meanwhile.
    expect(await a.unregister('k0')).toBe(true)
    const fresh = idle(n0)
    await a.register('fresh', fresh)
    a.updateMeta('k1', { rev: 1 })
    await compacted

    expect(a.stats().generation).toBe(gen + 1)
    const docName = `registry/r/${n0.id}/${gen + 1}`
    const followed = (): string[] =>
      cluster
        .node(1)
        .docs.names(n0.id)
        .filter((d) => d.startsWith('registry/r/'))
    await waitUntil(
      () => followed().length === 1 && followed()[0] === docName,
      CONVERGE_MS,
      'n1 to follow the new generation only',
    )
    for (const reg of [a, b]) {
      expect(reg.whereis('k0')).toBeUndefined()
      expect(reg.whereis('fresh')).toBe(fresh)
      expect(reg.meta('k1')).toEqual({ rev: 1 })
      expect(reg.count()).toBe(300)
      for (let k = 1; k < 300; k++) expect(reg.whereis(`k${k}`)).toBe(pids[k])
    }
    // The new generation holds the live names only.
    const names = cluster.node(1).docs.get(docName)!.getMap('names')
    expect(names.size).toBe(300)
    expect(names.has('sk0')).toBe(false)
  })
})
