// A seeded randomised run: registrations, exits, unregistrations, links cut and mended (through
// fault proxies) over 4 nodes; after the last heal every node agrees on registered(), every
// holder is alive, and no process that still counts on its name lives on without it. Rerun a
// failure with REGISTRY_SEED=<seed> (the seed and the last steps are printed when it fails).
import { describe, expect, it, onTestFailed } from 'vitest'
import { AlreadyRegistered, CallTimeout, NoConnection, nodeOf, type Pid } from '@swormjs/actor'
import type { Registry } from '@swormjs/registry'
import { mulberry32, proxiedCluster, rerunReport, seedFor, waitUntil } from '../../src/index.js'
import { FAST, idle, startRegistries, views } from './helpers.js'

const SEED = seedFor('REGISTRY_SEED')

const NODES = 4
const NAMES = 10
const STEPS = 300
/** New steps stop after this long, so that the run stays well inside its timeout. */
const STEP_BUDGET_MS = 12_000

/** One accepted registration, and whether the name was unregistered after it (by anyone). */
interface Accepted {
  name: string
  pid: Pid
  node: number
  released: boolean
}

describe(`registry under random partitions (REGISTRY_SEED=${SEED})`, () => {
  it(
    'converges to one live holder per name, the same on every node, after the last heal',
    { timeout: 60_000 },
    async () => {
      const trace: string[] = []
      onTestFailed(() => {
        console.error(
          rerunReport('registry random run', 'REGISTRY_SEED', SEED, 'last steps', trace.slice(-40)),
        )
      })
      const random = mulberry32(SEED)
      const int = (n: number): number => Math.floor(random() * n)
      const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!

      await using cluster = await proxiedCluster(NODES, FAST)
      // A small compaction threshold: generations switch during the run, partitions included.
      const regs = await startRegistries(cluster.nodes, 'r', {
        callTimeoutMs: 1000,
        compactMinDead: 4,
      })
      const rt = (i: number) => cluster.node(i).runtime
      const nodeIndex = (pid: Pid): number => cluster.nodes.findIndex((n) => n.id === nodeOf(pid))
      const accepted: Accepted[] = []
      const cut = new Set<string>()
      const linkKey = (a: number, b: number): string => (a < b ? `${a}-${b}` : `${b}-${a}`)
      const setLink = (a: number, b: number, mode: 'close' | 'pass'): void => {
        cluster.setLink(a, b, mode)
        if (mode === 'close') cut.add(linkKey(a, b))
        else cut.delete(linkKey(a, b))
      }
      let conflicts = 0
      for (const [i, node] of cluster.nodes.entries()) {
        node.runtime.onExit((pid, reason) => {
          if (typeof reason === 'object' && reason !== null && 'name_conflict' in reason) {
            conflicts++
            trace.push(`  n${i}: ${pid} exited ${JSON.stringify(reason)}`)
          }
        })
      }

      const started = Date.now()
      let steps = 0
      for (; steps < STEPS && Date.now() - started < STEP_BUDGET_MS; steps++) {
        const roll = random()
        if (roll < 0.4) {
          const i = int(NODES)
          const name = `name-${int(NAMES)}`
          const pid = idle(cluster.node(i))
          try {
            await regs[i]!.register(name, pid)
            accepted.push({ name, pid, node: i, released: false })
            trace.push(`${steps}: n${i} registers ${name} → ${pid}`)
          } catch (e) {
            if (!AlreadyRegistered.is(e)) throw e
            trace.push(`${steps}: n${i} register ${name}: already held by ${e.pid}`)
          }
        } else if (roll < 0.55) {
          const live = accepted.filter((a) => rt(a.node).isAlive(a.pid))
          if (live.length === 0) continue
          const victim = pick(live)
          rt(victim.node).exit(victim.pid, 'kill')
          trace.push(`${steps}: ${victim.pid} (${victim.name} on n${victim.node}) is killed`)
        } else if (roll < 0.7) {
          const i = int(NODES)
          const name = `name-${int(NAMES)}`
          let removed: boolean
          try {
            removed = await regs[i]!.unregister(name)
          } catch (e) {
            // The holder's node was cut off while asked: the name stays, as the caller is told.
            if (!NoConnection.is(e) && !CallTimeout.is(e)) throw e
            trace.push(`${steps}: n${i} unregister ${name} failed: ${String(e)}`)
            continue
          }
          if (removed) for (const a of accepted) if (a.name === name) a.released = true
          trace.push(`${steps}: n${i} unregisters ${name}: ${removed}`)
        } else if (roll < 0.85) {
          const a = int(NODES)
          const b = (a + 1 + int(NODES - 1)) % NODES
          const mode = cut.has(linkKey(a, b)) ? 'pass' : 'close'
          setLink(a, b, mode)
          trace.push(`${steps}: link n${a}-n${b} ${mode}`)
          await cluster.waitForLinks()
        } else if (roll < 0.93) {
          // A clean split into two sides.
          const side = [...cluster.nodes.keys()].filter(() => random() < 0.5)
          if (side.length === 0 || side.length === NODES) continue
          for (let a = 0; a < NODES; a++) {
            for (let b = a + 1; b < NODES; b++) {
              setLink(a, b, side.includes(a) === side.includes(b) ? 'pass' : 'close')
            }
          }
          trace.push(`${steps}: split {${side.join(',')}} from the rest`)
          await cluster.waitForLinks()
        } else {
          // Let replication run for a few turns of the event loop.
          for (let k = int(20); k > 0; k--) await new Promise((r) => setImmediate(r))
          trace.push(`${steps}: settle`)
        }
      }

      trace.push(`heal after ${steps} steps`)
      for (let a = 0; a < NODES; a++) for (let b = a + 1; b < NODES; b++) setLink(a, b, 'pass')
      await cluster.heal()
      const agree = (): boolean => {
        const v = views(regs).map((x) => JSON.stringify(x))
        return v.every((x) => x === v[0])
      }
      await waitUntil(agree, 10_000, 'every node to agree on registered()')
      // Conflict losers exit once their node has heard from the winner's: let that finish.
      const zombies = (): Accepted[] =>
        accepted.filter(
          (a) =>
            !a.released &&
            rt(a.node).isAlive(a.pid) &&
            regs.some((r: Registry) => r.whereis(a.name) !== a.pid),
        )
      await waitUntil(
        () => zombies().length === 0 && agree(),
        5000,
        'conflict losers to exit',
      ).catch(() => undefined)

      const [first] = views(regs)
      for (const [i, view] of views(regs).entries())
        expect(view, `registered() on n${i}`).toEqual(first)
      for (const [name, pid] of first!) {
        expect(rt(nodeIndex(pid)).isAlive(pid), `holder of ${JSON.stringify(name)}`).toBe(true)
      }
      // A process still registered (never unregistered, not killed) holds its name, or it lost
      // a conflict and exited: none lives on thinking it holds a name that resolves elsewhere.
      expect(
        zombies().map((z) => `${z.name} ${z.pid} → ${regs[0]!.whereis(z.name) ?? 'nobody'}`),
      ).toEqual([])
      // Memory stays bounded: each node holds the current generation of each node's doc, and
      // nothing else.
      const held = (i: number): string[] =>
        cluster
          .node(i)
          .docs.names()
          .filter((d) => d.startsWith('registry/r/'))
          .sort()
      const current = (): string[] =>
        regs.map((r) => `registry/r/${r.node.id}/${r.stats().generation}`).sort()
      await waitUntil(
        () => cluster.nodes.every((_, i) => JSON.stringify(held(i)) === JSON.stringify(current())),
        5000,
        'the current generations on every node',
      ).catch(() => undefined)
      for (const i of cluster.nodes.keys()) {
        expect(held(i), `registry docs on n${i}`).toEqual(current())
      }
      const generations = regs.map((r) => r.stats().generation)
      console.info(
        `seed ${SEED}: ${steps} steps, ${accepted.length} registrations accepted, ` +
          `${conflicts} conflict losers, ${first!.length} names at the end, ` +
          `generations ${generations.join(' ')}`,
      )
    },
  )
})
