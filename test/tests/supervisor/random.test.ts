// Seeded randomised runs over 3–4 nodes: starts, terminations, child crashes, splits and heals
// (links cut through fault proxies), fresh nodes joining and, with `hash`, node kills. After the
// last heal every permanent child that was started (and not since terminated, or lost with a
// node that nobody else knew it on) runs exactly once and is alive, and every node reports the
// same children. During a split, with `hash` each side runs every child; with `quorum` only a
// side with a quorum does, and no child ever runs twice.
// Rerun a failure with SUPERVISOR_SEED=<seed> (the seed and the last steps are printed).
import { describe, expect, it, onTestFailed } from 'vitest'
import { nodeOf, type Pid } from '@swormjs/actor'
import type { Node } from '@swormjs/cluster'
import { AlreadyStarted, DistributedSupervisor } from '@swormjs/supervisor'
import { mulberry32, proxiedCluster, rerunReport, seedFor, waitUntil } from '../../src/index.js'
import {
  ACTORS,
  FAST,
  SETTLE_MS,
  eachRunsOnce,
  liveCopies,
  resetCensus,
  view,
  viewsAgree,
  worker,
} from './helpers.js'

const SEED = seedFor('SUPERVISOR_SEED')

const STEPS = 400
/** New steps stop after this long, so that the run stays well inside its timeout. */
const STEP_BUDGET_MS = 9000
const POOL = 40
const MAX_NODES = 4

/**
 * What the run expects of an id at the end: `running` exactly once; `maybe` at most once (its
 * last start failed in a way that leaves it unknown, it was terminated while a copy may run on
 * the other side of a split, or its node died with nobody else knowing it).
 */
type Expect = 'running' | 'maybe'

const BASE = { actors: ACTORS, maxRestarts: 1000, maxSeconds: 1, callTimeoutMs: 2000 }

/** Samples the live copies every few ms; `stop()` returns the ids ever seen on two nodes. */
function sampleDuplicates(nodes: readonly Node[]): { stop(): string[] } {
  const seen = new Set<string>()
  const timer = setInterval(() => {
    for (const [id, pids] of liveCopies(nodes)) if (pids.length > 1) seen.add(id)
  }, 5)
  return {
    stop() {
      clearInterval(timer)
      return [...seen]
    },
  }
}

