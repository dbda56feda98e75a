// Child process of `actor.memory`, run as `node --expose-gc memory.js <count> <warmup> <runs>`:
// heap used after spawning `count` idle actors minus before, per actor, with forced full GCs.
import { Actor, Runtime, silentLogger } from '@sworm/actor'
import { Countdown } from '../latch.js'
import { defaultRunOptions, repeat, round, yieldTurn } from '../measure.js'
import { formatMemorySamples } from './memoryResult.js'

/** An actor that does nothing once started; its `init` only reports that it ran. */
class Idle extends Actor<Countdown> {
  override init(started: Countdown): void {
    started.tick()
  }
}

/** `globalThis.gc`, which only `--expose-gc` provides; without it the figure would be a guess. */
function requireGc(): () => void {
  const gc = globalThis.gc
  if (gc === undefined) {
    process.stderr.write('memory.js needs a real GC: run it with node --expose-gc\n')
    process.exit(2)
  }
  return () => gc()
}

const collect = requireGc()

/** Several full collections, with a turn between them for finalizers and weak references. */
async function fullGc(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    collect()
    await yieldTurn()
  }
}

function nonNegativeInt(text: string | undefined, fallback: number): number {
  const n = Number(text)
  return text !== undefined && Number.isInteger(n) && n >= 0 ? n : fallback
}

const [countArg, warmupArg, runsArg] = process.argv.slice(2)
const count = Math.max(1, nonNegativeInt(countArg, 100_000))
const options = {
  ...defaultRunOptions,
  warmup: nonNegativeInt(warmupArg, 1),
  runs: Math.max(1, nonNegativeInt(runsArg, 5)),
}

const once = async (): Promise<number> => {
  const rt = new Runtime({ name: 'bench', logger: silentLogger })
  await fullGc()
  const before = process.memoryUsage().heapUsed
  const started = new Countdown(count)
  for (let i = 0; i < count; i++) rt.spawn(Idle, started)
  await started.done
  await fullGc()
  const after = process.memoryUsage().heapUsed
  await rt.shutdown()
  return (after - before) / count
}

const samples = await repeat(options, 'actor.memory', once, (v) => `${round(v)} bytes`)
process.stdout.write(`${formatMemorySamples(samples)}\n`)
