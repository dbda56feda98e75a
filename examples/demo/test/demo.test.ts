// Runs the README's demo (built) with fewer workers and shorter pauses: three node processes,
// a graceful stop, a kill -9 and two restarts under load; it must lose nothing it promises,
// the counts of the durable counters (`replicas: 1`) of the killed node included.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url))

describe('the demo', () => {
  it('moves counters with their counts, survives a kill -9, loses nothing promised, exits 0', async () => {
    expect(existsSync(main), `${main} is missing: build first (npm test builds)`).toBe(true)
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>(
      (resolve) => {
        execFile(
          process.execPath,
          [main],
          {
            env: {
              ...process.env,
              DEMO_WORKERS: '600',
              DEMO_DURABLE: '200',
              DEMO_STEADY_MS: '800',
            },
            timeout: 90_000,
          },
          (err, out) =>
            resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout: out }),
        )
      },
    )
    expect(stdout).toContain('OK: nothing lost where the library promises it')
    expect(stdout).toMatch(/lost \(calls or counts the library promises\)\s+0\n/)
    expect(stdout).toMatch(/workers\s+800\n/)
    expect(stdout).toMatch(/observer: http:\/\/127\.0\.0\.1:\d+\/\?token=/)
    expect(stdout).toContain('sees c down (closed)')
    // Every counter of the killed node restarted from zero, and the load saw it.
    expect(stdout).toMatch(/counters restarted from zero after the crash\s+[1-9]\d*\n/)
    // The durable counters of the killed node came back from their copies (none lost: above).
    expect(stdout).toMatch(/durable counters on the crashed node \(back from copies\)\s+[1-9]\d*\n/)
    // No node process left behind: all three exited.
    expect(stdout.match(/node [abc] exited/g)?.length).toBeGreaterThanOrEqual(5)
    expect(code).toBe(0)
  }, 100_000)
})
