// A node that goes down: its names stop resolving on the survivors at once (reason nodedown);
// a node that was only cut off brings them back with the heal; the replica of a node down for
// forgetAfterMs is dropped.
import { describe, expect, it } from 'vitest'
import { pause, proxiedCluster, testCluster, waitUntil } from '../../src/index.js'
import { CONVERGE_MS, FAST, agreeOn, idle, recordEvents, startRegistries } from './helpers.js'

describe('nodes going down', () => {
  it("drops a killed node's names on the survivors within 1 s", async () => {
    await using cluster = await testCluster(3, FAST)
    const regs = await startRegistries(cluster.nodes)
    const names = Array.from({ length: 20 }, (_, k) => `c${k}`)
    for (const name of names) await regs[2]!.register(name, idle(cluster.node(2)))
    const survivor = idle(cluster.node(0))
    await regs[0]!.register('a', survivor, undefined, { awaitReplication: true })
    // n2's names came to n0 and n1 over their own links, in no order with n0's 'a'.
    await waitUntil(
      () => regs.every((r) => r.count() === 21),
      CONVERGE_MS,
      'every name on every node',
    )
    const seen = regs.slice(0, 2).map(recordEvents)

    const killedAt = Date.now()
    await cluster.node(2).kill()
    await waitUntil(
      () => regs.slice(0, 2).every((r) => names.every((n) => r.whereis(n) === undefined)),
      1000,
      "the killed node's names to go",
    )
    console.info(`names of a killed node gone in ${Date.now() - killedAt} ms`)
    for (const [i, events] of seen.entries()) {
      expect(events, `events on n${i}`).toHaveLength(20)
      for (const e of events) expect(e).toMatchObject({ event: 'unregister', reason: 'nodedown' })
    }
    for (const reg of regs.slice(0, 2)) {
      expect(reg.count()).toBe(1)
      expect(reg.whereis('a')).toBe(survivor)
    }
    // The names are free for the survivors to take.
    const next = idle(cluster.node(1))
    await regs[1]!.register('c0', next)
    await waitUntil(() => regs[0]!.whereis('c0') === next, CONVERGE_MS, 'c0 taken again')
  })

  it("settles thousands of a killed node's names, and its names are free at once", async () => {
    await using cluster = await testCluster(2, FAST)
    const [a, b] = await startRegistries(cluster.nodes)
    const names = Array.from({ length: 3000 }, (_, k) => `c${k}`)
    for (const name of names) await b!.register(name, idle(cluster.node(1)))
    await waitUntil(() => a!.count() === names.length, CONVERGE_MS, 'the names on n0')
    const events = recordEvents(a!)
    // Right as n1 goes down, before its names are all settled: taken on n0 at once.
    const taken = new Promise<unknown>((resolve) => {
      const off = cluster.node(0).on('nodeDown', () => {
        off()
        resolve(a!.register('c2999', idle(cluster.node(0))).then(() => a!.whereis('c2999')))
      })
    })

    await cluster.node(1).kill()
    expect(await taken).toBeDefined()
    await waitUntil(() => a!.count() === 1, CONVERGE_MS, "the killed node's names to go")
    const gone = events.filter((e) => e.event === 'unregister')
    expect(gone).toHaveLength(names.length)
    for (const e of gone) expect(e).toMatchObject({ reason: 'nodedown' })
    expect(new Set(gone.map((e) => e.name)).size).toBe(names.length)
    expect(a!.registered().map(([name]) => name)).toEqual(['c2999'])
  })

  it('hides the names of a cut-off node at once and keeps its replica until the heal', async () => {
    await using cluster = await proxiedCluster(3, FAST)
    const regs = await startRegistries(cluster.nodes)
    const pid = idle(cluster.node(2))
    await regs[2]!.register('c', pid, undefined, { awaitReplication: true })
    const seen = recordEvents(regs[0]!)
    await cluster.split([2])
    expect(regs[0]!.whereis('c')).toBeUndefined()
    expect(seen).toEqual([{ event: 'unregister', name: 'c', pid, reason: 'nodedown' }])
    // Still counted as a registry node (its replica is kept), the default forgetAfterMs being long.
    expect(regs[0]!.stats().nodes).toBe(3)
    await cluster.heal()
    await waitUntil(() => agreeOn(regs, 'c'), CONVERGE_MS, 'c back everywhere')
    expect(seen.at(-1)).toEqual({ event: 'register', name: 'c', pid, meta: undefined })
  })

  it('drops the replica of a node down for forgetAfterMs, and takes it back when it returns', async () => {
    await using cluster = await proxiedCluster(3, FAST)
    const regs = await startRegistries(cluster.nodes, 'r', { forgetAfterMs: 300 })
    const pid = idle(cluster.node(2))
    await regs[2]!.register('c', pid, { v: 1 }, { awaitReplication: true })
    const replicaOfC = (i: number): string[] =>
      cluster
        .node(i)
        .docs.names(cluster.node(2).id)
        .filter((d) => d.startsWith('registry/r/'))
    expect(replicaOfC(0)).toHaveLength(1)

    const cutAt = Date.now()
    await cluster.split([2])
    // Not before forgetAfterMs...
    await pause(100)
    expect(replicaOfC(0)).toHaveLength(1)
    // ...but soon after it.
    await waitUntil(
      () => replicaOfC(0).length === 0 && replicaOfC(1).length === 0,
      2000,
      'the replicas of n2 to be dropped',
    )
    expect(Date.now() - cutAt).toBeGreaterThanOrEqual(300)
    expect(regs[0]!.stats().nodes).toBe(2)
    expect(regs[1]!.stats().nodes).toBe(2)
    // n2 forgot nobody's names meanwhile: it holds its own and still resolves them.
    expect(regs[2]!.whereis('c')).toBe(pid)

    await cluster.heal()
    await waitUntil(
      () => agreeOn(regs, 'c') && regs.every((r) => r.stats().nodes === 3),
      CONVERGE_MS,
      "n2's names and replica back",
    )
    expect(regs[0]!.meta('c')).toEqual({ v: 1 })
    expect(replicaOfC(0)).toHaveLength(1)
  })
})
