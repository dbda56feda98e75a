// Quorum distribution: a side that does not see a majority of the known members stops its
// children and refuses starts; the majority adopts them after `quorumAdoptDelayMs`; no child id
// ever runs on two nodes at once; after the heal the minority takes children again.
import { beforeEach, describe, expect, it } from 'vitest'
import { nodeOf, realClock, type Clock } from '@swormjs/actor'
import type { Node } from '@swormjs/cluster'
import { DistributedSupervisor, QuorumNotMet } from '@swormjs/supervisor'
import { rendezvous } from '@swormjs/supervisor/internal'
import { pause, proxiedCluster, rejectionOf, testCluster, waitUntil } from '../../src/index.js'
import {
  ACTORS,
  FAST,
  SETTLE_MS,
  copiesOf,
  duplicated,
  eachRunsOnce,
  idsPlacedOn,
  liveCopies,
  recordEvents,
  resetCensus,
  startSupervisors,
  terminations,
  viewsAgree,
  worker,
} from './helpers.js'

beforeEach(resetCensus)

/** Samples the live copies every few ms; `stop()` returns the ids ever seen on two nodes. */
function sampleDuplicates(nodes: Parameters<typeof duplicated>[0]): { stop(): string[] } {
  const seen = new Set<string>()
  const timer = setInterval(() => {
    for (const id of duplicated(nodes)) seen.add(id)
  }, 5)
  return {
    stop() {
      clearInterval(timer)
      for (const id of duplicated(nodes)) seen.add(id)
      return [...seen]
    },
  }
}

/** A cluster of `tenChildrenOn`, its supervisors and the ten children's ids. */
interface Ten {
  cluster: Awaited<ReturnType<typeof proxiedCluster>>
  sups: DistributedSupervisor[]
  ids: string[]
}

/**
 * Three proxied nodes with `quorum` and a 300 ms adoption delay, and ten children running on node
 * `owner` whose next node, were `owner` gone, is `next` (of the other two).
 */
async function tenChildrenOn(owner: number, next: number, prefix: string): Promise<Ten> {
  const cluster = await proxiedCluster(3, FAST)
  try {
    return await fillTen(cluster, owner, next, prefix)
  } catch (e) {
    await cluster[Symbol.asyncDispose]()
    throw e
  }
}

async function fillTen(
  cluster: Ten['cluster'],
  owner: number,
  next: number,
  prefix: string,
): Promise<Ten> {
  const sups = await startSupervisors(cluster.nodes, {
    distribution: 'quorum',
    quorumAdoptDelayMs: ADOPT_DELAY_MS,
  })
  const nodes = cluster.nodes.map((n) => n.id)
  const rest = nodes.filter((_, i) => i !== owner)
  const ids = idsPlacedOn(sups[0]!, nodes[owner]!, 200, prefix)
    .filter((id) => rendezvous(id, rest) === nodes[next])
    .slice(0, 10)
  expect(ids.length).toBe(10)
  await Promise.all(ids.map((id) => sups[0]!.startChild(worker(id))))
  await waitUntil(
    () => viewsAgree(sups) && eachRunsOnce([cluster.node(owner)], ids),
    SETTLE_MS,
    `the children to run on node ${owner}`,
  )
  return { cluster, sups, ids }
}

/**
 * Node 0, cut off alone, meets node 2 again but not node 1: once it has the quorum, and for the
 * adoption delay and more, it runs none of `ids`, which run on node 1 only, and none runs twice;
 * then the heal, after which every node agrees.
 */
async function meetOnlyC({ cluster, sups, ids }: Ten): Promise<void> {
  const sampler = sampleDuplicates(cluster.nodes)
  cluster.setLink(0, 2, 'pass')
  await waitUntil(() => sups[0]!.stats().quorum, SETTLE_MS, 'node 0 to have the quorum again')
  await pause(ADOPT_DELAY_MS + 300)
  expect(liveCopies([cluster.node(0)]).size).toBe(0)
  expect(eachRunsOnce([cluster.node(1)], ids)).toBe(true)
  expect(sampler.stop()).toEqual([])
  await cluster.heal()
  await waitUntil(
    () => viewsAgree(sups) && eachRunsOnce(cluster.nodes, ids),
    SETTLE_MS,
    'every node to agree after the heal',
  )
}

