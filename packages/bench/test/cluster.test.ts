// The cluster suite end to end in quick mode: two real node processes per figure, one JSON line
// each, and no child left running afterwards.
import { afterAll, describe, expect, it } from 'vitest'
import { killAllChildren } from '@swormjs/test'
import { NODE_FIXTURE, requireBuilt, runQuickSuite } from './helpers.js'

requireBuilt(NODE_FIXTURE)

afterAll(killAllChildren)

describe('bench cluster suite', () => {
  it('prints one line with a positive value per figure and leaves no node running', async () => {
    const lines = await runQuickSuite('cluster', [
      ['cluster.cast', 'messages/s'],
      ['cluster.call', 'µs'],
      ['cluster.doc_visible', 'ms'],
      ['cluster.detect_close', 'ms'],
    ])
    expect(lines[1]!['p99']).toBeGreaterThan(0)
  }, 30_000)
})
