// The sworm suite end to end in quick mode: sworm node processes per figure (one leaving under
// load), one JSON line each with no lost state or call, and no child left running afterwards.
import { afterAll, describe, expect, it } from 'vitest'
import { killAllChildren } from '@swormjs/test'
import { SWORM_FIXTURE, requireBuilt, runQuickSuite } from './helpers.js'

requireBuilt(SWORM_FIXTURE)

afterAll(killAllChildren)

describe('bench sworm suite', () => {
  it('prints one line per figure, loses no state and no call, and leaves no node running', async () => {
    const [leave, , lost] = await runQuickSuite(
      'sworm',
      [
        ['sworm.leave_handoff_10k', 'ms'],
        ['sworm.register', 'names/s'],
        ['sworm.lost_messages', 'count'],
      ],
      { pass: expect.any(Boolean) },
    )
    expect(leave).toMatchObject({ lost_state: 0 })
    expect(leave!['moved']).toBeGreaterThan(0)
    expect(lost).toMatchObject({ lost_total: 0 })
    expect(lost!['calls_to_moving_during_move']).toBeGreaterThan(0)
  }, 60_000)
})
