// The registry across real node processes: names and meta replicate, a kill -9ed node's names and
// group members vanish on the survivors within 1 s, and a healed partition settles every conflict
// the same way on every node (earliest registration wins, the loser exits with name_conflict).
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
  type ProxiedCluster,
} from './clusterProcesses.js'

/** The promise of failure detection: a kill -9ed node's names are gone everywhere within 1 s. */
const KILL_DETECTION_MS = 1000

const FAST_HEARTBEAT = {
  HEARTBEAT_INTERVAL_MS: '200',
  HEARTBEAT_TIMEOUT_MS: '600',
  RECONNECT_MAX_MS: '500',
}

const REGISTRY = 'rooms'

afterAll(killAllChildren)

/** A `[JSON name, pid]` row as the fixture's `regRegistered` lists it. */
type Row = [name: string, pid: string]

function register(
  node: ChildNode,
  key: unknown,
  options: { meta?: unknown; awaitReplication?: boolean } = {},
): Promise<string> {
  return node.request({ op: 'regRegister', registry: REGISTRY, key, ...options }) as Promise<string>
}

function whereis(node: ChildNode, key: unknown): Promise<string | null> {
  return node.request({ op: 'regWhereis', registry: REGISTRY, key }) as Promise<string | null>
}

function registered(node: ChildNode): Promise<Row[]> {
  return node.request({ op: 'regRegistered', registry: REGISTRY }) as Promise<Row[]>
}

function members(node: ChildNode, group: unknown): Promise<string[]> {
  return node.request({ op: 'regMembers', registry: REGISTRY, group }) as Promise<string[]>
}

async function join(node: ChildNode, group: unknown, pid: string): Promise<void> {
  await node.request({ op: 'regJoin', registry: REGISTRY, group, pid })
}

/**
 * Kills the holder of `name` on its node (`kill` skips `terminate`, so no `holderExit`) and waits
 * until that node's registry has let the name go.
 */
async function killHolder(node: ChildNode, name: string, pid: string): Promise<void> {
  await node.request({ op: 'kill', pid })
  await regEvent(node, { kind: 'unregister', name, pid, reason: 'exit' })
}

/** Rows sorted as the fixture sorts them, for comparison with `registered`. */
function rows(entries: Record<string, string>): Row[] {
  return Object.entries(entries)
    .map(([name, pid]): Row => [JSON.stringify(name), pid])
    .sort()
}

/**
 * Starts the registry (watched: `regEvent` lines) on every node and waits until each has every
 * other's doc: `awaitReplication` waits for the members a node knows, so only from then on does
 * it cover all of them.
 */
async function startRegistries(nodes: readonly ChildNode[]): Promise<void> {
  for (const node of nodes) await node.request({ op: 'regStart', registry: REGISTRY, watch: true })
  await vi.waitFor(
    async () => {
      for (const node of nodes) {
        const stats = (await node.request({ op: 'regStats', registry: REGISTRY })) as {
          nodes: number
        }
        expect(stats.nodes, `registries known to ${node.name}`).toBe(nodes.length)
      }
    },
    { timeout: SLOW_MS, interval: 50 },
  )
}

/** Resolves once every node's `registered()` is exactly `expected`. */
async function waitForRegistered(nodes: readonly ChildNode[], expected: Row[]): Promise<void> {
  await vi.waitFor(
    async () => {
      for (const node of nodes)
        expect(await registered(node), `registered() on ${node.name}`).toEqual(expected)
    },
    { timeout: SLOW_MS, interval: 50 },
  )
}

/** The `regEvent` a node printed for `name`, `pid` and `kind` (and `reason` for unregister). */
function regEvent(
  node: ChildNode,
  match: { kind: 'register' | 'unregister'; name: unknown; pid: string; reason?: string },
): Promise<ChildEvent> {
  return node.waitForEvent(
    (e) =>
      e.event === 'regEvent' &&
      e['kind'] === match.kind &&
      JSON.stringify(e['name']) === JSON.stringify(match.name) &&
      e['pid'] === match.pid &&
      (match.reason === undefined || e['reason'] === match.reason),
    SLOW_MS,
  )
}

