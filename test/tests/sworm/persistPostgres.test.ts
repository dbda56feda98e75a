// `persist: { postgres }` against a real PostgreSQL server (the one `SWORM_TEST_PG` names;
// `.ci/run` installs and starts one): every node's names in one table, so that after the whole
// cluster was killed, the names come back with their counts, those of a node that never comes
// back included (claimed by the node their hash picks, once); and a crashed node's names are
// adopted from the table with their counts, without replicas.
import { randomBytes } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import pg from 'pg'
import { silentLogger } from '@swormjs/actor'
import { ConfigError, Sworm, startNode, type SwormNode } from '@swormjs/sworm'
import { TEST_COOKIE, waitUntil } from '../../src/index.js'
import { MergingCounter } from './mergingCounter.js'

const url = process.env['SWORM_TEST_PG']
const table = `sworm_test_${randomBytes(4).toString('hex')}`

const Counter = MergingCounter

const NAMES = Array.from({ length: 40 }, (_, i) => `pg${i}`)

async function nodes(names: string[], S: typeof Sworm): Promise<SwormNode[]> {
  const out: SwormNode[] = []
  for (const name of names) {
    out.push(
      await startNode({
        name,
        cookie: TEST_COOKIE,
        logger: silentLogger,
        children: [S],
        seeds: out.length === 0 ? [] : [out[0]!.url],
      }),
    )
  }
  return out
}

// Without a server to talk to there is nothing to test: a developer without PostgreSQL runs the
// rest; CI always has one (`.ci/run` starts it and sets SWORM_TEST_PG).
describe.skipIf(url === undefined)('persist in PostgreSQL', () => {
  afterAll(async () => {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    await client.query(`DROP TABLE IF EXISTS ${table}`)
    await client.query(`DROP TABLE IF EXISTS ${table}_adopt`)
    await client.end()
  })

  class Shared extends Sworm {
    static override actors = { Counter }
    static override options = {
      handoff: true,
      persist: { postgres: url ?? '', table, orphanAfterMs: 300 },
    }
  }

  it('brings every name back after the whole cluster was killed, a lost node’s on the others', async () => {
    const first = await nodes(['pa', 'pb', 'pc'], Shared)
    const sworm = Shared.on(first[0]!)
    await waitUntil(() => sworm.nodes().length === 3, 5000, 'three members')
    for (const [i, name] of NAMES.entries()) {
      await sworm.registerName(name, Counter)
      for (let k = 0; k <= i % 5; k++) await sworm.call(name, 'inc')
    }
    const onC = NAMES.filter((n) => sworm.whereis(n)?.includes(first[2]!.id))
    expect(onC.length).toBeGreaterThan(0)
    await Promise.all(first.map((n) => n.kill()))

    // pa and pb come back; pc never does (its machine is gone), and pd is new.
    const again = await nodes(['pa', 'pb', 'pd'], Shared)
    try {
      const s = Shared.on(again[2]!)
      await waitUntil(() => s.registered().length === NAMES.length, 10_000, 'every name back')
      const counts = await Promise.all(NAMES.map((n) => s.call<number>(n, 'get')))
      expect(counts).toEqual(NAMES.map((_, i) => (i % 5) + 1))
    } finally {
      await Promise.all(again.map((n) => n.stop()))
    }
  })

  it('adopts a crashed node’s names from the database with their counts (no replicas)', async () => {
    class Adopt extends Sworm {
      static override actors = { Counter }
      static override options = {
        handoff: true,
        persist: { postgres: url ?? '', table: `${table}_adopt` },
      }
    }
    const running = await nodes(['qa', 'qb', 'qc'], Adopt)
    try {
      const sworm = Adopt.on(running[0]!)
      await waitUntil(() => sworm.nodes().length === 3, 5000, 'three members')
      for (const [i, name] of NAMES.entries()) {
        await sworm.registerName(name, Counter)
        for (let k = 0; k <= i % 5; k++) await sworm.call(name, 'inc')
      }
      const victim = running[2]!
      const itsNames = NAMES.filter((n) => sworm.whereis(n)?.includes(victim.id))
      expect(itsNames.length).toBeGreaterThan(0)
      await victim.kill()
      await waitUntil(
        () =>
          NAMES.every(
            (n) => sworm.whereis(n) !== undefined && !sworm.whereis(n)!.includes(victim.id),
          ),
        10_000,
        'its names adopted',
      )
      const counts = await Promise.all(NAMES.map((n) => sworm.call<number>(n, 'get')))
      expect(counts).toEqual(NAMES.map((_, i) => (i % 5) + 1))
    } finally {
      await Promise.all(running.slice(0, 2).map((n) => n.stop()))
    }
  })

  it('refuses a table name that is not a plain identifier', async () => {
    class Bad extends Sworm {
      static override actors = { Counter }
      static override options = {
        handoff: true,
        persist: { postgres: url ?? '', table: 'x; drop' },
      }
    }
    await expect(nodes(['pz'], Bad)).rejects.toSatisfy((e) => ConfigError.is(e))
  })
})
