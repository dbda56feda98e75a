// The supervisor suite end to end in quick mode: node processes per figure (killed, stopped,
// joined), one JSON line each, and no child left running afterwards.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { killAllChildren, liveChildren } from '@sworm/test'
import { runCli, type CliIo } from '../src/runner.js'

// The nodes run compiled JavaScript, so this file needs `test/dist` (`npm test` builds first).
const fixture = fileURLToPath(
  new URL('../../../test/dist/fixtures/clusterNode.js', import.meta.url),
)
if (!existsSync(fixture)) {
  throw new Error(
    `${fixture} is missing: build the test workspace first (npx turbo run build, or npm test)`,
  )
}

afterAll(killAllChildren)

function captureIo(): CliIo & { stdout: () => string; stderr: () => string } {
  let out = ''
  let err = ''
  return {
    out: (text) => {
      out += text
    },
    err: (text) => {
      err += text
    },
    stdout: () => out,
    stderr: () => err,
  }
}

describe('bench supervisor suite', () => {
  it('prints one line with a positive value per figure and leaves no node running', async () => {
    const io = captureIo()
    const code = await runCli(['supervisor', '--quick'], io)
    expect(code, io.stderr()).toBe(0)
    const lines = io
      .stdout()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines.map((l) => [l['bench'], l['unit']])).toEqual([
      ['supervisor.failover_10k', 'ms'],
      ['supervisor.leave_10k', 'ms'],
      ['supervisor.start_child', 'children/s'],
      ['supervisor.moved_on_join', 'fraction'],
    ])
    for (const line of lines) {
      expect(line).toMatchObject({ runs: 1, target: expect.any(String), pass: expect.any(Boolean) })
      expect(Number.isFinite(line['value'])).toBe(true)
      expect(line['value']).toBeGreaterThan(0)
    }
    expect(lines[0]!['afterClose']).toBeLessThanOrEqual(lines[0]!['value'] as number)
    expect(liveChildren()).toEqual([])
  }, 60_000)
})
