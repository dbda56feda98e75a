// find and exec (supervisorring): `find(id)` names the node that runs a child (or would run it);
// `exec(id, fn)` runs `fn` on that node with the child's pid: a local function when the child is
// here, a function registered in `functions` (under one name everywhere) when it is elsewhere.
import { beforeEach, describe, expect, it } from 'vitest'
import { BadArgument, NotFound, nodeOf, type NodeId } from '@swormjs/actor'
import type { ExecFn } from '@swormjs/supervisor'
import { rejectionOf, testCluster, waitUntil } from '../../src/index.js'
import {
  FAST,
  SETTLE_MS,
  childrenById,
  idsPlacedOn,
  resetCensus,
  startSupervisors,
  worker,
} from './helpers.js'

beforeEach(resetCensus)

describe('find and exec', () => {
  it('finds the node that runs a child, from every node', async () => {
    await using cluster = await testCluster(3)
    const sups = await startSupervisors(cluster.nodes)
    const ids = Array.from({ length: 30 }, (_, i) => `found-${i}`)
    const pids = await Promise.all(ids.map((id, i) => sups[i % 3]!.startChild(worker(id))))
    await waitUntil(
      () => sups.every((s) => s.countChildren().active === 30),
      SETTLE_MS,
      'replication',
    )
    ids.forEach((id, i) => {
      for (const s of sups) expect(s.find(id)).toBe(nodeOf(pids[i]!))
    })
    // A child that does not run: the node it would be placed on, the same everywhere.
    const where = sups[0]!.find('not-started', 'Worker')
    expect(cluster.nodes.map((n) => n.id)).toContain(where)
    expect(sups.map((s) => s.find('not-started', 'Worker'))).toEqual([where, where, where])
    expect(sups[0]!.find('x', 'NoSuchType')).toBeUndefined()
  })

  it('follows a child to its new node after failover', async () => {
    await using cluster = await testCluster(3, FAST)
    const sups = await startSupervisors(cluster.nodes)
    const [id] = idsPlacedOn(sups[0]!, cluster.node(2).id, 1, 'follow')
    await sups[0]!.startChild(worker(id!))
    await waitUntil(
      () => sups[0]!.find(id!) === cluster.node(2).id && childrenById(sups[1]!).has(id!),
      SETTLE_MS,
      'replication',
    )
    await cluster.node(2).kill()
    await waitUntil(
      () => {
        const at = sups[0]!.find(id!)
        return at !== cluster.node(2).id && childrenById(sups[0]!).get(id!)?.node === at
      },
      SETTLE_MS,
      'the child to run elsewhere',
    )
    expect(sups[1]!.find(id!)).toBe(sups[0]!.find(id!))
  })

  it('runs a local function on the node that runs the child', async () => {
    await using cluster = await testCluster(2)
    const sups = await startSupervisors(cluster.nodes)
    const [id] = idsPlacedOn(sups[0]!, cluster.node(0).id, 1, 'here')
    const pid = await sups[0]!.startChild(worker(id!))
    let seen: { id: string; pid: string } | undefined
    const result = await sups[0]!.exec(
      id!,
      async (child, args) => {
        seen = child
        return sups[0]!.node.runtime.call(child.pid, 'whoami').then((r) => ({ r, args }))
      },
      42,
    )
    expect(seen).toEqual({ id, pid })
    expect(result).toEqual({ r: { id, node: cluster.node(0).id }, args: 42 })
  })

  it('runs a registered function on the owner node when the child is elsewhere', async () => {
    await using cluster = await testCluster(3)
    // Each node registers 'where' under the same name; it tells which node it ran on.
    const where: ExecFn[] = cluster.nodes.map((node) => (child, args) => ({
      ranOn: node.id,
      child,
      args,
    }))
    const sups = await startSupervisors(cluster.nodes, (i) => ({ functions: { where: where[i]! } }))
    const [id] = idsPlacedOn(sups[0]!, cluster.node(2).id, 1, 'there')
    const pid = await sups[0]!.startChild(worker(id!))
    await waitUntil(() => childrenById(sups[0]!).has(id!), SETTLE_MS, 'replication')
    // Node 0 passes its own 'where': node 2 runs its function of that name.
    const result = await sups[0]!.exec<{ ranOn: NodeId; child: unknown; args: unknown }>(
      id!,
      where[0]!,
      { x: 1 },
    )
    expect(result).toEqual({ ranOn: cluster.node(2).id, child: { id, pid }, args: { x: 1 } })
  })

  it('rejects an unregistered function for a child on another node with BadArgument', async () => {
    await using cluster = await testCluster(2)
    const sups = await startSupervisors(cluster.nodes)
    const [id] = idsPlacedOn(sups[0]!, cluster.node(1).id, 1, 'far')
    await sups[0]!.startChild(worker(id!))
    await waitUntil(() => childrenById(sups[0]!).has(id!), SETTLE_MS, 'replication')
    let ran = false
    const e = await rejectionOf(
      sups[0]!.exec(id!, () => {
        ran = true
      }),
    )
    expect(BadArgument.is(e)).toBe(true)
    expect(ran).toBe(false)
  })

  it('rejects a function name the owner node lacks with BadArgument, even one Object has (toString)', async () => {
    await using cluster = await testCluster(2)
    let ran = false
    const fn: ExecFn = () => {
      ran = true
      return 'ran'
    }
    // Only node 0 registers it, and under a name every object inherits.
    const sups = await startSupervisors(cluster.nodes, (i) =>
      i === 0 ? { functions: { toString: fn } } : {},
    )
    const [id] = idsPlacedOn(sups[0]!, cluster.node(1).id, 1, 'proto')
    await sups[0]!.startChild(worker(id!))
    await waitUntil(() => childrenById(sups[0]!).has(id!), SETTLE_MS, 'replication')
    const e = await rejectionOf(sups[0]!.exec(id!, fn))
    expect(BadArgument.is(e)).toBe(true)
    expect((e as Error).message).toContain("'toString'")
    expect(ran).toBe(false)
  })

  it('rejects exec of a child that does not run with NotFound', async () => {
    await using cluster = await testCluster(2)
    const sups = await startSupervisors(cluster.nodes)
    expect(NotFound.is(await rejectionOf(sups[1]!.exec('ghost', () => 1)))).toBe(true)
  })
})
