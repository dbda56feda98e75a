// What a user writes against the published packages: three nodes in one process, a typed
// registration and call, a graceful stop that hands the counter over, and the count read on
// another node. Exits non-zero on any surprise.
import { setTimeout as sleep } from 'node:timers/promises'
import { nodeOf } from '@swormjs/actor'
import { Actor, Sworm, startNode, type SwormNode } from '@swormjs/sworm'
import { observe } from '@swormjs/observe'

class Counter extends Actor<{ start: number }> {
  n = 0
  override init({ start }: { start: number }): void {
    this.n = start
  }
  override handleCall(msg: 'inc' | 'get'): number {
    return msg === 'inc' ? ++this.n : this.n
  }
  override beginHandoff(): number {
    return this.n
  }
  override endHandoff(n: number): void {
    this.n = n
  }
}

class Counters extends Sworm {
  static override options = { handoff: true }
  static override actors = { Counter }
}

async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (ok()) return
    await sleep(50)
  }
  throw new Error(`not within 10 s: ${what}`)
}

const cookie = 'consumer-check-cookie-0123456789'
const base = { host: '127.0.0.1', port: 0, cookie, children: [Counters] }
const a = await startNode({ ...base, name: 'a' })
const b = await startNode({ ...base, name: 'b', seeds: [a.url] })
const c = await startNode({ ...base, name: 'c', seeds: [a.url] })
const nodes: SwormNode[] = [a, b, c]
await until('three nodes', () => nodes.every((n) => Counters.on(n).nodes().length === 3))
const metrics = observe(a, { metrics: true })

const on = Counters.on(a)
await on.registerName('page:home', Counter, { start: 41 })
const page = on.ref('page:home', Counter)
const views: number = await page.call('inc')
if (views !== 42) throw new Error(`expected 42, got ${views}`)

// Stop the node that runs the counter gracefully: it moves, with its count, to another node.
const where = page.whereis()
const holder = nodes.find((n) => where !== undefined && n.id === nodeOf(where))
if (holder === undefined) throw new Error('the counter runs on none of the nodes')
const rest = nodes.filter((n) => n !== holder)
await holder.stop()
const after = Counters.on(rest[0]!).ref('page:home', Counter)
await until('the counter on a live node', () => {
  const pid = after.whereis()
  return pid !== undefined && rest.some((n) => n.id === nodeOf(pid))
})
const count = await after.call('get')
if (count !== 42) throw new Error(`the count did not move with the counter: ${count}`)
metrics.close()
for (const n of rest) await n.stop()
console.log('consumer check: three nodes, a typed call, a graceful stop with handoff: ok')
