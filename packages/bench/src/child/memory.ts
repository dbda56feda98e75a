// Child process of `actor.memory`, run as `node --expose-gc memory.js <count> <warmup> <runs>`:
// heap used after spawning `count` idle actors minus before, per actor, with forced full GCs.
import { Actor, Runtime, silentLogger } from '@swormjs/actor'
import { Countdown } from '../latch.js'
import { defaultRunOptions, repeat, round } from '../measure.js'
import { fullGc, nonNegativeInt } from './gc.js'
import { formatMemorySamples } from './memoryResult.js'

/** An actor that does nothing once started; its `init` only reports that it ran. */
class Idle extends Actor<Countdown> {
  override init(started: Countdown): void {
    started.tick()
  }
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
