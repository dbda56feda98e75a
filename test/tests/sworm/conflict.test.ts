// A name registered on both sides of a split: after the heal one worker survives cluster-wide,
// the earliest registration's; with handoff on it has received the loser's state through
// `resolveConflict` before the loser stopped, with handoff off it keeps its own. The observer
// of the loser's node lists each merge among its recent events.
import { describe, expect, it, vi } from 'vitest'
import { nodeOf, type Pid } from '@swormjs/actor'
import type { Node } from '@swormjs/cluster'
import { observe, type Observer } from '@swormjs/observe'
import { encodeName } from '@swormjs/registry'
import { Actor, Sworm, runSworm, type SwormInstance } from '@swormjs/sworm'
import {
  fastFailureDetection,
  pastMillisecond,
  pause,
  proxiedCluster,
  waitUntil,
} from '../../src/index.js'

/** Every Counter started in this OS process (pid → name): which of them still run is the truth. */
const census = new Map<Pid, string>()

/** A counter whose conflict merge adds the loser's count to its own. */
class Counter extends Actor<string> {
  n = 0
  override init(name: string): void {
    census.set(this.self, name)
  }
  override handleCall(msg: unknown): unknown {
    if (msg === 'inc') return ++this.n
    return this.n
  }
  override beginHandoff(): unknown {
    return this.n
  }
  override resolveConflict(loserCount: number): void {
    this.n += loserCount
  }
}

class Rooms extends Sworm {
  static override options = { handoff: true }
  static override actors = { Counter }
}

/** The same counter, which also starts from a handed-over count (a copy, with replicas). */
class DurableCounter extends Counter {
  override endHandoff(n: number): void {
    this.n = n
  }
}

class DurableRooms extends Sworm {
  static override options = { handoff: true, replicas: 1 }
  static override actors = { Counter: DurableCounter }
}

/** The observer's `sworm_conflicts_total` for sworm Rooms (0 when it has no line yet). */
async function conflictsCounted(o: Observer): Promise<number> {
  const text = await o.promRegistry!.getSingleMetricAsString('sworm_conflicts_total')
  const line = text
    .split('\n')
    .find((l) => l.startsWith('sworm_conflicts_total{') && l.includes('sworm="Rooms"'))
  return line === undefined ? 0 : Number(line.split(' ').pop())
}

class PlainRooms extends Sworm {
  static override actors = { Counter }
}

class SpreadRooms extends Sworm {
  static override options = { handoff: true, redistribution: 'active' as const }
  static override actors = { Counter }
}

/** The Counters still running in this OS process under `name`, on any of `nodes`. */
function running(nodes: Node[], name: string): Pid[] {
  return [...census]
    .filter(([pid, n]) => n === name && nodes.some((node) => node.runtime.isAlive(pid)))
    .map(([pid]) => pid)
}

const NAMES = Array.from({ length: 10 }, (_, i) => `room:${i}`)

/**
 * Splits two nodes, registers every name on node 0 (counted up to i + 1) and then on node 1
 * (counted up to 10), heals, and waits until each name has one worker, resolved alike by both.
 */
