// The supervisor suite end to end in quick mode: node processes per figure (killed, silenced, stopped,
// joined), one JSON line each, and no child left running afterwards.
import { afterAll, describe, expect, it } from 'vitest'
import { killAllChildren } from '@swormjs/test'
import { NODE_FIXTURE, requireBuilt, runQuickSuite } from './helpers.js'

requireBuilt(NODE_FIXTURE)

afterAll(killAllChildren)

describe('bench supervisor suite', () => {
  it('prints one line with a positive value per figure and leaves no node running', async () => {
    const lines = await runQuickSuite(
      'supervisor',
      [
        ['supervisor.failover_10k', 'ms'],
        ['supervisor.failover_silent_10k', 'ms'],
        ['supervisor.leave_10k', 'ms'],
        ['supervisor.start_child', 'children/s'],
        ['supervisor.moved_on_join', 'fraction'],
      ],
      { pass: expect.any(Boolean) },
    )
    expect(lines[0]!['afterClose']).toBeLessThanOrEqual(lines[0]!['value'] as number)
    // A silent node is found by the detector, not by a close: after its bound, not at once.
    const silent = lines[1]!
    expect(silent['downing_bound_ms']).toBeGreaterThan(lines[0]!['value'] as number)
    expect(silent['after_down_ms']).toBeLessThan(silent['value'] as number)
  }, 60_000)
})
