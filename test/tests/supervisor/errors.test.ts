// Typed errors of startChild: an unknown actor type, no live node for a type, a full node, an
// init that throws (and leaves nothing recorded), a bad spec. Also: a type known only by some
// nodes is placed only there.
import { beforeEach, describe, expect, it } from 'vitest'
import { BadArgument, InitFailed, MaxChildren, nodeOf, type NodeId } from '@swormjs/actor'
import {
  DistributedSupervisor,
  NoAliveNodes,
  UnknownActorType,
  type ChildSpec,
} from '@swormjs/supervisor'
import { pause, rejectionOf, testCluster, waitUntil } from '../../src/index.js'
import {
  ACTORS,
  FAST,
  SETTLE_MS,
  Worker,
  childrenById,
  copiesOf,
  idsPlacedOn,
  recordEvents,
  resetCensus,
  startSupervisors,
  worker,
} from './helpers.js'

beforeEach(resetCensus)

describe('typed errors', () => {
  it('rejects a type no node knows with UnknownActorType', async () => {
    await using cluster = await testCluster(2)
    const sups = await startSupervisors(cluster.nodes)
    const e = await rejectionOf(sups[0]!.startChild({ id: 'x', type: 'Nope' }))
    expect(UnknownActorType.is(e)).toBe(true)
    expect((e as UnknownActorType).type).toBe('Nope')
    expect(sups[1]!.whichChildren()).toEqual([])
  })

  it('takes constructor, toString and __proto__ for unknown actor types, not for Object’s own', async () => {
    await using cluster = await testCluster(2)
    const sups = await startSupervisors(cluster.nodes)
    const types = ['constructor', 'toString', 'hasOwnProperty', '__proto__', 'valueOf']
    for (const [i, type] of types.entries()) {
      for (const sup of sups) {
        const e = await rejectionOf(sup.startChild({ id: `proto-${i}`, type }))
        expect(UnknownActorType.is(e), type).toBe(true)
        expect((e as UnknownActorType).type).toBe(type)
      }
      // A start request that reaches a node's server directly (as a member that runs the type
      // would send it) is refused the same way, and starts nothing.
      const server = cluster.node(1).runtime.whereis('sworm.supervisor.s')!
      const spec = { id: `raw-${i}`, type, args: {}, restart: 'permanent', shutdownMs: 100 }
      const raw = await rejectionOf(
        cluster.node(0).runtime.call(server, { op: 'start', spec }, { timeoutMs: 2000 }),
      )
      expect(UnknownActorType.is(raw), type).toBe(true)
    }
    for (const sup of sups) {
      expect(sup.whichChildren()).toEqual([])
      expect(sup.stats().local).toBe(0)
    }
    // The supervisors still run children.
    await sups[0]!.startChild(worker('after-proto'))
    expect(copiesOf(cluster.nodes, 'after-proto')).toHaveLength(1)
  })

  it('runs an actor type a node lists under the name constructor, only there', async () => {
    await using cluster = await testCluster(2)
    const sups = await startSupervisors(cluster.nodes, (i) =>
      i === 0 ? { actors: { ...ACTORS, constructor: Worker } } : {},
    )
    const pid = await sups[1]!.startChild({ id: 'ctor', type: 'constructor', args: { id: 'ctor' } })
    expect(nodeOf(pid)).toBe(cluster.node(0).id)
    expect(copiesOf(cluster.nodes, 'ctor')).toEqual([pid])
  })

  it('places a type known only by some nodes only there', async () => {
    await using cluster = await testCluster(3)
    // Only node 0 runs 'Special'.
    const sups = await startSupervisors(cluster.nodes, (i) =>
      i === 0 ? { actors: { ...ACTORS, Special: Worker } } : {},
    )
    const ids = Array.from({ length: 60 }, (_, i) => `special-${i}`)
    const pids = await Promise.all(
      ids.map((id, i) => sups[i % 3]!.startChild({ id, type: 'Special', args: { id } })),
    )
    for (const pid of pids) expect(nodeOf(pid)).toBe(cluster.node(0).id)
    for (const id of ids) expect(sups[2]!.find(id)).toBe(cluster.node(0).id)
    await waitUntil(
      () => sups[1]!.countChildren().active === 60,
      SETTLE_MS,
      'node 1 to see the children',
    )
    for (const c of sups[1]!.whichChildren()) {
      expect(c.type).toBe('Special')
      expect(c.node).toBe(cluster.node(0).id)
    }
    // Plain workers still spread over every node.
    await Promise.all(
      Array.from({ length: 60 }, (_, i) => sups[1]!.startChild(worker(`plain-${i}`))),
    )
    const nodes = new Set(
      sups[1]!
        .whichChildren()
        .filter((c) => c.type === 'Worker')
        .map((c) => c.node),
    )
    expect(nodes.size).toBe(3)
  })

  it('rejects with NoAliveNodes when the only nodes that know a type are down, and reports its children lost', async () => {
    await using cluster = await testCluster(3, FAST)
    const sups = await startSupervisors(cluster.nodes, (i) =>
      i === 0 ? { actors: { ...ACTORS, Special: Worker } } : {},
    )
    await sups[1]!.startChild({ id: 'sp', type: 'Special', args: { id: 'sp' } })
    await waitUntil(() => childrenById(sups[1]!).has('sp'), SETTLE_MS, 'replication')
    const lost = [recordEvents(sups[1]!, 'lost'), recordEvents(sups[2]!, 'lost')]

    await cluster.node(0).kill()
    await waitUntil(() => sups[1]!.stats().members === 2, SETTLE_MS, 'node 1 to see node 0 down')
    const e = await rejectionOf(sups[1]!.startChild({ id: 'sp2', type: 'Special' }))
    expect(NoAliveNodes.is(e)).toBe(true)
    // A type no node ever knew is still UnknownActorType.
    expect(
      UnknownActorType.is(await rejectionOf(sups[1]!.startChild({ id: 'u', type: 'Nope' }))),
    ).toBe(true)
    // Its child could not be adopted by anyone: it is reported lost, not run.
    await waitUntil(() => lost.flat().length > 0, SETTLE_MS, 'a lost event')
    expect(lost.flat()[0]![0]).toBe('sp')
    expect(copiesOf(cluster.nodes, 'sp')).toEqual([])
  })

  it('rejects with NoAliveNodes when a distribution function picks no live member', async () => {
    await using cluster = await testCluster(2)
    const nowhere = (): NodeId | undefined => undefined
    const stranger = (): NodeId => 'not-a-member' as NodeId
    const [a] = await startSupervisors(cluster.nodes, { distribution: nowhere })
    expect(NoAliveNodes.is(await rejectionOf(a!.startChild(worker('x'))))).toBe(true)
    const [b] = await startSupervisors(cluster.nodes, { distribution: stranger }, 't')
    expect(NoAliveNodes.is(await rejectionOf(b!.startChild(worker('y'))))).toBe(true)
    expect(copiesOf(cluster.nodes, 'x')).toEqual([])
    expect(copiesOf(cluster.nodes, 'y')).toEqual([])
  })

  it('places by a distribution function of the caller', async () => {
    await using cluster = await testCluster(3)
    const target = cluster.node(1).id
    const sups = await startSupervisors(cluster.nodes, {
      distribution: (_id, members) => (members.includes(target) ? target : members[0]),
    })
    const pids = await Promise.all(
      Array.from({ length: 20 }, (_, i) => sups[i % 3]!.startChild(worker(`f-${i}`))),
    )
    for (const pid of pids) expect(nodeOf(pid)).toBe(target)
  })

  it('rejects with MaxChildren once the chosen node runs maxChildren', async () => {
    await using cluster = await testCluster(3)
    const sups = await startSupervisors(cluster.nodes, { maxChildren: 3 })
    const full = cluster.node(1).id
    const ids = idsPlacedOn(sups[0]!, full, 4, 'max')
    for (const id of ids.slice(0, 3)) await sups[0]!.startChild(worker(id))
    // Asked from another node: the error crosses the wire with its limit.
    const remote = await rejectionOf(sups[0]!.startChild(worker(ids[3]!)))
    expect(MaxChildren.is(remote)).toBe(true)
    expect((remote as MaxChildren).max).toBe(3)
    // Asked on the full node itself.
    expect(MaxChildren.is(await rejectionOf(sups[1]!.startChild(worker(ids[3]!))))).toBe(true)
    expect(copiesOf(cluster.nodes, ids[3]!)).toEqual([])
    // The other nodes still take children.
    const elsewhere = idsPlacedOn(sups[0]!, cluster.node(2).id, 1, 'room')[0]!
    expect(nodeOf(await sups[0]!.startChild(worker(elsewhere)))).toBe(cluster.node(2).id)
  })

  it('rejects with InitFailed when the child’s init throws, and records nothing', async () => {
    await using cluster = await testCluster(3)
    const sups = await startSupervisors(cluster.nodes)
    const started = sups.map((s) => recordEvents(s, 'started'))
    // On the asking node and on others.
    const ids = [
      idsPlacedOn(sups[0]!, cluster.node(0).id, 1, 'bad-local')[0]!,
      idsPlacedOn(sups[0]!, cluster.node(2).id, 1, 'bad-remote')[0]!,
    ]
    for (const id of ids) {
      const e = await rejectionOf(sups[0]!.startChild({ id, type: 'FailsInit', args: { id } }))
      expect(InitFailed.is(e)).toBe(true)
      expect((e as Error).message).toContain('init refuses')
    }
    await pause(200)
    for (const sup of sups) {
      expect(sup.whichChildren()).toEqual([])
      expect(sup.countChildren().active).toBe(0)
      expect(sup.stats().local).toBe(0)
    }
    expect(started.flat()).toEqual([])
    // The ids are free: they start as workers.
    for (const id of ids) await sups[1]!.startChild(worker(id))
    for (const id of ids) expect(copiesOf(cluster.nodes, id)).toHaveLength(1)
  })

  it('rejects a bad spec with BadArgument', async () => {
    await using cluster = await testCluster(1)
    const [sup] = await startSupervisors(cluster.nodes)
    const bad: unknown[] = [
      null,
      'w',
      { type: 'Worker' },
      { id: '', type: 'Worker' },
      { id: 7, type: 'Worker' },
      { id: 'a' },
      { id: 'a', type: '' },
      { id: 'a', type: 'Worker', restart: 'sometimes' },
      { id: 'a', type: 'Worker', shutdownMs: -1 },
      { id: 'a', type: 'Worker', shutdownMs: 'soon' },
    ]
    for (const spec of bad) {
      const e = await rejectionOf(sup!.startChild(spec as ChildSpec))
      expect(BadArgument.is(e), JSON.stringify(spec)).toBe(true)
    }
    expect(sup!.whichChildren()).toEqual([])
  })

  it('refuses a bad supervisor name or options with BadArgument', async () => {
    await using cluster = await testCluster(1)
    const node = cluster.node(0)
    for (const name of ['', 'a/b']) {
      const e = await rejectionOf(DistributedSupervisor.start(node, name, { actors: ACTORS }))
      expect(BadArgument.is(e)).toBe(true)
    }
    const e = await rejectionOf(
      DistributedSupervisor.start(node, 'no-actors', {} as unknown as { actors: typeof ACTORS }),
    )
    expect(BadArgument.is(e)).toBe(true)
  })
})
