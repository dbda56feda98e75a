// `replicas: k` across in-process nodes: a name whose node crashes starts again on the next node
// of its placement order from the newest state its backups hold (with its groups), every
// acknowledged call's effect included; a state that cannot be kept fails the calls that made
// it, with a typed error; and the option's errors.
import { describe, expect, it } from 'vitest'
import { nodeOf, type Pid } from '@swormjs/actor'
import { decodeValue } from '@swormjs/cluster'
import {
  ConfigError,
  NotSerializable,
  StateTooLarge,
  Actor,
  Sworm,
  type SwormNode,
} from '@swormjs/sworm'
import { recordingLogger, waitUntil } from '../../src/index.js'
import { swormCluster } from './swormCluster.js'

/** A counter that hands its count over; `join` puts it in group `counters`. */
class Counter extends Actor<undefined> {
  n = 0
  extra: unknown = null
  override async handleCall(msg: unknown): Promise<unknown> {
    if (msg === 'inc') return ++this.n
    if (msg === 'join') {
      await Keep.join('counters', this.self)
      return true
    }
    if (msg === 'fn') {
      this.extra = () => 1
      return 'set'
    }
    if (msg === 'big') {
      this.extra = 'x'.repeat(2 * 1024 * 1024)
      return 'set'
    }
    return this.n
  }
  override handleCast(msg: unknown): void {
    if (msg === 'inc') this.n++
  }
  override beginHandoff(): unknown {
    return { n: this.n, extra: this.extra }
  }
  override endHandoff(state: { n: number; extra: unknown }): void {
    this.n = state.n
    this.extra = state.extra
  }
}

/** A counter whose handlers are synchronous: its delegate reads its state without a message. */
class SyncCounter extends Actor<undefined> {
  n = 0
  override handleCall(msg: unknown): number {
    return msg === 'inc' ? ++this.n : this.n
  }
  override handleInfo(msg: unknown): void {
    if (msg === 'inc') this.n++
  }
  override beginHandoff(): number {
    return this.n
  }
  override endHandoff(n: number): void {
    this.n = n
  }
}

class Keep extends Sworm {
  static override actors = { Counter, SyncCounter }
  static override options = { handoff: true, replicas: 1 }
}

class Forget extends Sworm {
  static override actors = { Counter }
  static override options = { handoff: true }
}

/** The node that runs the most of `names` (the one a crash hurts most). */
function busiest(nodes: SwormNode[], S: typeof Sworm, names: string[]): SwormNode {
  const count = new Map<string, number>()
  for (const name of names) {
    const node = nodeOf(S.on(nodes[0]!).whereis(name)!)
    if (!nodes.some((n) => n.id === node)) continue
    count.set(node, (count.get(node) ?? 0) + 1)
  }
  const top = [...count].sort((a, b) => b[1] - a[1])[0]![0]
  return nodes.find((n) => n.id === top)!
}

/** True when every one of `names` resolves, on `sworm`'s node, to a process off node `gone`. */
function runningOff(
  sworm: { whereis(name: string): Pid | undefined },
  names: readonly string[],
  gone: string,
): boolean {
  return names.every((name) => {
    const pid = sworm.whereis(name)
    return pid !== undefined && nodeOf(pid) !== gone
  })
}

/** The count the first backup of counter `name` holds now (-1: no copy). */
function copiedCount(nodes: readonly SwormNode[], name: string): number {
  const key = `s${name}`
  const owner = nodeOf(Keep.on(nodes[0]!).whereis(name)!)
  const ownerNode = nodes.find((n) => n.id === owner)!
  const backup = Keep.on(ownerNode).supervisor.placementOrder(key, 2)[1]
  const node = nodes.find((n) => n.id === backup)!
  const copy = Keep.on(node).replicas!.copies.get(key)
  if (copy === undefined) return -1
  const { s } = decodeValue(copy.bytes) as { s: number | { n: number } }
  return typeof s === 'number' ? s : s.n
}

async function crashAndCount(S: typeof Sworm, names: string[]): Promise<number[]> {
  await using cluster = await swormCluster(3, [S])
  const caller = cluster.at(0)
  const sworm = S.on(caller)
  for (const name of names) await sworm.registerName(name, Counter)
  // Three acknowledged increments each: two calls and one call after a cast.
  for (const name of names) {
    await sworm.call(name, 'inc')
    await sworm.call(name, 'inc')
    sworm.cast(name, 'inc')
  }
  for (const name of names) expect(await sworm.call(name, 'get')).toBe(3)
  const victim = busiest(cluster.nodes.slice(1), S, names)
  await victim.kill()
  const survivors = cluster.nodes.filter((n) => n !== victim)
  await waitUntil(
    () => survivors.every((n) => runningOff(S.on(n), names, victim.id)),
    10_000,
    'every name running on a survivor',
  )
  return Promise.all(names.map((name) => sworm.call<number>(name, 'get')))
}