async function splitRegisterHeal(
  sworm: typeof Sworm,
  Type: typeof Counter = Counter,
): Promise<{
  nodes: Node[]
  instances: SwormInstance[]
  first: Map<string, Pid>
  second: Map<string, Pid>
  conflicts: Array<{ name: unknown; loser: Pid; winner: Pid; merged: boolean }>
  /** Each node's observer, started before the sworm (it follows the sworm once it starts). */
  observers: Observer[]
  [Symbol.asyncDispose](): Promise<void>
}> {
  census.clear()
  const cluster = await proxiedCluster(2, fastFailureDetection(150, 600))
  const nodes = cluster.nodes
  const observers = nodes.map((node) => observe(node))
  const instances = [await runSworm(nodes[0]!, sworm), await runSworm(nodes[1]!, sworm)]
  const conflicts: Array<{ name: unknown; loser: Pid; winner: Pid; merged: boolean }> = []
  for (const inst of instances) {
    inst.on('conflict', (name, loser, winner, merged) =>
      conflicts.push({ name, loser, winner, merged }),
    )
  }
  await waitUntil(
    () => instances.every((i) => i.supervisor.stats().members === 2),
    5000,
    'the sworm on both nodes',
  )

  await cluster.split([1])
  await waitUntil(
    () => instances.every((i) => i.supervisor.stats().members === 1),
    5000,
    'each side to count itself alone',
  )
  const first = new Map<string, Pid>()
  const second = new Map<string, Pid>()
  for (const [i, name] of NAMES.entries()) {
    first.set(name, await instances[0]!.registerName(name, Type, name))
    for (let k = 0; k <= i; k++) await instances[0]!.call(name, 'inc')
  }
  // The registrations on node 1 come later: node 0's win after the heal.
  await pastMillisecond()
  for (const name of NAMES) {
    second.set(name, await instances[1]!.registerName(name, Type, name))
    for (let k = 0; k < 10; k++) await instances[1]!.call(name, 'inc')
  }
  for (const name of NAMES) {
    expect(nodeOf(first.get(name)!)).toBe(nodes[0]!.id)
    expect(nodeOf(second.get(name)!)).toBe(nodes[1]!.id)
    expect(running(nodes, name)).toHaveLength(2)
  }

  await cluster.heal()
  await waitUntil(
    () =>
      NAMES.every(
        (name) =>
          running(nodes, name).length === 1 &&
          instances.every((i) => i.whereis(name) === running(nodes, name)[0]),
      ),
    10_000,
    'one worker per name, resolved alike on both nodes',
  )
  return {
    nodes,
    instances,
    first,
    second,
    conflicts,
    observers,
    async [Symbol.asyncDispose]() {
      for (const o of observers) o.close()
      await cluster[Symbol.asyncDispose]()
    },
  }
}

describe('name conflicts after a split', () => {
  it('keeps one worker per name, which received the loser’s state (handoff on)', async () => {
    await using s = await splitRegisterHeal(Rooms)
    for (const [i, name] of NAMES.entries()) {
      expect(running(s.nodes, name)).toEqual([s.first.get(name)])
      // Its own i + 1, plus the loser's 10. The loser's node sent its state before the loser
      // stopped, but from another node: it may still be on its way when the loser is seen gone.
      for (const inst of s.instances) {
        await vi.waitFor(async () => expect(await inst.call(name, 'get')).toBe(i + 1 + 10), {
          timeout: 2000,
          interval: 20,
        })
      }
    }
    expect(s.conflicts.sort((x, y) => String(x.name).localeCompare(String(y.name)))).toEqual(
      [...NAMES].sort().map((name) => ({
        name,
        loser: s.second.get(name),
        winner: s.first.get(name),
        merged: true,
      })),
    )
    const merges = s.observers[1]!.state().events.filter((e) => e.kind === 'merge')
    expect(merges.map((e) => e.name).sort()).toEqual([...NAMES].sort())
    expect(merges.every((e) => e.sworm === 'Rooms')).toBe(true)
    // Each conflict counted once over the cluster, on the loser's node (sworm_conflicts_total).
    const counted = await Promise.all(s.observers.map((o) => conflictsCounted(o)))
    expect(counted.reduce((a, b) => a + b, 0)).toBe(NAMES.length)
    expect(counted[1]).toBe(NAMES.length)
    // The losers are not restarted: still one worker per name a while later.
    await pause(300)
    for (const name of NAMES) expect(running(s.nodes, name)).toEqual([s.first.get(name)])
  })

  it('keeps the merged state in the winner’s copies (replicas): a crash of its node loses none of it', async () => {
    await using s = await splitRegisterHeal(DurableRooms, DurableCounter)
    for (const [i, name] of NAMES.entries()) {
      await vi.waitFor(async () => expect(await s.instances[1]!.call(name, 'get')).toBe(i + 11), {
        timeout: 2000,
        interval: 20,
      })
    }
    // Every winner runs on node 0; its copy is on node 1, which adopts it.
    await s.nodes[0]!.kill()
    for (const [i, name] of NAMES.entries()) {
      await vi.waitFor(
        async () => {
          const pid = s.instances[1]!.whereis(name)
          expect(pid !== undefined && nodeOf(pid) === s.nodes[1]!.id).toBe(true)
          expect(await s.instances[1]!.call(name, 'get')).toBe(i + 11)
        },
        { timeout: 5000, interval: 50 },
      )
    }
  })

  it('keeps one worker per name with its own state only (handoff off)', async () => {
    await using s = await splitRegisterHeal(PlainRooms)
    for (const [i, name] of NAMES.entries()) {
      expect(running(s.nodes, name)).toEqual([s.first.get(name)])
      for (const inst of s.instances) expect(await inst.call(name, 'get')).toBe(i + 1)
    }
    expect(s.conflicts.map((c) => c.merged)).toEqual(NAMES.map(() => false))
    for (const o of s.observers)
      expect(o.state().events.some((e) => e.kind === 'merge')).toBe(false)
  })

  it('answers calls by name at once after a heal that moves the losing copies (active redistribution)', async () => {
    await using s = await splitCountHeal()
    // No hold of a copy's move is left behind: every name answers from both nodes at once,
    // where a stale hold kept calls waiting for a registration that never comes.
    for (const inst of s.instances) {
      for (const name of s.names) {
        expect(await inst.call(name, 'get', { timeoutMs: 1000 })).toEqual(expect.any(Number))
      }
    }
  })

  it('keeps every count after a heal that moves the losing copies onto the winners (active redistribution)', async () => {
    await using s = await splitCountHeal()
    // 1 before the split, 2 on node 0's side and 3 on node 1's during it: the copy that moved
    // onto the running name handed its count to it, wherever the name ended up.
    for (const inst of s.instances) {
      for (const name of s.names) {
        await vi.waitFor(async () => expect(await inst.call(name, 'get')).toBe(6), {
          timeout: 2000,
          interval: 20,
        })
      }
    }
  })
})

