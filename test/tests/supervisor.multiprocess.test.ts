// The distributed supervisor across real node processes: a kill -9ed node's children run again on
// the survivors within 2 s, each once; a gracefully stopped node hands its children over within
// 2 s, a slow one included; with `quorum` distribution a minority side stops its children and
// refuses starts while the majority adopts them, and no child ever runs twice; a node paused
// long enough to be taken down kills its children before it serves them again (self-fencing).
import { afterAll, describe, expect, it, vi } from 'vitest'
import {
  ChildRequestError,
  killAllChildren,
  type ChildEvent,
  type ChildNode,
} from '../src/index.js'
import {
  SLOW_MS,
  at,
  proxiedCluster,
  seededCluster,
  waitForMesh,
  waitForView,
} from './clusterProcesses.js'

/** The promise under test: a child of a node that dies or leaves runs again within 2 s. */
const FAILOVER_MS = 2000

const FAST_HEARTBEAT = {
  HEARTBEAT_INTERVAL_MS: '200',
  HEARTBEAT_TIMEOUT_MS: '600',
  RECONNECT_MAX_MS: '500',
}

const SUP = 'workers'

afterAll(killAllChildren)

/** A child as the fixture's `supWhich` lists it (sorted by id). */
interface Child {
  readonly id: string
  readonly pid: string
  readonly node: string
}

function which(node: ChildNode): Promise<Child[]> {
  return node.request({ op: 'supWhich', sup: SUP }) as Promise<Child[]>
}

function stats(node: ChildNode): Promise<{ local: number; members: number; quorum: boolean }> {
  return node.request({ op: 'supStats', sup: SUP }) as Promise<{
    local: number
    members: number
    quorum: boolean
  }>
}

function startChild(
  node: ChildNode,
  id: string,
  spec: { args?: unknown; shutdownMs?: number } = {},
): Promise<string> {
  return node.request(
    { op: 'supChildStart', sup: SUP, child: id, ...spec },
    SLOW_MS,
  ) as Promise<string>
}

function callChild(node: ChildNode, id: string): Promise<{ node: string; args: unknown }> {
  return node.request({ op: 'supChildCall', sup: SUP, child: id }) as Promise<{
    node: string
    args: unknown
  }>
}

/** Starts the supervisor on every node and waits until each sees every other as a member. */
async function startSupervisors(
  nodes: readonly ChildNode[],
  options: { distribution?: string; quorumAdoptDelayMs?: number; watch?: boolean } = {},
): Promise<void> {
  for (const node of nodes) await node.request({ op: 'supStart', sup: SUP, ...options })
  await vi.waitFor(
    async () => {
      for (const node of nodes)
        expect((await stats(node)).members, `members seen by ${node.name}`).toBe(nodes.length)
    },
    { timeout: SLOW_MS, interval: 50 },
  )
}

/** Resolves once every node's `whichChildren` is the same list of `count` distinct children. */
async function waitForChildren(nodes: readonly ChildNode[], count: number): Promise<Child[]> {
  let list: Child[] = []
  await vi.waitFor(
    async () => {
      const lists = await Promise.all(nodes.map(which))
      list = lists[0]!
      expect(new Set(list.map((c) => c.id)).size).toBe(count)
      expect(list).toHaveLength(count)
      for (const [i, other] of lists.entries())
        expect(other, `whichChildren on ${nodes[i]!.name}`).toEqual(list)
    },
    { timeout: SLOW_MS, interval: 50 },
  )
  return list
}

/** The ids that occur more than once in `children`. */
function duplicates(children: readonly { id: string }[]): string[] {
  const seen = new Set<string>()
  const twice = new Set<string>()
  for (const { id } of children) (seen.has(id) ? twice : seen).add(id)
  return [...twice]
}

