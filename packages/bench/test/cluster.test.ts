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
      ['cluster.codec_sworm', 'ns'],
      ['cluster.codec_v8', 'ns'],
      ['cluster.codec_msgpackr', 'ns'],
      ['cluster.codec_json', 'ns'],
    ])
    // Each codec's line says what each kind of message costs and weighs.
    for (const line of lines.slice(4)) {
      for (const kind of ['small', 'text', 'numbers', 'binary']) {
        expect(line[`${kind}_ns`]).toBeGreaterThan(0)
        expect(line[`${kind}_bytes`]).toBeGreaterThan(0)
      }
    }
    expect(lines[1]!['p99']).toBeGreaterThan(0)
  }, 30_000)
})
