// The registry suite end to end in quick mode: in-process figures, node processes and the churn
// child, one JSON line each, and no child left running afterwards.
import { afterAll, describe, expect, it } from 'vitest'
import { killAllChildren } from '@swormjs/test'
import { NODE_FIXTURE, requireBuilt, runQuickSuite } from './helpers.js'

requireBuilt(NODE_FIXTURE, '../dist/child/registryChurn.js')

afterAll(killAllChildren)

describe('bench registry suite', () => {
  it('prints one line with a positive value per figure and leaves no process running', async () => {
    const lines = await runQuickSuite(
      'registry',
      [
        ['registry.whereis', 'ns'],
        ['registry.register', 'registrations/s'],
        ['registry.register_3_nodes', 'registrations/s'],
        ['registry.converge_100k', 'ms'],
        ['registry.converge_stream', 'ms'],
        ['registry.heap_per_name', 'bytes'],
        ['registry.churn_heap_ratio', 'ratio'],
        ['registry.scrape_ms', 'ms'],
      ],
      { pass: expect.any(Boolean) },
    )
    // Compared with the machine's limits measured in the same run, and no other system's figure.
    expect(lines[0]).toMatchObject({ baseline_of: 'baseline.map_get_ns', ratio_target: '<= 1.5' })
    expect(lines[1]).not.toHaveProperty('horde')
    // Three nodes beside a lone one, in the same run.
    const three = lines[2]!
    expect(three['ratio_to_lone_node']).toBeCloseTo(
      (three['value'] as number) / (three['lone_node'] as number),
      1,
    )
    expect(three).toMatchObject({ ratio_target: '>= 0.5', ratio_pass: expect.any(Boolean) })
    expect(lines[3]).toMatchObject({
      baseline_of: 'baseline.yjs_converge_ms',
      ratio_target: '<= 2',
    })
    // Every name's time from due to seen: p99 at or above the median.
    expect(lines[4]!['p99']).toBeGreaterThanOrEqual(lines[4]!['value'] as number)
    expect(lines[4]).toMatchObject({ rate: 10_000, p99_target: '<= 50' })
    expect(lines[5]!['owner']).toBeGreaterThan(0)
    expect(lines[6]!['peak']).toBeGreaterThanOrEqual(lines[6]!['value'] as number)
    expect(lines[7]).toMatchObject({ target: '<= 50', count: expect.any(Number) })
  }, 30_000)
})
