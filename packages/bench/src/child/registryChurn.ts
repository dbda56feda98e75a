// Child process of `registry.churn_heap_ratio`, run as `node --expose-gc registryChurn.js <cycles>
// <live> <warmupCycles> <warmup> <runs>`: one node's registry holds `live` names while `cycles`
// fresh names are registered and unregistered; the heap at the end over the heap with the live
// names alone, with forced full GCs. Compaction is what keeps the ratio bounded.
import { Actor, silentLogger } from '@swormjs/actor'
import { startNode } from '@swormjs/cluster'
import { Registry } from '@swormjs/registry'
import { defaultRunOptions, now, repeat, round, yieldTurn } from '../measure.js'
import { formatChurnRuns, type ChurnRun } from './churnResult.js'
import { heapAfterGc, nonNegativeInt } from './gc.js'

/**
 * Cycles between two yields to the event loop. Compaction is scheduled for the next turn (as
 * the doc flush is), so a loop that never yields never compacts; real registrations come from
 * messages and yield all the time.
 */
const YIELD_EVERY = 1_000
/** Cycles between two heap samples (each a few full GCs, left out of the time). */
const SAMPLE_EVERY = 100_000

/** Holds names; does nothing else. */
class Idle extends Actor<void> {}

const [cyclesArg, liveArg, warmupCyclesArg, warmupArg, runsArg] = process.argv.slice(2)
const cycles = Math.max(1, nonNegativeInt(cyclesArg, 1_000_000))
const live = Math.max(1, nonNegativeInt(liveArg, 1_000))
const warmupCycles = Math.max(1, nonNegativeInt(warmupCyclesArg, 100_000))
const warmup = nonNegativeInt(warmupArg, 1)
const options = { ...defaultRunOptions, warmup: 0, runs: Math.max(1, nonNegativeInt(runsArg, 3)) }

/** A fresh node and registry with `live` names, then `count` register/unregister cycles. */
async function churn(count: number): Promise<ChurnRun> {
  const node = await startNode({ name: 'bench', logger: silentLogger })
  try {
    const reg = await Registry.start(node, 'bench')
    const rt = node.runtime
    for (let i = 0; i < live; i++) await reg.register(`live:${i}`, rt.spawn(Idle, undefined))
    const base = await heapAfterGc()
    const sampled: number[] = []
    let sampling = 0
    const holder = rt.spawn(Idle, undefined)
    const t0 = now()
    for (let i = 1; i <= count; i++) {
      const name = `churn:${i}`
      await reg.register(name, holder)
      if (!(await reg.unregister(name))) throw new Error(`${name} was not registered`)
      if (i % YIELD_EVERY === 0) await yieldTurn()
      if (i % SAMPLE_EVERY === 0 && i < count) {
        const s0 = now()
        sampled.push((await heapAfterGc()) / base)
        sampling += now() - s0
      }
    }
    const ms = now() - t0 - sampling
    await yieldTurn()
    const ratio = (await heapAfterGc()) / base
    const stats = reg.stats()
    if (stats.names !== live)
      throw new Error(`expected ${live} names at the end, found ${stats.names}`)
    await reg.stop()
    if (sampled.length > 0) {
      options.note(`  heap ratio every ${SAMPLE_EVERY} cycles: ${sampled.map(round).join(' ')}`)
    }
    return { ratio, peak: Math.max(ratio, ...sampled), ms, generations: stats.generation }
  } finally {
    await node.stop()
  }
}

const show = (r: ChurnRun): string =>
  `ratio ${round(r.ratio)} (peak ${round(r.peak)}), ${round(r.ms)} ms, generation ${r.generations}`

for (let i = 0; i < warmup; i++) {
  const r = await churn(warmupCycles)
  options.note(
    `registry.churn_heap_ratio warm-up ${i + 1}/${warmup} (${warmupCycles} cycles): ${show(r)}`,
  )
}
const runs = await repeat(
  options,
  `registry.churn_heap_ratio (${cycles} cycles)`,
  () => churn(cycles),
  show,
)
process.stdout.write(`${formatChurnRuns(runs)}\n`)
