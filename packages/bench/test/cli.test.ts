// The bench runner through its functions: the listing, one quick figure, and bad names.
import { describe, expect, it } from 'vitest'
import { BASELINES } from '../src/baselines.js'
import { baselinesFor, runCli, selectFigures } from '../src/runner.js'
import { captureIo } from './helpers.js'

describe('bench cli', () => {
  it('lists every suite and figure when given no argument', async () => {
    const io = captureIo()
    expect(await runCli([], io)).toBe(0)
    for (const name of ['actor', 'actor.spawn', 'actor.send', 'actor.call', 'actor.memory']) {
      expect(io.stdout()).toContain(name)
    }
  })

  it.each(['actor.send', 'actor.call'])(
    'prints the baseline %s is compared with, then its line with a positive value and the ratio',
    async (figure) => {
      const io = captureIo()
      expect(await runCli([figure, '--quick'], io)).toBe(0)
      const lines = io
        .stdout()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>)
      expect(lines.map((l) => l['bench'])).toEqual(['baseline.map_get_ns', figure])
      const [base, line] = lines as [Record<string, unknown>, Record<string, unknown>]
      expect(base).toMatchObject({ unit: 'ns', runs: 1 })
      expect(line).toMatchObject({ bench: figure, unit: expect.any(String), runs: 1 })
      expect(typeof line['value']).toBe('number')
      expect(Number.isFinite(line['value'])).toBe(true)
      expect(line['value']).toBeGreaterThan(0)
      expect(line).toMatchObject({ baseline: base['value'], baseline_of: 'baseline.map_get_ns' })
      // actor.call is in µs, the baseline in ns; actor.send in messages/s.
      const value = line['value'] as number
      const inNs = figure === 'actor.call' ? value * 1000 : 1e9 / value
      const ratio = inNs / (base['value'] as number)
      expect(Math.abs((line['ratio'] as number) - ratio) / ratio).toBeLessThan(0.01)
    },
  )

  it('measures every baseline before a suite, and only those compared with before one figure', () => {
    const all = BASELINES
    expect(baselinesFor(selectFigures('actor')!, true)).toEqual(all)
    expect(baselinesFor(selectFigures('durable')!, true)).toEqual(all)
    expect(baselinesFor(selectFigures('actor.memory')!, false)).toEqual([])
    expect(baselinesFor(selectFigures('cluster.cast')!, false)).toEqual(['ws_msgs_per_s'])
    expect(baselinesFor(selectFigures('registry.converge_100k')!, false)).toEqual([
      'yjs_converge_ms',
    ])
  })

  it('exits with 2 and names the problem for an unknown suite or figure', async () => {
    for (const name of ['nope', 'actor.nope']) {
      const io = captureIo()
      expect(await runCli([name], io)).toBe(2)
      expect(io.stdout()).toBe('')
      expect(io.stderr()).toContain(`no suite or figure named "${name}"`)
    }
  })
})
