// The process harness against a real child (test/dist/fixtures/echoChild.js, run with plain node).
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import {
  ChildRequestError,
  HarnessError,
  HarnessErrorCode,
  killAllChildren,
  liveChildren,
  spawnNode,
  spawnNodes,
} from '../src/index.js'

// Children run compiled JavaScript, so this file needs `dist` (`npm test` builds before vitest).
const echoChild = fileURLToPath(new URL('../dist/fixtures/echoChild.js', import.meta.url))
if (!existsSync(echoChild)) {
  throw new Error(
    `${echoChild} is missing: build the test workspace first (npx turbo run build, or npm test)`,
  )
}

/** Every pid a test started, to check at the end that none is left running. */
const pids = new Set<number>()

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

afterAll(killAllChildren)

describe('ProcessHarness', () => {
  it('resolves ready with the payload of the ready line', async () => {
    await using child = spawnNode({
      script: echoChild,
      args: ['--flag'],
      env: { ECHO_TAG: 'tagged' },
      name: 'echo',
    })
    pids.add(child.pid)
    const ready = await child.ready
    expect(ready).toEqual({ event: 'ready', pid: child.pid, args: ['--flag'], tag: 'tagged' })
    expect(child.events).toEqual([ready])
    expect(child.running).toBe(true)
  })

  it('round-trips a request and records emitted events in order', async () => {
    await using child = spawnNode({ script: echoChild })
    pids.add(child.pid)
    await child.ready
    expect(await child.request({ op: 'echo', value: { n: 1, list: ['a'] } })).toEqual({
      n: 1,
      list: ['a'],
    })
    const results = await Promise.all([1, 2, 3].map((n) => child.request({ op: 'echo', value: n })))
    expect(results).toEqual([1, 2, 3])

    await child.request({ op: 'emit', event: 'first' })
    await child.request({ op: 'emit', event: 'second' })
    const second = await child.waitForEvent('second', 5_000)
    expect(second).toMatchObject({ event: 'second', pid: child.pid })
    expect(child.events.map((e) => e.event)).toEqual(['ready', 'first', 'second'])
  })

  it('rejects a request with the message of an error reply', async () => {
    await using child = spawnNode({ script: echoChild })
    pids.add(child.pid)
    await child.ready
    const failed = child.request({ op: 'fail', message: 'boom' })
    await expect(failed).rejects.toThrow(/fail failed: boom/)
    const error: unknown = await failed.catch((e: unknown) => e)
    expect(ChildRequestError.is(error)).toBe(true)
    expect((error as ChildRequestError).childMessage).toBe('boom')
    await expect(child.request({ op: 'nope' })).rejects.toThrow(/unknown op "nope"/)
    // The child is still fine after errors.
    expect(await child.request({ op: 'echo', value: 'ok' })).toBe('ok')
  })

  it('rejects a pending request promptly when the child is killed with SIGKILL', async () => {
    await using child = spawnNode({ script: echoChild })
    pids.add(child.pid)
    await child.ready
    const pending = child.request({ op: 'hang' }, 15_000)
    const started = performance.now()
    await child.kill9()
    await expect(pending).rejects.toSatisfy((e: unknown) =>
      HarnessError.is(e, HarnessErrorCode.ChildExited),
    )
    await expect(pending).rejects.toThrow(/killed by SIGKILL before it replied to hang/)
    expect(performance.now() - started).toBeLessThan(5_000)
    expect(child.running).toBe(false)
    expect(child.exitSignal).toBe('SIGKILL')
    expect(isRunning(child.pid)).toBe(false)
    await expect(child.request({ op: 'echo', value: 1 })).rejects.toThrow(/SIGKILL/)
  })

  it('stops with SIGTERM and resolves with the exit code', async () => {
    await using child = spawnNode({ script: echoChild })
    pids.add(child.pid)
    await child.ready
    expect(await child.stop(5_000)).toBe(0)
    expect(child.exitCode).toBe(0)
    expect(child.exitSignal).toBeNull()
    expect(child.events.map((e) => e.event)).toEqual(['ready', 'sigterm'])
  })

  it('rejects ready when the child exits before it is ready, with its stderr', async () => {
    await using child = spawnNode({
      script: echoChild,
      execArgv: ['--eval', 'console.error("no luck"); process.exit(3)'],
    })
    pids.add(child.pid)
    await expect(child.ready).rejects.toThrow(
      /exited with code 3 before it was ready[\s\S]*no luck/,
    )
    expect(child.exitCode).toBe(3)
  })

  it('restarts the script in a fresh process with a new pid', async () => {
    await using child = spawnNode({ script: echoChild })
    const first = child.pid
    pids.add(first)
    await child.ready
    await child.kill9()

    const ready = await child.restart()
    pids.add(child.pid)
    expect(child.pid).not.toBe(first)
    expect(ready).toMatchObject({ event: 'ready', pid: child.pid })
    expect(await child.ready).toBe(ready)
    expect(child.running).toBe(true)
    expect(child.events).toEqual([ready])
    expect(await child.request({ op: 'echo', value: 'again' })).toBe('again')

    // Restarting a running child stops it first.
    const second = child.pid
    await child.restart()
    pids.add(child.pid)
    expect(child.pid).not.toBe(second)
    expect(isRunning(second)).toBe(false)
  })

  it('restarts with variables set over its environment, for that run and the later ones', async () => {
    await using child = spawnNode({ script: echoChild, env: { ECHO_TAG: 'first' } })
    expect(await child.ready).toMatchObject({ tag: 'first' })
    expect(await child.restart({ ECHO_TAG: 'second' })).toMatchObject({ tag: 'second' })
    pids.add(child.pid)
    expect(await child.restart()).toMatchObject({ tag: 'second' })
    pids.add(child.pid)
  })

  it('spawns several nodes and kills them all', async () => {
    const nodes = await spawnNodes(3, { script: echoChild, name: 'n' })
    for (const node of nodes) pids.add(node.pid)
    expect(nodes.map((node) => node.name)).toEqual(['n-0', 'n-1', 'n-2'])
    expect(new Set(nodes.map((node) => node.pid)).size).toBe(3)
    expect(liveChildren()).toEqual(expect.arrayContaining(nodes.map((node) => node.pid)))

    await killAllChildren()
    expect(liveChildren()).toEqual([])
    expect(nodes.every((node) => !node.running)).toBe(true)
  })

  it('leaves no child running after the tests', async () => {
    await killAllChildren()
    expect(pids.size).toBeGreaterThanOrEqual(9)
    for (const pid of pids) expect(isRunning(pid), `pid ${pid}`).toBe(false)
  })
})
