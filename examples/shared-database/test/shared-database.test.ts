// Runs the shared-database example against the PostgreSQL server `SWORM_TEST_PG` names (`.ci/run`
// starts one): every counter comes back with its count, those of the lost node on the others.
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { main } from '../src/main.js'

const url = process.env['SWORM_TEST_PG']

// Without a server there is nothing to run it against; CI always has one.
describe.skipIf(url === undefined)('the shared-database example', () => {
  it('brings every counter back after the whole cluster was killed', async () => {
    const lines: string[] = []
    const table = `sworm_example_${randomBytes(4).toString('hex')}`
    expect(await main(url!, (line) => lines.push(line), table)).toBe(true)
    expect(lines.at(-1)).toBe('OK: every counter came back with its count')
    // The lost node's counters run on the others now.
    const moved = lines.filter((l) => l.endsWith('(was on c)'))
    expect(moved.length).toBeGreaterThan(0)
    expect(moved.every((l) => !/on node c\b/.test(l))).toBe(true)
  }, 60_000)
})
