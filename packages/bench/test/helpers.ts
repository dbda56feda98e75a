// Helpers of the bench tests: the runner's output captured, and a whole suite run in quick mode
// with the checks every suite's JSON lines must pass.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { expect } from 'vitest'
import { liveChildren } from '@swormjs/test'
import { BASELINES } from '../src/baselines.js'
import { runCli, type CliIo } from '../src/runner.js'

/** The node processes of the multi-node suites run this compiled fixture. */
export const NODE_FIXTURE = '../../../test/dist/fixtures/clusterNode.js'

/** The node processes of the sworm suite run this compiled script of the bench. */
export const SWORM_FIXTURE = '../dist/child/swormNode.js'

/** The runner's IO, keeping what it writes. */
export function captureIo(): CliIo & { stdout: () => string; stderr: () => string } {
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

/**
 * Throws unless each of `files` (relative to this folder) exists: the suites' child processes
 * run compiled JavaScript, which `npm test` builds first.
 */
export function requireBuilt(...files: string[]): void {
  for (const relative of files) {
    const file = fileURLToPath(new URL(relative, import.meta.url))
    if (!existsSync(file)) {
      throw new Error(`${file} is missing: build first (npx turbo run build, or npm test)`)
    }
  }
}

/**
 * Runs `suite` in quick mode and checks it: exit code 0, the four baselines first, then one JSON
 * line per figure of `figures`
 * (`[bench, unit]`, in order), each matching `{ runs: 1, target: <string>, ...shape }` with a
 * finite positive `value` (or, for a figure in unit `count`, which counts what went wrong, one
 * of at least 0), and no child process left running. Returns the lines.
 */
export async function runQuickSuite(
  suite: string,
  figures: ReadonlyArray<readonly [bench: string, unit: string]>,
  shape: Record<string, unknown> = {},
): Promise<Array<Record<string, unknown>>> {
  const io = captureIo()
  const code = await runCli([suite, '--quick'], io)
  expect(code, io.stderr()).toBe(0)
  const all = io
    .stdout()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
  // Every suite first prints the machine's limits, the same four, measured by the same code.
  const baselines = all.filter((l) => String(l['bench']).startsWith('baseline.'))
  expect(all.slice(0, baselines.length)).toEqual(baselines)
  expect(baselines.map((l) => l['bench'])).toEqual(BASELINES.map((b) => `baseline.${b}`))
  for (const b of baselines) expect(b['value']).toBeGreaterThan(0)
  const lines = all.slice(baselines.length)
  expect(lines.map((l) => [l['bench'], l['unit']])).toEqual(figures)
  // A figure compared with a limit carries it, and the ratio to it.
  const byName = new Map(baselines.map((b) => [b['bench'], b['value']]))
  for (const line of lines) {
    if (line['baseline_of'] === undefined) continue
    expect(line['baseline']).toBe(byName.get(line['baseline_of']))
    expect(line['ratio']).toBeGreaterThan(0)
  }
  for (const line of lines) {
    expect(line).toMatchObject({ runs: 1, target: expect.any(String), ...shape })
    expect(Number.isFinite(line['value'])).toBe(true)
    if (line['unit'] === 'count') expect(line['value']).toBeGreaterThanOrEqual(0)
    else expect(line['value']).toBeGreaterThan(0)
  }
  expect(liveChildren()).toEqual([])
  return lines
}