/** The exit reason (JSON) the Holder `pid` printed on `node` when it exited. */
async function holderExit(node: ChildNode, pid: string): Promise<string> {
  const e = await node.waitForEvent((x) => x.event === 'holderExit' && x['pid'] === pid, SLOW_MS)
  return e['reason'] as string
}

/**
 * A registration's hybrid clock has millisecond resolution and ties go to the smaller node id:
 * to make a later registration on another node later for sure, let the wall clock move past the
 * millisecond of the earlier one (the processes share this machine's clock).
 */
async function pastMillisecondOf(event: ChildEvent): Promise<void> {
  const t = at(event)
  await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(t + 1), {
    timeout: SLOW_MS,
    interval: 2,
  })
}

/** Cuts every link to A (both directions) and waits until each side sees only itself. */
async function isolateA(cluster: ProxiedCluster): Promise<void> {
  const { nodes, infos } = cluster
  cluster.setLink(0, 1, 'close')
  cluster.setLink(0, 2, 'close')
  await waitForView(nodes, (i) => (i === 0 ? [] : [infos[3 - i]!.id]))
}

async function heal(cluster: ProxiedCluster): Promise<void> {
  cluster.setLink(0, 1, 'pass')
  cluster.setLink(0, 2, 'pass')
  await waitForMesh(cluster.nodes, cluster.infos)
}

