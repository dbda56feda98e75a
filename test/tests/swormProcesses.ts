// Real node processes running the swormNode fixture (test/dist/fixtures/swormNode.js) for the
// multi-process sworm tests: spawned, meshed, and read back.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { expect, vi } from 'vitest'
import { nodeOf } from '@swormjs/actor'
import { TEST_COOKIE, spawnNode, type ChildNode } from '../src/index.js'

const script = fileURLToPath(new URL('../dist/fixtures/swormNode.js', import.meta.url))
if (!existsSync(script)) {
  throw new Error(`${script} is missing: build first (npx turbo run build, or npm test)`)
}

/** Bound of the waits that are not the promise under test: generous, the machine is shared. */
export const SLOW_MS = 15_000

/** The outcome of one registration attempt, as the fixture's `register` op reports it. */
export type Attempt = { pid: string } | { code: string; holder?: string; error: string }

/** A Counter's state, as the fixture's `states` op reports it. */
export interface CounterState {
  n: number
  next: number
  bad: number[]
}

export interface SwormNodes extends AsyncDisposable {
  nodes: ChildNode[]
  ids: string[]
}

export function spawn(name: string, env: Record<string, string>): ChildNode {
  return spawnNode({
    script,
    name,
    env: { NODE_NAME: name, SWORM_COOKIE: TEST_COOKIE, ...env },
    readyTimeoutMs: SLOW_MS,
    requestTimeoutMs: 30_000,
  })
}

/**
 * Starts `n` node processes running `Rooms` (the first is the seed of the others) and waits
 * until every node sees every other and counts all of them as members of the sworm.
 */
export async function swormNodes(n: number, env: Record<string, string> = {}): Promise<SwormNodes> {
  const nodes: ChildNode[] = []
  const dispose = async (): Promise<void> => {
    await Promise.all(nodes.map((x) => x[Symbol.asyncDispose]()))
  }
  try {
    nodes.push(spawn('A', env))
    const seed = (await nodes[0]!.ready)['url'] as string
    for (let i = 1; i < n; i++) {
      nodes.push(spawn(String.fromCharCode(65 + i), { ...env, SEEDS: JSON.stringify([seed]) }))
    }
    const ids = (await Promise.all(nodes.map((x) => x.ready))).map((e) => e['id'] as string)
    await vi.waitFor(
      async () => {
        for (const x of nodes) {
          expect(await x.request({ op: 'nodes' })).toHaveLength(n - 1)
          expect(await x.request({ op: 'members' })).toBe(n)
        }
      },
      { timeout: SLOW_MS, interval: 50 },
    )
    return { nodes, ids, [Symbol.asyncDispose]: dispose }
  } catch (e) {
    await dispose()
    throw e
  }
}

export async function registered(node: ChildNode): Promise<Map<string, string>> {
  return new Map((await node.request({ op: 'registered' })) as Array<[string, string]>)
}

/** Every Counter running on `nodes`, by name (a name with two lists two pids). */
export async function workers(nodes: ChildNode[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>()
  for (const node of nodes) {
    for (const [name, pid] of (await node.request({ op: 'workers' })) as Array<[string, string]>)
      out.set(name, [...(out.get(name) ?? []), pid])
  }
  return out
}

/** Resolves once every one of `nodes` resolves exactly `count` names, all alike; returns them. */
export async function settled(nodes: ChildNode[], count: number): Promise<Map<string, string>> {
  let agreed = new Map<string, string>()
  await vi.waitFor(
    async () => {
      const views = await Promise.all(nodes.map(registered))
      for (const view of views) expect(view).toEqual(views[0])
      expect(views[0]!.size).toBe(count)
      agreed = views[0]!
    },
    { timeout: SLOW_MS, interval: 100 },
  )
  return agreed
}

/** Registers names `prefix0`, `prefix1`, ... from `node` until one is hosted by node `host`. */
export async function nameOn(node: ChildNode, hostId: string, prefix: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const name = `${prefix}${i}`
    const [result] = (await node.request({ op: 'register', names: [name] })) as Attempt[]
    if (result !== undefined && 'pid' in result && nodeOf(result.pid as never) === hostId)
      return name
  }
  throw new Error(`no name hashed to node ${hostId}`)
}

/** Resolves once `node` resolves `name` to a worker not on any of `notOn`; returns its host. */
export async function movedAwayFrom(
  node: ChildNode,
  name: string,
  notOn: string[],
): Promise<string> {
  let host = ''
  await vi.waitFor(
    async () => {
      const now = (await node.request({ op: 'hostOf', name })) as string | null
      expect(now).not.toBeNull()
      expect(notOn).not.toContain(now)
      host = now!
    },
    { timeout: SLOW_MS, interval: 50 },
  )
  return host
}
