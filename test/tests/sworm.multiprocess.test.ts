// The sworm across real node processes on 127.0.0.1 (test/dist/fixtures/swormNode.js): concurrent
// registrations from every node give one worker per name; a name moves with its state when its
// node stops gracefully and starts afresh after a kill -9; numbered messages sent by name while
// two nodes leave all arrive, once, in order; the config file switches handoff on, and a typo in
// it fails the start with a clear message.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { nodeOf } from '@swormjs/actor'
import {
  SLOW_MS,
  movedAwayFrom,
  nameOn,
  settled,
  spawn,
  swormNodes,
  workers,
  type Attempt,
  type CounterState,
} from './swormProcesses.js'

const tmp = mkdtempSync(join(tmpdir(), 'sworm-mp-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

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
