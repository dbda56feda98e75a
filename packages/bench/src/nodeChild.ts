// Runs a module of this package in a child Node process, for measurements that need their own
// heap or flags (a forced GC, a clean process).
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/**
 * Runs `node ...nodeFlags <module> ...args`, where `module` is a URL (usually
 * `new URL('./child/x.js', import.meta.url)`). Resolves with its stdout; each stderr line goes to
 * `note`. Rejects when the module is not built or the child fails.
 */
export async function runNodeChild(
  module: URL,
  options: {
    nodeFlags?: readonly string[]
    args?: readonly string[]
    note: (text: string) => void
  },
): Promise<string> {
  const path = fileURLToPath(module)
  if (!existsSync(path)) {
    throw new Error(`${path} does not exist: build @swormjs/bench first (npm run build)`)
  }
  const child = spawn(
    process.execPath,
    [...(options.nodeFlags ?? []), path, ...(options.args ?? [])],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let stdout = ''
  let stderrTail = ''
  child.stdout.setEncoding('utf8')
  child.stderr.setEncoding('utf8')
  child.stdout.on('data', (chunk: string) => {
    stdout += chunk
  })
  child.stderr.on('data', (chunk: string) => {
    const lines = (stderrTail + chunk).split('\n')
    stderrTail = lines.pop() ?? ''
    for (const line of lines) options.note(line)
  })
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', resolve)
  })
  if (stderrTail !== '') options.note(stderrTail)
  if (code !== 0) throw new Error(`${path} exited with code ${String(code)}`)
  return stdout
}