describe.each([
  { distribution: 'hash' as const, kills: true },
  { distribution: 'quorum' as const, kills: false },
])(`supervisor under random faults, $distribution (SUPERVISOR_SEED=${SEED})`, (mode) => {
  it(
    'runs every started permanent child exactly once after the last heal',
    { timeout: 40_000 },
    async () => {
      const OPTIONS = { ...BASE, distribution: mode.distribution, quorumAdoptDelayMs: 300 }
      resetCensus()
      const trace: string[] = []
      onTestFailed(() => {
        console.error(
          rerunReport(
            'supervisor random run',
            'SUPERVISOR_SEED',
            SEED,
            'last steps',
            trace.slice(-40),
          ),
        )
      })
      const random = mulberry32(SEED)
      const int = (n: number): number => Math.floor(random() * n)
      const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!

      await using cluster = await proxiedCluster(3, FAST)
      const sups: DistributedSupervisor[] = []
      const liveIdx = (): number[] =>
        [...cluster.nodes.keys()].filter((i) => !cluster.node(i).isStopping)
      const waitForMembers = async (): Promise<void> => {
        const live = liveIdx()
        await waitUntil(
          () => live.every((i) => sups[i]!.stats().members === live.length),
          SETTLE_MS,
          'every supervisor to see the live members',
        )
      }
      for (const node of cluster.nodes)
        sups.push(await DistributedSupervisor.start(node, 's', OPTIONS))
      await waitForMembers()
      // With quorum no node is killed: every node started is a member for good.
      const hasQuorum = (side: readonly number[]): boolean =>
        mode.distribution === 'hash' || side.length > cluster.nodes.length / 2
      const duplicates =
        mode.distribution === 'quorum' ? sampleDuplicates(cluster.nodes) : undefined

      const expected = new Map<string, Expect>()
      let sides: number[][] | undefined
      const sideOf = (i: number): number[] =>
        sides === undefined ? liveIdx() : sides.find((s) => s.includes(i))!

      const started = performance.now()
      for (let step = 0; step < STEPS && performance.now() - started < STEP_BUDGET_MS; step++) {
        const live = liveIdx()
        const r = random()
        if (r < 0.45) {
          const i = pick(live)
          const id = `c${int(POOL)}`
          try {
            const pid = await sups[i]!.startChild(worker(id))
            expected.set(id, 'running')
            trace.push(`${step}: n${i} start ${id} → ${pid}`)
          } catch (e) {
            if (!AlreadyStarted.is(e) && expected.get(id) !== 'running') expected.set(id, 'maybe')
            if (AlreadyStarted.is(e) && expected.get(id) === undefined) expected.set(id, 'maybe')
            trace.push(`${step}: n${i} start ${id} → ${(e as Error).name}: ${(e as Error).message}`)
          }
        } else if (r < 0.6) {
          const i = pick(live)
          const id = `c${int(POOL)}`
          const ok = await sups[i]!.terminateChild(id).catch((e: unknown) => String(e))
          // A copy may still run on the other side of a split (or of a view not caught up).
          if (expected.has(id)) expected.set(id, 'maybe')
          trace.push(`${step}: n${i} terminate ${id} → ${String(ok)}`)
        } else if (r < 0.72) {
          const i = pick(live)
          const mine = sups[i]!.whichChildren().filter((c) => c.node === cluster.node(i).id)
          if (mine.length === 0) continue
          const c = pick(mine)
          cluster.node(i).runtime.exit(c.pid, 'kill')
          trace.push(`${step}: n${i} kill child ${c.id} ${c.pid}`)
        } else if (r < 0.8) {
          if (sides !== undefined || live.length < 2) continue
          const shuffled = [...live].sort(() => random() - 0.5)
          const k = 1 + int(live.length - 1)
          // Every child runs and every node knows it before the split (a child stopped for
          // want of a quorum is known only to its node until that node starts it again): then
          // each side that can (any with `hash`, the one with a quorum with `quorum`) runs every
          // child on its own; a side without a quorum runs none.
          await waitUntil(
            () =>
              viewsAgree(live.map((i) => sups[i]!)) &&
              eachRunsOnce(
                cluster.nodes,
                [...expected].filter(([, s]) => s === 'running').map(([id]) => id),
              ),
            SETTLE_MS,
            'every child to run, known to every node, before the split',
          )
          const running = [...expected].filter(([, s]) => s === 'running').map(([id]) => id)
          sides = [shuffled.slice(0, k), shuffled.slice(k)]
          trace.push(`${step}: split ${JSON.stringify(sides)}`)
          await cluster.split(sides[0]!)
          for (const side of sides) {
            const nodes = side.map((i) => cluster.node(i))
            const runs = hasQuorum(side)
            await waitUntil(
              () =>
                runs
                  ? running.every((id) => (liveCopies(nodes).get(id)?.length ?? 0) >= 1)
                  : liveCopies(nodes).size === 0,
              SETTLE_MS,
              `side ${JSON.stringify(side)} to run ${runs ? 'every' : 'no'} child`,
            )
          }
        } else if (r < 0.9) {
          if (sides === undefined) continue
          trace.push(`${step}: heal`)
          sides = undefined
          await cluster.heal()
          await waitForMembers()
        } else if (r < 0.95) {
          if (!mode.kills || live.length < 3) continue
          const victim = pick(live)
          // Let the victim's side catch up, so that what it knows of the victim's children is
          // what a user could expect to survive.
          const side = sideOf(victim)
          await waitUntil(
            () => viewsAgree(side.map((i) => sups[i]!)),
            SETTLE_MS,
            `the side of n${victim} to agree before its kill`,
          )
          const others = live.filter((i) => i !== victim)
          for (const [id, state] of expected) {
            if (state !== 'running') continue
            const known = others.some((i) => sups[i]!.whichChildren().some((c) => c.id === id))
            if (!known) {
              expected.set(id, 'maybe')
              trace.push(`${step}:   ${id} known only on n${victim}: may be lost`)
            }
          }
          trace.push(`${step}: kill n${victim}`)
          await cluster.node(victim).kill()
          if (sides !== undefined) {
            sides = sides.map((s) => s.filter((i) => i !== victim))
            if (sides.some((s) => s.length === 0)) sides = undefined
          }
          const id = cluster.node(victim).id
          await waitUntil(
            () => liveIdx().every((i) => !cluster.node(i).isUp(id)),
            SETTLE_MS,
            'the others to see the kill',
          )
        } else {
          if (sides !== undefined || live.length >= MAX_NODES) continue
          const node = await cluster.add()
          const i = cluster.nodes.indexOf(node)
          sups[i] = await DistributedSupervisor.start(node, 's', OPTIONS)
          trace.push(`${step}: add n${i}`)
          await waitForMembers()
        }
      }

      trace.push('final heal')
      await cluster.heal()
      await waitForMembers()
      const live = liveIdx().map((i) => sups[i]!)
      const settled = (): boolean => {
        const copies = liveCopies(cluster.nodes)
        for (const [id, pids] of copies) {
          const state = expected.get(id)
          if (state === undefined || pids.length > 1) return false
        }
        for (const [id, state] of expected) {
          if (state === 'running' && copies.get(id)?.length !== 1) return false
        }
        if (!viewsAgree(live)) return false
        // The views name exactly the live copies.
        const seen = view(live[0]!)
        return seen.length === copies.size && seen.every(([id, pid]) => copies.get(id)?.[0] === pid)
      }
      try {
        await waitUntil(settled, SETTLE_MS * 2, 'every child to run exactly once')
      } catch (e) {
        const copies = liveCopies(cluster.nodes)
        for (const [id, state] of expected) {
          const pids: Pid[] = copies.get(id) ?? []
          if ((state === 'running' && pids.length !== 1) || pids.length > 1) {
            trace.push(`  ${id} (${state}): ${JSON.stringify(pids.map((p) => nodeOf(p)))}`)
          }
        }
        throw e
      }
      expect([...expected.values()].filter((s) => s === 'running').length).toBeGreaterThan(0)
      expect(duplicates?.stop() ?? []).toEqual([])
    },
  )
})
