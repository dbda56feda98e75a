// The `actor` suite: how fast one @swormjs/actor runtime spawns, delivers and answers, and how much
// an idle actor weighs.
import { Actor, Runtime, silentLogger } from '@swormjs/actor'
import { nsPerOp, type Figure, type Suite } from '../figure.js'
import { Countdown } from '../latch.js'
import {
  measureLatency,
  now,
  percentile,
  repeat,
  round,
  scaled,
  summarize,
  yieldTurn,
  type Measurement,
  type RunOptions,
  type Target,
} from '../measure.js'
import { runNodeChild } from '../nodeChild.js'
import { parseMemorySamples } from '../child/memoryResult.js'

/** Full-size workloads; `RunOptions.scale` shrinks them. */
const SPAWNS = 100_000
const MESSAGES = 2_000_000
/** Messages sent before the sender yields, so the mailbox stays bounded (below the drain budget). */
const SEND_CHUNK = 10_000
const CALLS = 100_000
const IDLE_ACTORS = 100_000

const targets = {
  spawn: { op: '>=', value: 200_000 },
  send: { op: '>=', value: 1_000_000 },
  call: { op: '<=', value: 5 },
  memory: { op: '<=', value: 1024 },
} as const satisfies Record<string, Target>

/** The smallest actor: its `init` reports that it ran. */
class Trivial extends Actor<Countdown> {
  override init(started: Countdown): void {
    started.tick()
  }
}

/** Counts the plain messages it handles. */
class Sink extends Actor<Countdown> {
  private handled!: Countdown
  override init(handled: Countdown): void {
    this.handled = handled
  }
  override handleInfo(): void {
    this.handled.tick()
  }
}

/** Replies to a call with its message. */
class Echo extends Actor {
  override handleCall(msg: unknown): unknown {
    return msg
  }
}

function newRuntime(): Runtime {
  return new Runtime({ name: 'bench', logger: silentLogger })
}

/** A figure that measured less work than it claims is worse than none. */
function checkCount(what: string, got: number, want: number): void {
  if (got !== want) throw new Error(`expected ${want} ${what}, the runtime counted ${got}`)
}

/** The message of `actor.send`: a plain object, as real messages are, allocated once. */
const TICK = { type: 'tick' } as const

const perSecond = (count: number, ms: number): number => (count * 1000) / ms

const spawn: Figure = {
  compare: { baseline: 'map_get_ns', inBaselineUnit: nsPerOp },
  name: 'spawn',
  description: `processes/s: spawn ${SPAWNS} trivial actors until every init ran (target >= ${targets.spawn.value})`,
  async run(options: RunOptions): Promise<Measurement> {
    const count = scaled(SPAWNS, options.scale)
    const once = async (): Promise<number> => {
      const rt = newRuntime()
      const started = new Countdown(count)
      const t0 = now()
      for (let i = 0; i < count; i++) rt.spawn(Trivial, started)
      await started.done
      const rate = perSecond(count, now() - t0)
      checkCount('processes spawned', rt.stats().processes, count)
      await rt.shutdown()
      return rate
    }
    const unit = 'processes/s'
    const samples = await repeat(options, 'actor.spawn', once, (v) => `${round(v)} ${unit}`)
    return { ...summarize(samples, unit, targets.spawn), count }
  },
}

const send: Figure = {
  compare: { baseline: 'map_get_ns', inBaselineUnit: nsPerOp },
  name: 'send',
  description: `messages/s: one sender, one actor, ${MESSAGES} messages until all are handled (target >= ${targets.send.value})`,
  async run(options: RunOptions): Promise<Measurement> {
    const count = scaled(MESSAGES, options.scale)
    const once = async (): Promise<number> => {
      const rt = newRuntime()
      const handled = new Countdown(count)
      const pid = await rt.start(Sink, handled)
      const t0 = now()
      let sent = 0
      while (sent < count) {
        const end = Math.min(count, sent + SEND_CHUNK)
        for (; sent < end; sent++) rt.send(pid, TICK)
        await yieldTurn()
      }
      await handled.done
      const rate = perSecond(count, now() - t0)
      checkCount('messages handled', rt.stats().messages, count)
      await rt.shutdown()
      return rate
    }
    const unit = 'messages/s'
    const samples = await repeat(options, 'actor.send', once, (v) => `${round(v)} ${unit}`)
    return { ...summarize(samples, unit, targets.send), count }
  },
}

const call: Figure = {
  compare: { baseline: 'map_get_ns', inBaselineUnit: (us) => us * 1000 },
  name: 'call',
  description: `µs: round trip of ${CALLS} sequential await runtime.call(pid, msg), median and p99 (target <= ${targets.call.value})`,
  async run(options: RunOptions): Promise<Measurement> {
    const count = scaled(CALLS, options.scale)
    const once = async (): Promise<{ p50: number; p99: number }> => {
      const rt = newRuntime()
      const pid = await rt.start(Echo, undefined)
      const samples = new Float64Array(count)
      for (let i = 0; i < count; i++) {
        const t0 = now()
        await rt.call(pid, i)
        samples[i] = (now() - t0) * 1000
      }
      await rt.shutdown()
      const sorted = Array.from(samples.sort())
      return { p50: percentile(sorted, 50, true), p99: percentile(sorted, 99, true) }
    }
    return { ...(await measureLatency(options, 'actor.call', once, targets.call)), count }
  },
}

const memory: Figure = {
  name: 'memory',
  description: `bytes per idle actor: heap after spawning ${IDLE_ACTORS} minus before, forced GC, in a child node --expose-gc (target <= ${targets.memory.value})`,
  async run(options: RunOptions): Promise<Measurement> {
    const count = scaled(IDLE_ACTORS, options.scale)
    const stdout = await runNodeChild(new URL('../child/memory.js', import.meta.url), {
      nodeFlags: ['--expose-gc'],
      args: [String(count), String(options.warmup), String(options.runs)],
      note: options.note,
    })
    const samples = parseMemorySamples(stdout)
    return { ...summarize(samples, 'bytes', targets.memory), count }
  },
}

/** The `actor` suite, in the order `cli.js actor` runs it. */
export const actorSuite: Suite = [spawn, send, call, memory]
