// The registry suite end to end in quick mode: in-process figures, node processes and the churn
// child, one JSON line each, and no child left running afterwards.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { killAllChildren, liveChildren } from '@sworm/test'
import { runCli, type CliIo } from '../src/runner.js'

// The nodes and the churn child run compiled JavaScript (`npm test` builds first).
for (const path of [
  new URL('../../../test/dist/fixtures/clusterNode.js', import.meta.url),
  new URL('../dist/child/registryChurn.js', import.meta.url),
]) {
  const file = fileURLToPath(path)
  if (!existsSync(file)) {
    throw new Error(`${file} is missing: build first (npx turbo run build, or npm test)`)
  }
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

describe('bench registry suite', () => {
  it('prints one line with a positive value per figure and leaves no process running', async () => {
    const io = captureIo()
    const code = await runCli(['registry', '--quick'], io)
    expect(code, io.stderr()).toBe(0)
    const lines = io
      .stdout()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines.map((l) => [l['bench'], l['unit']])).toEqual([
      ['registry.whereis', 'ns'],
      ['registry.register', 'registrations/s'],
      ['registry.converge_100k', 'ms'],
      ['registry.heap_per_name', 'bytes'],
      ['registry.churn_heap_ratio', 'ratio'],
    ])
    for (const line of lines) {
      expect(line).toMatchObject({ runs: 1, target: expect.any(String), pass: expect.any(Boolean) })
      expect(Number.isFinite(line['value'])).toBe(true)
      expect(line['value']).toBeGreaterThan(0)
    }
    expect(lines[1]).toMatchObject({ horde: 21_000, elixir_registry: 100_000 })
    expect(lines[3]!['owner']).toBeGreaterThan(0)
    expect(lines[4]!['peak']).toBeGreaterThanOrEqual(lines[4]!['value'] as number)
    expect(liveChildren()).toEqual([])
  }, 30_000)
})
