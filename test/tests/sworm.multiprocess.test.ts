// The sworm across real node processes on 127.0.0.1 (test/dist/fixtures/swormNode.js): concurrent
// registrations from every node give one worker per name; a name moves with its state when its
// node stops gracefully and starts afresh after a kill -9; numbered messages sent by name while
// two nodes leave all arrive, once, in order; the config file switches handoff on, and a typo in
// it fails the start with a clear message.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { nodeOf } from '@sworm/actor'
import { TEST_COOKIE, spawnNode, type ChildNode } from '../src/index.js'

const script = fileURLToPath(new URL('../dist/fixtures/swormNode.js', import.meta.url))
if (!existsSync(script)) {
  throw new Error(`${script} is missing: build first (npx turbo run build, or npm test)`)
}

/** Bound of the waits that are not the promise under test: generous, the machine is shared. */
const SLOW_MS = 15_000

const tmp = mkdtempSync(join(tmpdir(), 'sworm-mp-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

/** The outcome of one registration attempt, as the fixture's `register` op reports it. */
type Attempt = { pid: string } | { code: string; holder?: string; error: string }

/** A Counter's state, as the fixture's `states` op reports it. */
interface CounterState {
  n: number
  next: number
  bad: number[]
}

interface SwormNodes extends AsyncDisposable {
  nodes: ChildNode[]
  ids: string[]
}

function spawn(name: string, env: Record<string, string>): ChildNode {
  return spawnNode({
    script,
    name,
    env: { NODE_NAME: name, SWORM_COOKIE: TEST_COOKIE, ...env },
    readyTimeoutMs: SLOW_MS,
    requestTimeoutMs: 30_000,
  })
}

/**
 * Starts `n` node processes running `Rooms` (the first is the seed of the others) and waits
 * until every node sees every other and counts all of them as members of the sworm.
 */
async function swormNodes(n: number, env: Record<string, string> = {}): Promise<SwormNodes> {
  const nodes: ChildNode[] = []
  const dispose = async (): Promise<void> => {
    await Promise.all(nodes.map((x) => x[Symbol.asyncDispose]()))
  }
  try {
    nodes.push(spawn('A', env))
    const seed = (await nodes[0]!.ready)['url'] as string
    for (let i = 1; i < n; i++) {
      nodes.push(spawn(String.fromCharCode(65 + i), { ...env, SEEDS: JSON.stringify([seed]) }))
    }
    const ids = (await Promise.all(nodes.map((x) => x.ready))).map((e) => e['id'] as string)
    await vi.waitFor(
      async () => {
        for (const x of nodes) {
          expect(await x.request({ op: 'nodes' })).toHaveLength(n - 1)
          expect(await x.request({ op: 'members' })).toBe(n)
        }
      },
      { timeout: SLOW_MS, interval: 50 },
    )
    return { nodes, ids, [Symbol.asyncDispose]: dispose }
  } catch (e) {
    await dispose()
    throw e
  }
}

async function registered(node: ChildNode): Promise<Map<string, string>> {
  return new Map((await node.request({ op: 'registered' })) as Array<[string, string]>)
}

/** Every Counter running on `nodes`, by name (a name with two lists two pids). */
async function workers(nodes: ChildNode[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>()
  for (const node of nodes) {
    for (const [name, pid] of (await node.request({ op: 'workers' })) as Array<[string, string]>)
      out.set(name, [...(out.get(name) ?? []), pid])
  }
  return out
}

/** Resolves once every one of `nodes` resolves exactly `count` names, all alike; returns them. */
async function settled(nodes: ChildNode[], count: number): Promise<Map<string, string>> {
  let agreed = new Map<string, string>()
  await vi.waitFor(
    async () => {
      const views = await Promise.all(nodes.map(registered))
      for (const view of views) expect(view).toEqual(views[0])
      expect(views[0]!.size).toBe(count)
      agreed = views[0]!
    },
    { timeout: SLOW_MS, interval: 100 },
  )
  return agreed
}

/** Registers names `prefix0`, `prefix1`, ... from `node` until one is hosted by node `host`. */
async function nameOn(node: ChildNode, hostId: string, prefix: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const name = `${prefix}${i}`
    const [result] = (await node.request({ op: 'register', names: [name] })) as Attempt[]
    if (result !== undefined && 'pid' in result && nodeOf(result.pid as never) === hostId)
      return name
  }
  throw new Error(`no name hashed to node ${hostId}`)
}

/** Resolves once `node` resolves `name` to a worker not on any of `notOn`; returns its host. */
async function movedAwayFrom(node: ChildNode, name: string, notOn: string[]): Promise<string> {
  let host = ''
  await vi.waitFor(
    async () => {
      const now = (await node.request({ op: 'hostOf', name })) as string | null
      expect(now).not.toBeNull()
      expect(notOn).not.toContain(now)
      host = now!
    },
    { timeout: SLOW_MS, interval: 50 },
  )
  return host
}

describe('sworm across node processes', () => {
  it(
    'gives one worker per name to 5 nodes registering the same 200 names at once',
    { timeout: 60_000 },
    async () => {
      await using c = await swormNodes(5)
      const names = Array.from({ length: 200 }, (_, i) => `room:${i}`)
      const results = (await Promise.all(
        c.nodes.map((x) => x.request({ op: 'register', names })),
      )) as Attempt[][]
      const holders = await settled(c.nodes, 200)
      const running = await workers(c.nodes)
      // Not one worker started and stopped again as a duplicate: each name's init ran once.
      const starts = (await Promise.all(c.nodes.map((x) => x.request({ op: 'starts' })))) as Array<
        Record<string, number>
      >
      const startedTwice = names.filter(
        (n) => starts.reduce((sum, s) => sum + (s[n] ?? 0), 0) !== 1,
      )
      expect(startedTwice).toEqual([])
      for (const [k, name] of names.entries()) {
        const holder = holders.get(name)!
        expect(running.get(name), `workers of ${name}`).toEqual([holder])
        const attempts = results.map((r) => r[k]!)
        // One attempt started the worker; every other was told who holds the name.
        expect(
          attempts.filter((a) => 'pid' in a),
          `winners for ${name}`,
        ).toEqual([{ pid: holder }])
        for (const a of attempts.filter((x) => !('pid' in x))) {
          expect(a, `a refused registration of ${name}`).toMatchObject({
            code: 'ALREADY_REGISTERED',
            holder,
          })
        }
      }

      // whereisOrRegisterName from every node at once, on the 200 names and 50 new ones: each
      // returns the one worker of the name.
      const more = [...names, ...Array.from({ length: 50 }, (_, i) => `new:${i}`)]
      const found = (await Promise.all(
        c.nodes.map((x) => x.request({ op: 'register', names: more, whereisOr: true })),
      )) as Attempt[][]
      const after = await settled(c.nodes, 250)
      const runningAfter = await workers(c.nodes)
      for (const [k, name] of more.entries()) {
        expect(runningAfter.get(name), `workers of ${name}`).toEqual([after.get(name)])
        for (const r of found)
          expect(r[k], `whereisOrRegisterName(${name})`).toEqual({ pid: after.get(name) })
      }
      for (const name of names) expect(after.get(name)).toBe(holders.get(name))
    },
  )

  it(
    'moves a counter at 4 with its count when its node stops, and restarts it at 0 after kill -9',
    { timeout: 60_000 },
    async () => {
      await using c = await swormNodes(3, { HANDOFF: '1' })
      const [a, b, cc] = c.nodes
      const [idA, idB, idC] = c.ids

      const graceful = await nameOn(a!, idC!, 'graceful:')
      for (let i = 0; i < 4; i++) await a!.request({ op: 'call', name: graceful, msg: 'inc' })
      expect(await cc!.stop(SLOW_MS), 'exit code of the node stopped by SIGTERM').toBe(0)
      await movedAwayFrom(a!, graceful, [idC!])
      expect(await a!.request({ op: 'call', name: graceful, msg: 'get' })).toBe(4)
      await movedAwayFrom(b!, graceful, [idC!])
      expect(await b!.request({ op: 'call', name: graceful, msg: 'get' })).toBe(4)

      const crashed = await nameOn(a!, idB!, 'crashed:')
      for (let i = 0; i < 4; i++) await a!.request({ op: 'call', name: crashed, msg: 'inc' })
      await b!.kill9()
      expect(await movedAwayFrom(a!, crashed, [idB!, idC!])).toBe(idA)
      expect(await a!.request({ op: 'call', name: crashed, msg: 'get' })).toBe(0)
    },
  )

  it(
    'delivers every numbered message sent by name to 1,000 names, once and in order, while two nodes leave',
    { timeout: 60_000 },
    async () => {
      await using c = await swormNodes(4, { HANDOFF: '1' })
      const [a, b, leaving1, leaving2] = c.nodes
      const [idA, idB, id1, id2] = c.ids
      const names = Array.from({ length: 1000 }, (_, i) => `room:${i}`)
      const results = (await a!.request({ op: 'register', names })) as Attempt[]
      expect(results.filter((r) => !('pid' in r))).toEqual([])
      const before = await settled(c.nodes, 1000)
      const hostedBy = (id: string): number =>
        [...before.values()].filter((p) => nodeOf(p as never) === id).length
      expect(hostedBy(id1!), 'names on the first node to leave').toBeGreaterThan(100)
      expect(hostedBy(id2!), 'names on the second node to leave').toBeGreaterThan(100)

      // The client on A sends round k (the number k to every name) every 20 ms throughout.
      const rounds = async (): Promise<number> => (await a!.request({ op: 'pumpRounds' })) as number
      const roundsPast = async (n: number): Promise<void> =>
        vi.waitFor(async () => expect(await rounds()).toBeGreaterThanOrEqual(n), {
          timeout: SLOW_MS,
          interval: 20,
        })
      await a!.request({ op: 'pumpStart', names, intervalMs: 20 })
      await roundsPast(5)
      // One leaves by its `stop` op (node.stop()), the other by SIGTERM.
      expect(await leaving1!.request({ op: 'stop' }, SLOW_MS)).toBe(true)
      expect((await leaving1!.exited).code).toBe(0)
      await roundsPast((await rounds()) + 5)
      expect(await leaving2!.stop(SLOW_MS)).toBe(0)
      await roundsPast((await rounds()) + 5)
      const sent = (await a!.request({ op: 'pumpStop' })) as {
        rounds: number
        notFound: number
        otherErrors: string[]
      }
      expect(sent).toMatchObject({ notFound: 0, otherErrors: [] })

      const after = await settled([a!, b!], 1000)
      expect([...after.values()].filter((p) => ![idA, idB].includes(nodeOf(p as never)))).toEqual(
        [],
      )
      let states: Record<string, CounterState> = {}
      await vi.waitFor(
        async () => {
          states = (await a!.request({ op: 'states', names })) as Record<string, CounterState>
          // A name still short of the last round is waited for, unless it already got one wrong.
          const short = names.filter(
            (n) => states[n]!.next < sent.rounds && states[n]!.bad.length === 0,
          )
          expect(short).toEqual([])
        },
        { timeout: SLOW_MS, interval: 200 },
      )
      // Each name got 0, 1, ..., rounds - 1: none missing, none twice, none out of order.
      const wrong = names.filter(
        (n) => states[n]!.next !== sent.rounds || states[n]!.bad.length > 0,
      )
      expect(wrong.map((n) => ({ name: n, ...states[n] }))).toEqual([])
      console.info(
        `numbered messages: ${sent.rounds} rounds × 1000 names while ${hostedBy(id1!)} + ` +
          `${hostedBy(id2!)} names moved, every counter exact`,
      )
    },
  )

  it(
    'switches handoff on from sworm.config.json in the working directory',
    { timeout: 60_000 },
    async () => {
      // Rooms leaves handoff off in the class (no HANDOFF): only the file turns it on.
      const dir = mkdtempSync(join(tmp, 'cwd-'))
      writeFileSync(join(dir, 'sworm.config.json'), JSON.stringify({ Rooms: { handoff: true } }))
      await using c = await swormNodes(2, { WORKDIR: dir })
      const [a, b] = c.nodes
      const name = await nameOn(a!, c.ids[1]!, 'configured:')
      for (let i = 0; i < 4; i++) await a!.request({ op: 'call', name, msg: 'inc' })
      expect(await b!.stop(SLOW_MS)).toBe(0)
      await movedAwayFrom(a!, name, [c.ids[1]!])
      expect(await a!.request({ op: 'call', name, msg: 'get' })).toBe(4)
    },
  )

  it('fails the start on a typo in the config file, naming the file, the key and the fix', async () => {
    const file = join(tmp, 'typo.json')
    writeFileSync(file, JSON.stringify({ Rooms: { handof: true } }))
    await using node = spawn('typo', { SWORM_CONFIG: file })
    await expect(node.ready).rejects.toThrow(/exited with code 1 before it was ready/)
    expect(node.exitCode).toBe(1)
    const error = node.events.find((e) => e.event === 'startupError')
    expect(error).toMatchObject({ name: 'ConfigError', code: 'CONFIG_ERROR' })
    const message = error!['message'] as string
    expect(message).toContain(file)
    expect(message).toContain('Rooms.handof')
    expect(message).toContain('did you mean "handoff"?')
  })
})
