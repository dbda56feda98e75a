// The bench runner through its functions: the listing, one quick figure, and bad names.
import { describe, expect, it } from 'vitest'
import { runCli } from '../src/runner.js'
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
    'prints one JSON line with a positive value for %s',
    async (figure) => {
      const io = captureIo()
      expect(await runCli([figure, '--quick'], io)).toBe(0)
      const lines = io.stdout().trim().split('\n')
      expect(lines).toHaveLength(1)
      const line = JSON.parse(lines[0]!) as Record<string, unknown>
      expect(line).toMatchObject({ bench: figure, unit: expect.any(String), runs: 1 })
      expect(typeof line['value']).toBe('number')
      expect(Number.isFinite(line['value'])).toBe(true)
      expect(line['value']).toBeGreaterThan(0)
    },
  )

  it('exits with 2 and names the problem for an unknown suite or figure', async () => {
    for (const name of ['nope', 'actor.nope']) {
      const io = captureIo()
      expect(await runCli([name], io)).toBe(2)
      expect(io.stdout()).toBe('')
      expect(io.stderr()).toContain(`no suite or figure named "${name}"`)
    }
  })
})
