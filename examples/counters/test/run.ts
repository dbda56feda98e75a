// Runs the README's program (dist/node.js) as a real process with the environment given, and
// stops such processes one after another, as a rolling stop would.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { expect } from 'vitest'

const script = fileURLToPath(new URL('../dist/node.js', import.meta.url))

export interface Run {
  child: ChildProcess
  out: string[]
  /** The line the program prints once it has counted. */
  counted: Promise<string>
}

export function run(env: Record<string, string>): Run {
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const out: string[] = []
  const counted = new Promise<string>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      for (const line of chunk.split('\n').filter(Boolean)) {
        out.push(line)
        if (line.includes('page:home =')) resolve(line)
      }
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => out.push(chunk))
    child.on('exit', (code) =>
      reject(new Error(`exited ${code} before counting:\n${out.join('\n')}`)),
    )
  })
  counted.catch(() => undefined)
  return { child, out, counted }
}

/** SIGTERM to each in turn (each graceful stop hands its names to those still up); all exit 0. */
export async function stopAll(runs: Run[]): Promise<void> {
  const codes: Array<number | null> = []
  for (const r of runs) {
    if (r.child.exitCode === null && r.child.signalCode === null) {
      const exited = once(r.child, 'exit')
      r.child.kill('SIGTERM')
      await exited
    }
    codes.push(r.child.exitCode)
  }
  expect(codes, runs.map((r) => r.out.join('\n')).join('\n')).toEqual(runs.map(() => 0))
}