describe('registry across processes', () => {
  it(
    'shows a name registered on A on B and C, with its meta, as soon as awaitReplication returns',
    { timeout: 60_000 },
    async () => {
      await using cluster = await seededCluster(['A', 'B', 'C'], FAST_HEARTBEAT)
      const [a, b, c] = cluster.nodes
      await startRegistries(cluster.nodes)

      const meta = { topic: 'tea', seats: [1, 2] }
      const pid = await register(a!, 'room:1', { meta, awaitReplication: true })
      // No waiting: the call returned, so B and C have it.
      const [onB, onC, listB, listC, metaB, metaC] = await Promise.all([
        whereis(b!, 'room:1'),
        whereis(c!, 'room:1'),
        registered(b!),
        registered(c!),
        b!.request({ op: 'regMeta', registry: REGISTRY, key: 'room:1' }),
        c!.request({ op: 'regMeta', registry: REGISTRY, key: 'room:1' }),
      ])
      expect(onB).toBe(pid)
      expect(onC).toBe(pid)
      expect(listB).toEqual(rows({ 'room:1': pid }))
      expect(listC).toEqual(rows({ 'room:1': pid }))
      expect(metaB).toEqual(meta)
      expect(metaC).toEqual(meta)
      expect(await whereis(a!, 'room:1')).toBe(pid)

      // JSON names are one name whatever the order of their keys.
      const jsonPid = await register(c!, { room: 2, kind: 'json' }, { awaitReplication: true })
      expect(await whereis(a!, { kind: 'json', room: 2 })).toBe(jsonPid)
      expect(await whereis(b!, { kind: 'json', room: 2 })).toBe(jsonPid)

      // Another node cannot take a live name: it is told who holds it.
      const refusal = await register(b!, 'room:1').then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(ChildRequestError.is(refusal)).toBe(true)
      expect((refusal as ChildRequestError).childCode).toBe('ALREADY_REGISTERED')
      expect((refusal as ChildRequestError).childMessage).toContain(pid)
      expect(await whereis(b!, 'room:1')).toBe(pid)

      // Unregistered from C (asked of A, its owner's node): gone everywhere.
      expect(await c!.request({ op: 'regUnregister', registry: REGISTRY, key: 'room:1' })).toBe(
        true,
      )
      await vi.waitFor(
        async () => {
          for (const node of cluster.nodes) expect(await whereis(node, 'room:1')).toBeNull()
        },
        { timeout: SLOW_MS, interval: 50 },
      )
    },
  )

  it(
    "drops a kill -9ed node's names on the survivors within 1 s, and its group members",
    { timeout: 60_000 },
    async () => {
      await using cluster = await seededCluster(['A', 'B', 'C'], FAST_HEARTBEAT)
      const [a, b, c] = cluster.nodes
      await startRegistries(cluster.nodes)

      const onA = await register(a!, 'a-0')
      const onB = await register(b!, 'b-0')
      const onC: Record<string, string> = {}
      for (let i = 0; i < 5; i++) onC[`c-${i}`] = await register(c!, `c-${i}`)
      const cPids = Object.values(onC)
      await join(a!, 'workers', onA)
      await join(c!, 'workers', cPids[0]!)
      await join(c!, 'workers', cPids[1]!)
      // A process of C joined from A: C's registry does it, asked over the mesh.
      await join(a!, 'workers', cPids[2]!)
      const everyone = rows({ 'a-0': onA, 'b-0': onB, ...onC })
      await waitForRegistered(cluster.nodes, everyone)
      await vi.waitFor(
        async () => {
          for (const node of cluster.nodes)
            expect(await members(node, 'workers')).toEqual([onA, ...cPids.slice(0, 3)].sort())
        },
        { timeout: SLOW_MS, interval: 50 },
      )

      const killedAt = Date.now()
      await c!.kill9()
      const gone = await Promise.all(
        [a!, b!].flatMap((node) =>
          Object.entries(onC).map((entry) =>
            regEvent(node, {
              kind: 'unregister',
              name: entry[0],
              pid: entry[1],
              reason: 'nodedown',
            }),
          ),
        ),
      )
      const delays = gone.map((e) => at(e) - killedAt)
      console.info(
        `kill -9 → names gone: A ${Math.max(...delays.slice(0, 5))} ms, ` +
          `B ${Math.max(...delays.slice(5))} ms (slowest of 5 names)`,
      )
      for (const delay of delays) expect(delay).toBeLessThanOrEqual(KILL_DETECTION_MS)

      const survivors = rows({ 'a-0': onA, 'b-0': onB })
      for (const node of [a!, b!]) {
        for (const name of Object.keys(onC)) expect(await whereis(node, name)).toBeNull()
        expect(await registered(node)).toEqual(survivors)
      }
      await vi.waitFor(
        async () => {
          for (const node of [a!, b!]) expect(await members(node, 'workers')).toEqual([onA])
        },
        { timeout: SLOW_MS, interval: 50 },
      )
      // Nobody else's names went with C.
      for (const node of [a!, b!])
        expect(node.events.filter((e) => e.event === 'holderExit')).toEqual([])
    },
  )

  it(
    "keeps the earlier registration of a name taken on both sides of {A} | {B, C}; A's exits with name_conflict",
    { timeout: 90_000 },
    async () => {
      await using cluster = await proxiedCluster(['A', 'B', 'C'], FAST_HEARTBEAT)
      const { nodes } = cluster
      const [a, b, c] = nodes
      await startRegistries(nodes)
      await isolateA(cluster)

      const onB = await register(b!, 'leader', { meta: { side: 'B' } })
      const registeredOnB = await regEvent(b!, { kind: 'register', name: 'leader', pid: onB })
      await vi.waitFor(async () => expect(await whereis(c!, 'leader')).toBe(onB), {
        timeout: SLOW_MS,
        interval: 50,
      })
      expect(await whereis(a!, 'leader')).toBeNull()
      await pastMillisecondOf(registeredOnB)
      const onA = await register(a!, 'leader', { meta: { side: 'A' } })
      expect(await whereis(a!, 'leader')).toBe(onA)

      await heal(cluster)
      await waitForRegistered(nodes, rows({ leader: onB }))
      for (const node of nodes) {
        expect(await node.request({ op: 'regMeta', registry: REGISTRY, key: 'leader' })).toEqual({
          side: 'B',
        })
      }
      expect(await holderExit(a!, onA)).toBe(JSON.stringify({ name_conflict: onB }))
      expect(await a!.request({ op: 'alive', pid: onA })).toBe(false)
      expect(await b!.request({ op: 'alive', pid: onB })).toBe(true)
      // A's listeners saw its holder lose the name to B's.
      await regEvent(a!, { kind: 'unregister', name: 'leader', pid: onA, reason: 'name_conflict' })
      await regEvent(a!, { kind: 'register', name: 'leader', pid: onB })
      for (const [node, pids] of [
        [a!, [onA]],
        [b!, []],
        [c!, []],
      ] as const) {
        const exited = node.events.filter((e) => e.event === 'holderExit').map((e) => e['pid'])
        expect(exited, `holders that exited on ${node.name}`).toEqual(pids)
      }
    },
  )

  it(
    'converges registrations, exits and unregistrations made on both sides of a partition',
    { timeout: 90_000 },
    async () => {
      await using cluster = await proxiedCluster(['A', 'B', 'C'], FAST_HEARTBEAT)
      const { nodes } = cluster
      const [a, b, c] = nodes
      await startRegistries(nodes)

      const before: Record<string, string> = {
        'a-keep': await register(a!, 'a-keep'),
        'a-exit': await register(a!, 'a-exit'),
        'a-split': await register(a!, 'a-split'),
        'b-keep': await register(b!, 'b-keep'),
        'b-exit': await register(b!, 'b-exit'),
        'c-keep': await register(c!, 'c-keep'),
        'c-unreg': await register(c!, 'c-unreg'),
        'c-freed': await register(c!, 'c-freed'),
      }
      await waitForRegistered(nodes, rows(before))

      await isolateA(cluster)
      const expected: Record<string, string> = { ...before }
      // New names on every node.
      for (const [i, node] of nodes.entries()) {
        for (let k = 0; k < 5; k++) {
          const name = `during-${'ABC'[i]}-${k}`
          expected[name] = await register(node, name)
        }
      }
      // Exits and unregistrations, each seen only by its side.
      await killHolder(a!, 'a-exit', before['a-exit']!)
      await killHolder(b!, 'b-exit', before['b-exit']!)
      expect(await b!.request({ op: 'regUnregister', registry: REGISTRY, key: 'c-unreg' })).toBe(
        true,
      )
      delete expected['a-exit']
      delete expected['b-exit']
      delete expected['c-unreg']
      // C's holder exits and A, which cannot see C, takes the name: A's is the only live one.
      await killHolder(c!, 'c-freed', before['c-freed']!)
      expected['c-freed'] = await register(a!, 'c-freed')
      // A's name is hidden on B's side, so B takes it too: A's registration is the earlier.
      const bSplit = await register(b!, 'a-split')
      // Taken on both sides during the split, C's side first, then A first.
      const cFirst = await register(c!, 'c-first')
      await pastMillisecondOf(
        await regEvent(c!, { kind: 'register', name: 'c-first', pid: cFirst }),
      )
      const aLate = await register(a!, 'c-first')
      const aFirst = await register(a!, 'a-first')
      await pastMillisecondOf(
        await regEvent(a!, { kind: 'register', name: 'a-first', pid: aFirst }),
      )
      const bLate = await register(b!, 'a-first')
      expected['c-first'] = cFirst
      expected['a-first'] = aFirst

      await heal(cluster)
      await waitForRegistered(nodes, rows(expected))
      expect(await holderExit(b!, bSplit)).toBe(
        JSON.stringify({ name_conflict: before['a-split'] }),
      )
      expect(await holderExit(a!, aLate)).toBe(JSON.stringify({ name_conflict: cFirst }))
      expect(await holderExit(b!, bLate)).toBe(JSON.stringify({ name_conflict: aFirst }))
      // The three losers are the only holders that exited on their own (killed ones print nothing):
      // a name whose holder died on one side and was taken on the other did not cost a process.
      const exited = nodes.flatMap((node) =>
        node.events.filter((e) => e.event === 'holderExit').map((e) => e['pid'] as string),
      )
      expect(exited.sort()).toEqual([bSplit, aLate, bLate].sort())
      // Every holder of a name that resolves is alive on its node.
      for (const [i, node] of nodes.entries()) {
        for (const [name, pid] of Object.entries(expected)) {
          if (!pid.startsWith(`<${cluster.infos[i]!.id}.`)) continue
          expect(await node.request({ op: 'alive', pid }), `holder of ${name}`).toBe(true)
        }
      }
    },
  )
})
