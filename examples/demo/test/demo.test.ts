import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url))

describe('the demo', () => {
  it('answers every job despite worker crashes and a killed node, and exits 0', async () => {
    expect(existsSync(main), `${main} is missing: build first (npm test builds)`).toBe(true)
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>(
      (resolve) => {
        execFile(
          process.execPath,
          [main],
          { env: { ...process.env, DEMO_JOBS: '3000' }, timeout: 60_000 },
          (err, out) =>
            resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout: out }),
        )
      },
    )
    expect(stdout).toContain('OK: every job answered correctly')
    expect(stdout).toMatch(/lost jobs\s+0/)
    expect(stdout).toContain('down (closed)')
    expect(code).toBe(0)
  }, 70_000)
})
