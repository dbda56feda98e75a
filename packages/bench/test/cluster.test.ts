// The cluster suite end to end in quick mode: two real node processes per figure, one JSON line
// each, and no child left running afterwards.
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

describe('bench cluster suite', () => {
  it('prints one line with a positive value per figure and leaves no node running', async () => {
    const io = captureIo()
    const code = await runCli(['cluster', '--quick'], io)
    expect(code, io.stderr()).toBe(0)
    const lines = io
      .stdout()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines.map((l) => [l['bench'], l['unit']])).toEqual([
      ['cluster.cast', 'messages/s'],
      ['cluster.call', 'µs'],
      ['cluster.doc_visible', 'ms'],
      ['cluster.detect_close', 'ms'],
    ])
    for (const line of lines) {
      expect(line).toMatchObject({ runs: 1, target: expect.any(String) })
      expect(Number.isFinite(line['value'])).toBe(true)
      expect(line['value']).toBeGreaterThan(0)
    }
    expect(lines[1]!['p99']).toBeGreaterThan(0)
    expect(liveChildren()).toEqual([])
  }, 30_000)
})