/** Five names node 0 places on each node, once it places on both (it knows their types). */
async function namesOnBoth(inst: SwormInstance, nodes: Node[]): Promise<string[]> {
  const candidates = Array.from({ length: 200 }, (_, i) => `room:${i}`)
  const placed = (): Array<string | undefined> =>
    candidates.map((name) => inst.supervisor.find(encodeName(name), 'Delegate'))
  await waitUntil(
    () => nodes.every((n) => placed().includes(n.id)),
    5000,
    'placement on both nodes',
  )
  const where = placed()
  return nodes.flatMap((n) => candidates.filter((_, i) => where[i] === n.id).slice(0, 5))
}

/**
 * Two nodes with active redistribution: ten names registered (five placed on each node) and
 * counted once, a split during which each side adopts the other's names and counts each name
 * (2 on node 0's side, 3 on node 1's), then the heal: each adopted copy loses its conflict, and
 * the join makes its node move it to the node that runs the name already. Resolves once one
 * worker per name is left, resolved alike on both nodes.
 */
async function splitCountHeal(): Promise<{
  nodes: Node[]
  instances: SwormInstance[]
  names: string[]
  [Symbol.asyncDispose](): Promise<void>
}> {
  census.clear()
  const cluster = await proxiedCluster(2, fastFailureDetection(150, 600))
  const nodes = cluster.nodes
  try {
    const instances = [
      await runSworm(nodes[0]!, SpreadRooms),
      await runSworm(nodes[1]!, SpreadRooms),
    ]
    await waitUntil(
      () => instances.every((i) => i.supervisor.stats().members === 2),
      5000,
      'the sworm on both nodes',
    )
    const names = await namesOnBoth(instances[0]!, nodes)
    for (const name of names) {
      await instances[0]!.registerName(name, Counter, name)
      await instances[0]!.call(name, 'inc')
    }
    // Each node knows every child before the split: only a child it knows of can be adopted.
    await waitUntil(
      () => instances.every((i) => i.supervisor.countChildren().active === names.length),
      5000,
      'every child recorded on both nodes',
    )

    await cluster.split([1])
    await waitUntil(
      () => names.every((name) => nodes.every((_, i) => running([nodes[i]!], name).length === 1)),
      5000,
      'a copy of every name on each side',
    )
    for (const name of names) {
      for (const [i, times] of [2, 3].entries()) {
        for (let k = 0; k < times; k++) await instances[i]!.call(name, 'inc')
      }
    }
    await cluster.heal()
    await waitUntil(
      () =>
        names.every(
          (name) =>
            running(nodes, name).length === 1 &&
            instances.every((i) => i.whereis(name) === running(nodes, name)[0]),
        ),
      10_000,
      'one worker per name, resolved alike on both nodes',
    )
    return {
      nodes,
      instances,
      names,
      async [Symbol.asyncDispose]() {
        await cluster[Symbol.asyncDispose]()
      },
    }
  } catch (e) {
    await cluster[Symbol.asyncDispose]()
    throw e
  }
}