/** The adoption delay of `tenChildrenOn`'s clusters. */
const ADOPT_DELAY_MS = 300

describe('quorum', () => {
  it('accepts starts with 2 of 3 nodes and refuses them with 1 of 3', async () => {
    await using cluster = await testCluster(3, FAST)
    const sups = await startSupervisors(cluster.nodes, {
      distribution: 'quorum',
      quorumAdoptDelayMs: 200,
    })
    const ids = Array.from({ length: 30 }, (_, i) => `q-${i}`)
    await Promise.all(ids.map((id) => sups[0]!.startChild(worker(id))))

    await cluster.node(2).kill()
    await waitUntil(() => sups[0]!.stats().members === 2, SETTLE_MS, 'node 0 to see node 2 down')
    expect(sups[0]!.stats().quorum).toBe(true)
    const two = await sups[0]!.startChild(worker('with-two'))
    expect(copiesOf(cluster.nodes, 'with-two')).toEqual([two])
    // The children of the dead node come back on the two.
    await waitUntil(() => eachRunsOnce(cluster.nodes, ids), SETTLE_MS, 'adoption by the two')

    await cluster.node(1).kill()
    await waitUntil(() => !sups[0]!.stats().quorum, SETTLE_MS, 'node 0 to lose the quorum')
    const e = await rejectionOf(sups[0]!.startChild(worker('with-one')))
    expect(QuorumNotMet.is(e)).toBe(true)
    expect((e as QuorumNotMet).live).toBe(1)
    expect((e as QuorumNotMet).known).toBe(3)
    expect(copiesOf(cluster.nodes, 'with-one')).toEqual([])
    // Without a quorum, the lone node stops its children too.
    await waitUntil(
      () => liveCopies(cluster.nodes).size === 0,
      SETTLE_MS,
      'the lone node to stop its children',
    )
  })

  it('stops the minority’s children in a 2|1 split, lets the majority adopt them, and never runs one twice', async () => {
    await using cluster = await proxiedCluster(3, FAST)
    const delayMs = 400
    const sups = await startSupervisors(cluster.nodes, {
      distribution: 'quorum',
      quorumAdoptDelayMs: delayMs,
    })
    const minority = cluster.node(2)
    const ids = Array.from({ length: 90 }, (_, i) => `split-${i}`)
    await Promise.all(ids.map((id, i) => sups[i % 3]!.startChild(worker(id))))
    await waitUntil(
      () => viewsAgree(sups) && sups[0]!.countChildren().active === 90,
      SETTLE_MS,
      'replication',
    )
    const onMinority = ids.filter((id) => nodeOf(copiesOf(cluster.nodes, id)[0]!) === minority.id)
    expect(onMinority.length).toBeGreaterThan(10)
    const moved = [recordEvents(sups[0]!, 'moved'), recordEvents(sups[1]!, 'moved')]
    const movedAt: number[] = []
    for (const s of sups.slice(0, 2)) s.on('moved', () => movedAt.push(performance.now()))
    const sampler = sampleDuplicates(cluster.nodes)

    const cutAt = performance.now()
    await cluster.split([2])
    // The minority stops its children and refuses starts.
    await waitUntil(
      () => onMinority.every((id) => copiesOf([minority], id).length === 0),
      SETTLE_MS,
      'the minority to stop its children',
    )
    expect(QuorumNotMet.is(await rejectionOf(sups[2]!.startChild(worker('minority-new'))))).toBe(
      true,
    )
    // The majority adopts them, after the delay, and keeps taking new children.
    await waitUntil(() => eachRunsOnce(cluster.nodes, ids), SETTLE_MS, 'the majority to adopt')
    expect(Math.min(...movedAt) - cutAt).toBeGreaterThanOrEqual(delayMs - 20)
    expect(
      moved
        .flat()
        .map(([id]) => id)
        .sort(),
    ).toEqual([...onMinority].sort())
    for (const id of ids) expect(nodeOf(copiesOf(cluster.nodes, id)[0]!)).not.toBe(minority.id)
    const majorityNew = await sups[0]!.startChild(worker('majority-new'))
    expect(copiesOf(cluster.nodes, 'majority-new')).toEqual([majorityNew])

    await cluster.heal()
    await waitUntil(
      () => sups[2]!.stats().quorum,
      SETTLE_MS,
      'the minority to see the quorum again',
    )
    // The minority takes children again, on itself too.
    const back = idsPlacedOn(sups[2]!, minority.id, 5, 'back')
    for (const id of back) expect(nodeOf(await sups[2]!.startChild(worker(id)))).toBe(minority.id)
    const all = [...ids, 'majority-new', ...back]
    await waitUntil(
      () =>
        viewsAgree(sups) &&
        sups[2]!.countChildren().active === all.length &&
        eachRunsOnce(cluster.nodes, all),
      SETTLE_MS,
      'every node to agree after the heal',
    )
    expect(sampler.stop()).toEqual([])
  })

  it('stops a minority node’s children before the majority adopts them, though every timer of that node runs late', async () => {
    // Node 2 is busy: each of its timers fires 90 ms late, more than half a heartbeat interval,
    // so every heartbeat tick of its looks like a stall of its own, and its detector forgives
    // its peers' silence. Its children must stop anyway before the majority's adoption delay
    // runs out: it holds the quorum only while it has heard from one within the downing bound.
    const lateMs = 90
    const lateClock: Clock = {
      ...realClock,
      setTimeout: (fn, ms) => realClock.setTimeout(fn, ms + lateMs),
    }
    await using cluster = await proxiedCluster(3, FAST, (i) =>
      i === 2 ? { clock: lateClock } : {},
    )
    const sups = await startSupervisors(cluster.nodes, {
      distribution: 'quorum',
      quorumAdoptDelayMs: 400,
    })
    const minority = cluster.node(2)
    const ids = idsPlacedOn(sups[0]!, minority.id, 20, 'late-timers')
    await Promise.all(ids.map((id) => sups[0]!.startChild(worker(id))))
    await waitUntil(
      () => viewsAgree(sups) && eachRunsOnce(cluster.nodes, ids),
      SETTLE_MS,
      'replication',
    )
    const sampler = sampleDuplicates(cluster.nodes)

    // Silence, not closed sockets: only the heartbeats can tell.
    cluster.setLink(0, 2, 'blackhole')
    cluster.setLink(1, 2, 'blackhole')
    await waitUntil(() => eachRunsOnce(cluster.nodes.slice(0, 2), ids), SETTLE_MS, 'adoption')
    expect(sampler.stop()).toEqual([])
    expect(liveCopies([minority]).size).toBe(0)
    expect(sups[2]!.stats().quorum).toBe(false)

    await cluster.heal()
    await waitUntil(() => sups[2]!.stats().quorum, SETTLE_MS, 'node 2 to have the quorum again')
  })

  it('starts its children again when every side lost the quorum and the split heals', async () => {
    await using cluster = await proxiedCluster(3, FAST)
    const sups = await startSupervisors(cluster.nodes, {
      distribution: 'quorum',
      quorumAdoptDelayMs: 300,
    })
    const ids = Array.from({ length: 30 }, (_, i) => `all-${i}`)
    await Promise.all(ids.map((id, i) => sups[i % 3]!.startChild(worker(id))))
    await waitUntil(
      () => viewsAgree(sups) && sups[0]!.countChildren().active === 30,
      SETTLE_MS,
      'replication',
    )
    const sampler = sampleDuplicates(cluster.nodes)

    // Every node alone: no side has a quorum, every child stops.
    await cluster.split([0])
    await cluster.split([1])
    await waitUntil(() => liveCopies(cluster.nodes).size === 0, SETTLE_MS, 'every child to stop')
    for (const s of sups)
      expect(QuorumNotMet.is(await rejectionOf(s.startChild(worker('no'))))).toBe(true)

    await cluster.heal()
    await waitUntil(
      () =>
        eachRunsOnce(cluster.nodes, ids) &&
        viewsAgree(sups) &&
        sups[0]!.countChildren().active === 30,
      SETTLE_MS,
      'every child to run again, once',
    )
    expect(sampler.stop()).toEqual([])
  })

  it('does not start its parked children again when it gets the quorum back from a node that knows they were adopted', async () => {
    // Children of a that b adopts when a is cut off (b is their second choice after a).
    const { cluster, sups, ids } = await tenChildrenOn(0, 1, 'parked')
    await using _ = cluster

    await cluster.split([0])
    await waitUntil(() => eachRunsOnce([cluster.node(1)], ids), SETTLE_MS, 'b to adopt them')
    // a meets c again, but not b yet: its own view still shows b's children as they were
    // before the split, while c knows b adopted a's.
    await meetOnlyC({ cluster, sups, ids })
  })

  it('does not adopt, with the quorum back, the children of a member it lost only from its minority side', async () => {
    // Children of b that a would take if b were down (a is their first choice after b).
    const { cluster, sups, ids } = await tenChildrenOn(1, 0, 'kept')
    await using _ = cluster

    // a alone: it sees b (and c) down, without a quorum; b keeps running its children.
    await cluster.split([0])
    await waitUntil(() => !sups[0]!.stats().quorum, SETTLE_MS, 'a to lose the quorum')
    await pause(ADOPT_DELAY_MS + 100)
    // a meets c again, not b yet: a has the quorum, and b is still down in its view.
    await meetOnlyC({ cluster, sups, ids })
  })

  it('adopts the children of a dead node once the quorum comes back', async () => {
    await using cluster = await proxiedCluster(3, FAST)
    const delayMs = 1000
    const sups = await startSupervisors(cluster.nodes, {
      distribution: 'quorum',
      quorumAdoptDelayMs: delayMs,
    })
    const dead = cluster.node(2)
    const orphans = idsPlacedOn(sups[0]!, dead.id, 10, 'late')
    await Promise.all(orphans.map((id) => sups[0]!.startChild(worker(id))))
    await waitUntil(
      () => viewsAgree(sups) && sups[0]!.countChildren().active === 10,
      SETTLE_MS,
      'replication',
    )

    // Node 2 dies; before the two others adopt its children, they lose each other too.
    const killedAt = performance.now()
    await dead.kill()
    await cluster.split([0])
    await waitUntil(
      () => !sups[0]!.stats().quorum && !sups[1]!.stats().quorum,
      SETTLE_MS,
      'the quorum to go',
    )
    // Past the adoption delay, nobody adopted them: no side has a quorum.
    await pause(killedAt + delayMs + 200 - performance.now())
    expect(liveCopies(cluster.nodes).size).toBe(0)

    await cluster.heal()
    await waitUntil(
      () => eachRunsOnce(cluster.nodes, orphans) && viewsAgree(sups.slice(0, 2)),
      SETTLE_MS,
      'the children of the dead node to run again',
    )
  })

  it('keeps the quorum on every node through three crash-and-replace cycles at new addresses', async () => {
    await using cluster = await testCluster(3, FAST)
    const options = {
      distribution: 'quorum',
      quorumAdoptDelayMs: 100,
      forgetAfterMs: 600,
    } as const
    const sups = await startSupervisors(cluster.nodes, options)
    const ids = Array.from({ length: 30 }, (_, i) => `cycle-${i}`)
    await Promise.all(ids.map((id, i) => sups[i % 3]!.startChild(worker(id))))
    // The live members, oldest first: the last one is crashed and replaced each time, as a
    // Deployment replaces a pod, so the first two see every cycle.
    const live: Array<{ node: Node; sup: DistributedSupervisor }> = cluster.nodes.map(
      (node, i) => ({ node, sup: sups[i]! }),
    )
    const liveNodes = (): Node[] => live.map((m) => m.node)
    await waitUntil(() => eachRunsOnce(liveNodes(), ids), SETTLE_MS, 'every child to start')

    for (let cycle = 1; cycle <= 3; cycle++) {
      const victim = live.pop()!
      const urls = new Set(cluster.nodes.map((n) => n.url))
      await victim.node.kill()
      await waitUntil(
        () => live.every((m) => !m.node.isUp(victim.node.id)),
        SETTLE_MS,
        `cycle ${cycle}: the survivors to see the crash`,
      )
      for (const m of live) expect(m.sup.stats().quorum, `cycle ${cycle}`).toBe(true)
      await waitUntil(
        () => eachRunsOnce(liveNodes(), ids),
        SETTLE_MS,
        `cycle ${cycle}: the survivors to adopt the crashed node's children`,
      )

      const node = await cluster.add(FAST)
      expect(urls.has(node.url)).toBe(false)
      const sup = await DistributedSupervisor.start(node, 's', { actors: ACTORS, ...options })
      live.push({ node, sup })
      // The crashed node's doc is forgotten everywhere after `forgetAfterMs`.
      const prefix = `supervisor/s/${victim.node.id}/`
      await waitUntil(
        () =>
          live.every(
            (m) =>
              m.sup.stats().members === 3 &&
              m.node.docs.names().every((name) => !name.startsWith(prefix)),
          ),
        SETTLE_MS,
        `cycle ${cycle}: the replacement to join and the crashed node to be forgotten`,
      )
    }

    // Every node agrees it has the quorum, no child was stopped for want of it, and starts work
    // on the old nodes and the new one alike.
    await waitUntil(
      () => live.every((m) => m.sup.stats().quorum),
      SETTLE_MS,
      'every node to report the quorum',
    )
    expect(live.map((m) => m.sup.stats().quorum)).toEqual([true, true, true])
    const stoppedForQuorum = terminations.filter(
      (t) =>
        typeof t.reason === 'object' && 'shutdown' in t.reason && t.reason.shutdown === 'quorum',
    )
    expect(stoppedForQuorum.map((t) => t.id)).toEqual([])
    expect(eachRunsOnce(liveNodes(), ids)).toBe(true)
    for (const [i, m] of live.entries()) {
      const pid = await m.sup.startChild(worker(`after-${i}`))
      expect(copiesOf(liveNodes(), `after-${i}`)).toEqual([pid])
    }
  })

  it('leaves a minority without the quorum when a split outlasts forgetAfterMs', async () => {
    await using cluster = await proxiedCluster(3, FAST)
    const sups = await startSupervisors(cluster.nodes, {
      distribution: 'quorum',
      quorumAdoptDelayMs: 100,
      forgetAfterMs: 300,
    })
    const [a, b, minority] = [cluster.node(0), cluster.node(1), cluster.node(2)]
    const holds = (node: Node, owner: Node): boolean =>
      node.docs.names().some((name) => name.startsWith(`supervisor/s/${owner.id}/`))

    await cluster.split([2])
    // Each side forgets the other: the majority drops the minority from its count, the minority
    // keeps counting the majority and stays without a quorum.
    await waitUntil(
      () =>
        !holds(minority, a) && !holds(minority, b) && !holds(a, minority) && !holds(b, minority),
      SETTLE_MS,
      'each side to forget the other',
    )
    expect(sups.map((s) => s.stats().quorum)).toEqual([true, true, false])
    const e = await rejectionOf(sups[2]!.startChild(worker('minority-new')))
    expect(QuorumNotMet.is(e)).toBe(true)
    expect((e as QuorumNotMet).known).toBe(3)
    const started = await sups[0]!.startChild(worker('majority-new'))
    expect(copiesOf(cluster.nodes, 'majority-new')).toEqual([started])

    await cluster.heal()
    await waitUntil(
      () => sups.every((s) => s.stats().quorum && s.stats().members === 3),
      SETTLE_MS,
      'every node to count the three again',
    )
  })
})