describe('replicas', () => {
  it('starts a crashed node’s names from their newest acknowledged state', async () => {
    const names = Array.from({ length: 60 }, (_, i) => `r${i}`)
    const counts = await crashAndCount(Keep, names)
    expect(counts).toEqual(names.map(() => 3))
  })

  it('without replicas, a crash restarts the same names from zero (what replicas prevent)', async () => {
    const names = Array.from({ length: 60 }, (_, i) => `f${i}`)
    const counts = await crashAndCount(Forget, names)
    expect(counts.filter((c) => c === 0).length).toBeGreaterThan(0)
    expect(counts.filter((c) => c !== 0 && c !== 3)).toEqual([])
  })

  it('brings a crashed worker’s groups back', async () => {
    await using cluster = await swormCluster(3, [Keep])
    const sworm = Keep.on(cluster.at(0))
    const names = Array.from({ length: 20 }, (_, i) => `g${i}`)
    for (const name of names) {
      await sworm.registerName(name, Counter)
      await sworm.call(name, 'join')
      await sworm.call(name, 'inc')
    }
    await waitUntil(() => sworm.members('counters').length === names.length)
    const victim = busiest(cluster.nodes.slice(1), Keep, names)
    await victim.kill()
    await waitUntil(
      () =>
        sworm.members('counters').length === names.length &&
        sworm.members('counters').every((pid) => nodeOf(pid) !== victim.id),
      10_000,
      'the group back at full size on the survivors',
    )
    for (const name of names) expect(await sworm.call(name, 'get')).toBe(1)
  })

  it('fills the backups a crash took: every name has its copy again, and a second crash loses nothing', async () => {
    await using cluster = await swormCluster(4, [Keep])
    const sworm = Keep.on(cluster.at(0))
    const names = Array.from({ length: 40 }, (_, i) => `b${i}`)
    for (const name of names) {
      await sworm.registerName(name, Counter)
      await sworm.call(name, 'inc')
      await sworm.call(name, 'inc')
    }
    const first = busiest(cluster.nodes.slice(1), Keep, names)
    await first.kill()
    const left = cluster.nodes.filter((n) => n !== first)
    // No call in between: the names whose backup was on the dead node get one from the refill.
    await waitUntil(
      () =>
        left.every((n) => runningOff(Keep.on(n), names, first.id)) &&
        names.every((name) => copiedCount(left, name) === 2),
      10_000,
      'every name running on a survivor, its first backup holding its count',
    )
    for (const name of names) expect(await sworm.call(name, 'inc')).toBe(3)
    const second = busiest(left.slice(1), Keep, names)
    await second.kill()
    await waitUntil(
      () => runningOff(sworm, names, second.id),
      10_000,
      'every name running off the second node',
    )
    for (const name of names) expect(await sworm.call(name, 'get')).toBe(3)
  })

  it('answers hundreds of calls to one name at once, each after its backup holds its effect', async () => {
    await using cluster = await swormCluster(3, [Keep])
    const caller = cluster.at(0)
    const sworm = Keep.on(caller)
    // One name of each kind (state read directly; state asked by message: an async handler) on
    // the same node, not the caller's, which is then killed.
    const names: string[] = []
    let victim: SwormNode | undefined
    for (const type of ['SyncCounter', 'Counter'] as const) {
      for (let i = 0; ; i++) {
        const name = `${type}-${i}`
        await sworm.registerName(name, type === 'SyncCounter' ? SyncCounter : Counter)
        const node = nodeOf(sworm.whereis(name)!)
        if (node === caller.id || (victim !== undefined && node !== victim.id)) continue
        victim ??= cluster.nodes.find((n) => n.id === node)
        names.push(name)
        break
      }
    }
    const copied = (name: string): number => copiedCount(cluster.nodes, name)
    const CALLS = 300
    for (const name of names) {
      const late: number[] = []
      const call = (msg: 'inc' | 'get'): Promise<number> =>
        sworm.call<number>(name, msg).then((n) => {
          // In the very turn the answer arrives, the backup holds a state with its effect.
          if (copied(name) < n) late.push(n)
          return n
        })
      const incs = Array.from({ length: CALLS - 100 }, () => call('inc'))
      // Then reads, while the last puts are on their way: a read on a busy name sends no state
      // (its answer follows the put that holds what it read), and is answered only once the
      // backup holds that state too.
      await new Promise((r) => setImmediate(r))
      const reads = Array.from({ length: 100 }, () => call('get'))
      const answers = await Promise.all(incs)
      await Promise.all(reads)
      expect(late).toEqual([])
      expect(answers.sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1))
    }
    // The watches of calls answered by a backup are let go on the worker's node too.
    await waitUntil(() => cluster.nodes.every((n) => n.stats().watchesForPeers === 0))
    await victim!.kill()
    await waitUntil(
      () => runningOff(sworm, names, victim!.id),
      10_000,
      'both names running on a survivor',
    )
    for (const name of names) expect(await sworm.call(name, 'get')).toBe(200)
  })

  it('copies what a worker got by its pid or through its group, not only through its name', async () => {
    await using cluster = await swormCluster(3, [Keep])
    const caller = cluster.at(0)
    const sworm = Keep.on(caller)
    let name = ''
    for (let i = 0; ; i++) {
      name = `direct-${i}`
      await sworm.registerName(name, SyncCounter)
      if (nodeOf(sworm.whereis(name)!) !== caller.id) break
    }
    const pid = sworm.whereis(name)!
    await sworm.join('direct', pid)
    await waitUntil(() => sworm.members('direct').length === 1)
    for (let i = 0; i < 5; i++) caller.runtime.send(pid, 'inc')
    for (let i = 0; i < 5; i++) sworm.publish('direct', 'inc')
    // No call or cast by name after them: the copy follows the messages themselves.
    await waitUntil(() => copiedCount(cluster.nodes, name) === 10, 5000, 'the backup to hold 10')
    const owner = cluster.nodes.find((n) => n.id === nodeOf(pid))!
    await owner.kill()
    await waitUntil(() => runningOff(sworm, [name], owner.id), 10_000, 'adopted')
    expect(await sworm.call(name, 'get')).toBe(10)
  })

  it('fails the call whose state cannot be kept: NotSerializable, StateTooLarge', async () => {
    await using cluster = await swormCluster(2, [Keep], { logger: recordingLogger().logger })
    const sworm = Keep.on(cluster.at(0))
    await sworm.registerName('bad', Counter)
    expect(await sworm.call('bad', 'inc')).toBe(1)
    await expect(sworm.call('bad', 'fn')).rejects.toSatisfy((e) => NotSerializable.is(e))
    await sworm.registerName('big', Counter)
    await expect(sworm.call('big', 'big')).rejects.toSatisfy((e) => StateTooLarge.is(e))
    // The name still serves; its callers heard of every state that was not kept.
    await expect(sworm.call('big', 'inc')).rejects.toSatisfy((e) => StateTooLarge.is(e))
  })

  it('keeps one copy on each other node when replicas exceeds them', async () => {
    class Many extends Sworm {
      static override actors = { Counter }
      static override options = { handoff: true, replicas: 5 }
    }
    const rec = recordingLogger()
    await using cluster = await swormCluster(2, [Many], { logger: rec.logger })
    const sworm = Many.on(cluster.at(0))
    await sworm.registerName('m', Counter)
    expect(await sworm.call('m', 'inc')).toBe(1)
    const holders = cluster.nodes.map((n) => Many.on(n).replicas!.stats().copies)
    expect(holders.reduce((a, b) => a + b, 0)).toBe(1)
    // Logged once, by the node that runs the name.
    const warned = rec.lines.filter((l) => String(l['msg']).includes('fewer other nodes'))
    expect(warned).toHaveLength(1)
  })

  it('refuses replicas without handoff, and a negative count, naming the sworm and the key', async () => {
    class NoHandoff extends Sworm {
      static override actors = { Counter }
      static override options = { replicas: 1 }
    }
    class Negative extends Sworm {
      static override actors = { Counter }
      static override options = { handoff: true, replicas: -1 }
    }
    await expect(swormCluster(1, [NoHandoff])).rejects.toSatisfy(
      (e) =>
        ConfigError.is(e) &&
        /NoHandoff\.options\.replicas: .*needs handoff: true/.test((e as Error).message),
    )
    await expect(swormCluster(1, [Negative])).rejects.toSatisfy(
      (e) =>
        ConfigError.is(e) &&
        /Negative\.options\.replicas: expected an integer ≥ 0/.test((e as Error).message),
    )
  })
})