/** An id that `node`'s supervisor would place on node `target` (rendezvous hashing). */
async function idPlacedOn(node: ChildNode, target: string, prefix: string): Promise<string> {
  for (let i = 0; i < 1000; i++) {
    const id = `${prefix}${i}`
    if ((await node.request({ op: 'supChildFind', sup: SUP, child: id })) === target) return id
  }
  throw new Error(`no id of 1000 hashes to ${target}`)
}

/** Runs `sample` every ~50 ms until `stop`, which resolves with the number of samples taken. */
function sampler(sample: () => Promise<void>): { taken(): number; stop(): Promise<number> } {
  let running = true
  let count = 0
  const loop = (async () => {
    while (running) {
      await sample()
      count++
      await new Promise((r) => setTimeout(r, 50))
    }
  })()
  // A failing sample ends the loop; `stop` reports it.
  loop.catch(() => undefined)
  return {
    taken: () => count,
    async stop() {
      running = false
      await loop
      return count
    },
  }
}

describe('distributed supervisor across processes', () => {
  it(
    'runs every child of a kill -9ed node again on the survivors within 2 s, each once',
    { timeout: 90_000 },
    async () => {
      await using cluster = await seededCluster(['A', 'B', 'C'], FAST_HEARTBEAT)
      const [a, b, c] = cluster.nodes
      const [ia, ib, ic] = cluster.infos
      await startSupervisors(cluster.nodes)

      await a!.request({ op: 'supStartMany', sup: SUP, count: 200 }, SLOW_MS)
      const before = await waitForChildren(cluster.nodes, 200)
      const onC = before.filter((x) => x.node === ic!.id)
      expect(onC.length, 'children placed on C').toBeGreaterThan(0)
      console.info(
        `200 children: A ${before.filter((x) => x.node === ia!.id).length}, ` +
          `B ${before.filter((x) => x.node === ib!.id).length}, C ${onC.length}`,
      )

      // Both survivors watch their count from before the kill: it is reached once C is seen
      // down and each of its children runs (and is replicated) on A or B.
      const reached = [a!, b!].map(
        (node) =>
          node.request(
            { op: 'supAwaitCount', sup: SUP, count: 200, notOn: ic!.id, timeoutMs: SLOW_MS },
            SLOW_MS + 5000,
          ) as Promise<number>,
      )
      for (const p of reached) p.catch(() => undefined)
      const killedAt = Date.now()
      await c!.kill9()
      const delays = (await Promise.all(reached)).map((t) => t - killedAt)
      console.info(
        `kill -9 → ${onC.length} children run again: seen on A ${delays[0]!.toFixed(0)} ms, ` +
          `B ${delays[1]!.toFixed(0)} ms`,
      )
      for (const delay of delays) expect(delay).toBeLessThanOrEqual(FAILOVER_MS)

      // Exactly once: both survivors list the same 200 distinct children, none on C.
      const [onA, onB] = await Promise.all([which(a!), which(b!)])
      expect(onB).toEqual(onA)
      expect(onA).toHaveLength(200)
      expect(duplicates(onA)).toEqual([])
      expect(onA.map((x) => x.id).sort()).toEqual(before.map((x) => x.id).sort())
      expect(onA.filter((x) => x.node === ic!.id)).toEqual([])
      const [localA, localB] = await Promise.all([
        a!.request({ op: 'supLocal', sup: SUP }),
        b!.request({ op: 'supLocal', sup: SUP }),
      ])
      expect((localA as number) + (localB as number)).toBe(200)
      // Passive redistribution: the children of A and B stayed where they were.
      const now = new Map(onA.map((x) => [x.id, x]))
      for (const child of before.filter((x) => x.node !== ic!.id))
        expect(now.get(child.id)).toEqual(child)

      // An adopted child answers on its new node, from either survivor.
      const moved = now.get(onC[0]!.id)!
      expect([ia!.id, ib!.id]).toContain(moved.node)
      for (const node of [a!, b!]) {
        expect(await callChild(node, moved.id)).toEqual({
          node: moved.node,
          args: { n: Number(moved.id.slice(1)) },
        })
      }
    },
  )

  it(
    'hands a slow-stopping child of a gracefully stopped node over within 2 s, never running it twice',
    { timeout: 90_000 },
    async () => {
      await using cluster = await seededCluster(['A', 'B', 'C'], FAST_HEARTBEAT)
      const [a, b, c] = cluster.nodes
      const [, , ic] = cluster.infos
      await startSupervisors(cluster.nodes, { watch: true })

      await a!.request({ op: 'supStartMany', sup: SUP, count: 30, prefix: 'o' }, SLOW_MS)
      const slow = await idPlacedOn(a!, ic!.id, 'slow-')
      const args = { stopDelayMs: 500 }
      const slowPid = await startChild(a!, slow, { args, shutdownMs: 2000 })
      const before = await waitForChildren(cluster.nodes, 31)
      expect(before.find((x) => x.id === slow)).toEqual({ id: slow, pid: slowPid, node: ic!.id })

      // A and B are watched all along: no child shows up twice in what either lists. Both also
      // monitor the slow child's old process, to tell when it ended.
      const seenTwice: string[] = []
      const watch = sampler(async () => {
        for (const list of await Promise.all([which(a!), which(b!)]))
          seenTwice.push(...duplicates(list))
      })
      for (const node of [a!, b!]) await node.request({ op: 'watch', pid: slowPid })
      // The stop reaches C over its control pipe, not the mesh: it could overtake the monitors.
      // A call from each watching node to the child travels behind its monitor on the same
      // socket, so once both are answered the monitors are in place.
      for (const node of [a!, b!]) await callChild(node, slow)

      const movedOn = (node: ChildNode): Promise<ChildEvent> =>
        node.waitForEvent(
          (e) => e.event === 'supEvent' && e['kind'] === 'moved' && e['id'] === slow,
          SLOW_MS,
        )
      const moved = Promise.any([movedOn(a!), movedOn(b!)])
      moved.catch(() => undefined)
      const stopAt = Date.now()
      const exit = c!.stop(SLOW_MS)
      const event = await moved
      const delay = at(event) - stopAt
      console.info(`graceful stop → slow child runs again in ${delay} ms`)
      expect(delay).toBeLessThanOrEqual(FAILOVER_MS)
      expect(event['from']).toBe(ic!.id)
      expect(await exit, 'exit code of the stopped node').toBe(0)

      // The new node heard the old process go down before it started the new one (both lines
      // come from one process, in order): the child took its 500 ms to stop, then moved.
      const target = [a!, b!].find((node) => node.events.includes(event))!
      const down = await target.waitForEvent(
        (e) => e.event === 'DOWN' && e['pid'] === slowPid,
        SLOW_MS,
      )
      expect(target.events.indexOf(down)).toBeLessThan(target.events.indexOf(event))
      expect(down['reason']).toBe(JSON.stringify('shutdown'))
      expect(at(down) - stopAt).toBeGreaterThanOrEqual(args.stopDelayMs)

      const after = await waitForChildren([a!, b!], 31)
      expect(await watch.stop(), 'samples taken').toBeGreaterThan(0)
      expect(seenTwice).toEqual([])
      const now = after.find((x) => x.id === slow)!
      expect(now).toEqual({
        id: slow,
        pid: event['pid'],
        node: cluster.infos[cluster.nodes.indexOf(target)]!.id,
      })
      expect(await callChild(a!, slow)).toEqual({ node: now.node, args })
      // C's other children moved too, and the others stayed where they were.
      expect(after.filter((x) => x.node === ic!.id)).toEqual([])
      const stayed = before.filter((x) => x.node !== ic!.id)
      expect(after.filter((x) => stayed.some((y) => y.id === x.id))).toEqual(stayed)
      // Nobody else restarted or lost a child.
      for (const node of [a!, b!]) {
        const odd = node.events.filter(
          (e) => e.event === 'supEvent' && (e['kind'] === 'lost' || e['kind'] === 'restarted'),
        )
        expect(odd, `restarted or lost children on ${node.name}`).toEqual([])
      }
    },
  )

  it(
    'stops the children of a minority side and refuses starts there while the majority adopts them, never running one twice',
    { timeout: 120_000 },
    async () => {
      await using cluster = await proxiedCluster(['A', 'B', 'C'], FAST_HEARTBEAT)
      const { nodes, infos } = cluster
      const [a, b, c] = nodes
      const [ia, ib, ic] = infos
      await startSupervisors(nodes, {
        distribution: 'quorum',
        quorumAdoptDelayMs: 1500,
        watch: true,
      })
      await b!.request({ op: 'supStartMany', sup: SUP, count: 60, prefix: 'q' }, SLOW_MS)
      const before = await waitForChildren(nodes, 60)
      const onA = before.filter((x) => x.node === ia!.id)
      expect(onA.length, 'children placed on A').toBeGreaterThan(0)

      // Each node speaks for its own children only: B and C for theirs (they only add during the
      // split), then A for its own, asked after them (it only stops them), so a child reported by
      // A and by B or C ran on both at the time B or C answered. A's processes count while they
      // are alive: a suspended node leaves itself out of its whichChildren at once, while its
      // children are still stopping.
      const twice: string[] = []
      const watch = sampler(async () => {
        const [onB, onC] = await Promise.all([which(b!), which(c!)])
        const running = [
          ...onB.filter((x) => x.node === ib!.id),
          ...onC.filter((x) => x.node === ic!.id),
        ]
        const listedByA = (await which(a!)).filter((x) => x.node === ia!.id)
        const aliveOnA = await Promise.all(
          onA.map(async (x) => ((await a!.request({ op: 'alive', pid: x.pid })) ? x : undefined)),
        )
        const onAnow = new Map<string, Child>()
        for (const x of [...listedByA, ...aliveOnA]) if (x !== undefined) onAnow.set(x.id, x)
        const dups = duplicates([...running, ...onAnow.values()])
        if (dups.length > 0) twice.push(`${new Date().toISOString()}: ${dups.join(', ')}`)
      })

      const cutAt = Date.now()
      cluster.setLink(0, 1, 'close')
      cluster.setLink(0, 2, 'close')
      await waitForView(nodes, (i) => (i === 0 ? [] : [infos[3 - i]!.id]))

      // The minority stops its children and refuses new ones.
      await vi.waitFor(
        async () => {
          const s = await stats(a!)
          expect(s.quorum).toBe(false)
          expect(s.local).toBe(0)
        },
        { timeout: SLOW_MS, interval: 50 },
      )
      const stoppedAfter = Date.now() - cutAt
      for (const x of onA) expect(await a!.request({ op: 'alive', pid: x.pid })).toBe(false)
      const refusal = await startChild(a!, 'during-split').then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(ChildRequestError.is(refusal), String(refusal)).toBe(true)
      expect((refusal as ChildRequestError).childCode).toBe('QUORUM_NOT_MET')

      // The majority adopts them, each once.
      const adoptedAt = (await b!.request(
        { op: 'supAwaitCount', sup: SUP, count: 60, notOn: ia!.id, timeoutMs: SLOW_MS },
        SLOW_MS + 5000,
      )) as number
      const majority = await waitForChildren([b!, c!], 60)
      expect(majority.filter((x) => x.node === ia!.id)).toEqual([])
      expect(majority.map((x) => x.id).sort()).toEqual(before.map((x) => x.id).sort())
      console.info(
        `quorum split: ${onA.length} children stopped on A within ${stoppedAfter} ms, ` +
          `adopted by B and C ${(adoptedAt - cutAt).toFixed(0)} ms after the cut`,
      )
      // The sampler looks at the settled split a few more times before the heal.
      const takenSoFar = watch.taken()
      await vi.waitFor(() => expect(watch.taken()).toBeGreaterThanOrEqual(takenSoFar + 5), {
        timeout: SLOW_MS,
        interval: 50,
      })

      cluster.setLink(0, 1, 'pass')
      cluster.setLink(0, 2, 'pass')
      await waitForMesh(nodes, infos)
      const healed = await waitForChildren(nodes, 60)
      expect(healed).toEqual(majority)
      const samples = await watch.stop()
      expect(samples, 'samples taken').toBeGreaterThan(10)
      expect(twice, 'children seen on two nodes at once').toEqual([])

      // A takes starts again once it sees a majority.
      await vi.waitFor(async () => expect((await stats(a!)).quorum).toBe(true), {
        timeout: SLOW_MS,
        interval: 50,
      })
      const pid = await startChild(a!, 'after-heal')
      const all = await waitForChildren(nodes, 61)
      expect(all.find((x) => x.id === 'after-heal')?.pid).toBe(pid)
      for (const node of nodes) {
        const lost = node.events.filter((e) => e.event === 'supEvent' && e['kind'] === 'lost')
        expect(lost, `lost children on ${node.name}`).toEqual([])
      }
    },
  )

  it(
    'fences a node paused long enough to be taken down: its copies serve nothing after the pause, and each child runs once',
    { timeout: 120_000 },
    async () => {
      await using cluster = await proxiedCluster(['A', 'B', 'C'], FAST_HEARTBEAT)
      const { nodes, infos } = cluster
      const [a, b, c] = nodes
      const ia = infos[0]!
      await startSupervisors(nodes, { distribution: 'quorum', quorumAdoptDelayMs: 1500 })
      await b!.request({ op: 'supStartMany', sup: SUP, count: 60, prefix: 'f' }, SLOW_MS)
      const before = await waitForChildren(nodes, 60)
      const onA = before.filter((x) => x.node === ia.id)
      expect(onA.length, 'children placed on A').toBeGreaterThan(0)

      // A freezes, and its links go silent without closing: when it wakes up, nothing it reads
      // tells it that B and C took it down. Only its own clock does.
      process.kill(a!.pid, 'SIGSTOP')
      let calls: Array<Promise<unknown>> = []
      try {
        cluster.setLink(0, 1, 'blackhole')
        cluster.setLink(0, 2, 'blackhole')
        await b!.request(
          { op: 'supAwaitCount', sup: SUP, count: 60, notOn: ia.id, timeoutMs: SLOW_MS },
          SLOW_MS + 5000,
        )
        // Calls made on A to its own children wait in its IPC channel until it wakes up.
        calls = onA.map((x) => callChild(a!, x.id).catch((e: unknown) => e))
      } finally {
        process.kill(a!.pid, 'SIGCONT')
      }
      const answers = await Promise.all(calls)
      const servedByA = answers.filter((r) => (r as { node?: string } | undefined)?.node === ia.id)
      expect(servedByA, 'calls answered by the copies on the paused node').toEqual([])
      expect(a!.events.some((e) => e.event === 'paused')).toBe(true)
      for (const x of onA) expect(await a!.request({ op: 'alive', pid: x.pid })).toBe(false)

      // After the heal, every child runs once, on B or C where it was adopted.
      cluster.setLink(0, 1, 'pass')
      cluster.setLink(0, 2, 'pass')
      await waitForMesh(nodes, infos)
      const healed = await waitForChildren(nodes, 60)
      expect(duplicates(healed)).toEqual([])
      expect(healed.filter((x) => x.node === ia.id)).toEqual([])
      expect(healed.map((x) => x.id).sort()).toEqual(before.map((x) => x.id).sort())
      expect(c!.events.some((e) => e.event === 'nodeDown' && e['id'] === ia.id)).toBe(true)
    },
  )
})
