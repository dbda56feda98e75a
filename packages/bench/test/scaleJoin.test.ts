// The join figure end to end at a small scale: four real node processes, one measurement with
// the event-loop figures of the joiner and the owners, and no child left running afterwards.
import { afterAll, describe, expect, it } from 'vitest'
import { killAllChildren, liveChildren } from '@swormjs/test'
import { joinFigures } from '../src/suites/scaleJoin.js'
import { quickOptions } from '../src/runner.js'
import { requireBuilt } from './helpers.js'

requireBuilt('../dist/child/joinNode.js')

afterAll(killAllChildren)

describe('bench join figure', () => {
  it('measures a join and the longest steps meanwhile, and leaves no node running', async () => {
    const notes: string[] = []
    const [figure] = joinFigures
    const m = await figure!.run({ ...quickOptions, note: (text) => notes.push(text) })
    expect(m).toMatchObject({ unit: 'ms', runs: 1, target: '<= 3000', count: 2000 })
    expect(m.value).toBeGreaterThan(0)
    for (const key of ['joinerMaxDelayMs', 'joinerMaxStepMs', 'ownersMaxDelayMs']) {
      expect(Number.isFinite(m[key]), key).toBe(true)
      expect(m[key], key).toBeGreaterThanOrEqual(0)
    }
    expect(notes).toHaveLength(1)
    expect(liveChildren()).toEqual([])
  }, 60_000)
})
