// A node process of the `sworm` suite: a `sworm` node running the `BenchRooms` sworm (handoff on)
// with a `Counter` worker, started from its environment like @swormjs/test's clusterNode fixture,
// and answering the suite's JSON-line commands (see `serve` below) through @swormjs/test's harness.
//
// Environment: NODE_NAME, SWORM_COOKIE (default: the bench's own), SWORM_LOG_LEVEL (default 'warn'),
// SWORM_COMPACT_MIN_DEAD (the sworm's `compactMinDead`), SWORM_REPLICAS (a number > 0: the node
// also runs `DurableRooms`, the same sworm with `replicas` that many; a request with
// `durable: true` goes to it), SWORM_PERSIST_DIR (DurableRooms keeps its names there, `{node}`
// being the node's name; DurableRooms runs then too), SWORM_PORT (default 0: any free port) and
// SWORM_SEEDS (comma-separated URLs dialed at start, as a deployed cluster's nodes do),
// SWORM_REDISTRIBUTION (`active`) and SWORM_IDLE_TIMEOUT_MS (BenchRooms' `idleTimeoutMs`).
import { createLogger, nodeOf } from '@swormjs/actor'
import { emit, inLanes, intArg, openLoop, ready, serve, stringArg } from '@swormjs/test'
import { Actor, Sworm, startNode, type SwormInstance } from '@swormjs/sworm'
import { yieldTurn } from '../measure.js'
import { takeMaxDelay } from './loopDelay.js'

/** `set` makes a worker's state a value of its own; `inc` adds one; anything else reads it. */
type CounterCall = 'inc' | 'get' | { readonly set: number }

/** A counter whose state is its count: handed to its next node when its name moves. */
class Counter extends Actor<{ n: number }> {
  n = 0
  override init(args: { n: number }): void {
    this.n = args.n
  }
  override handleCall(msg: CounterCall): number {
    if (msg === 'inc') return ++this.n
    if (typeof msg === 'object') this.n = msg.set
    return this.n
  }
  override beginHandoff(): number {
    return this.n
  }
  override endHandoff(n: number): void {
    this.n = n
  }
}

const env = process.env
/** SWORM_COMPACT_MIN_DEAD: the sworm's `compactMinDead` (default: the sworm's default). */
const compactMinDead = env['SWORM_COMPACT_MIN_DEAD']

/** SWORM_REDISTRIBUTION: `active` moves names to a node that joins, in bounded rounds. */
const redistribution: 'active' | undefined =
  env['SWORM_REDISTRIBUTION'] === 'active' ? 'active' : undefined

/** SWORM_IDLE_TIMEOUT_MS: BenchRooms passivates a worker idle that long (default: never). */
const idleTimeoutMs = env['SWORM_IDLE_TIMEOUT_MS']

class BenchRooms extends Sworm {
  static override options = {
    handoff: true,
    ...(compactMinDead === undefined ? {} : { compactMinDead: Number(compactMinDead) }),
    ...(redistribution === undefined ? {} : { redistribution }),
    ...(idleTimeoutMs === undefined ? {} : { idleTimeoutMs: Number(idleTimeoutMs) }),
  }
  static override actors = { Counter }
}

const replicas = Number(env['SWORM_REPLICAS'] ?? 0)
const persistDir = env['SWORM_PERSIST_DIR']
const durable = replicas > 0 || persistDir !== undefined

/** BenchRooms with copies of each worker's state on `SWORM_REPLICAS` other nodes, or on disk. */
class DurableRooms extends Sworm {
  static override options = {
    handoff: true,
    replicas,
    ...(persistDir === undefined ? {} : { persist: { dir: persistDir } }),
  }
  static override actors = { Counter }
}

/**
 * The state name `i` is given before a leave: distinct per name, and never the registration's
 * start value 0, so that a worker restarted from its args (its state lost) shows as a mismatch.
 */
function stateOf(i: number): number {
  return 1_000 + i * 7
}

const node = await startNode({
  name: env['NODE_NAME'] ?? `sworm-${process.pid}`,
  cookie: env['SWORM_COOKIE'] ?? 'bench-cookie-of-the-sworm-suite',
  host: '127.0.0.1',
  port: Number(env['SWORM_PORT'] ?? 0),
  ...(env['SWORM_SEEDS'] ? { seeds: env['SWORM_SEEDS'].split(',') } : {}),
  logger: createLogger({ level: (env['SWORM_LOG_LEVEL'] as 'warn' | undefined) ?? 'warn' }),
  children: durable ? [BenchRooms, DurableRooms] : [BenchRooms],
})
const rooms: SwormInstance = BenchRooms.on(node)
const durableRooms: SwormInstance | undefined = durable ? DurableRooms.on(node) : undefined

/** The sworm a request is for: `DurableRooms` with `durable: true`, else `BenchRooms`. */
function swormOf(r: Record<string, unknown>): SwormInstance {
  if (r['durable'] !== true) return rooms
  if (durableRooms === undefined) throw new Error('this node runs no DurableRooms (SWORM_REPLICAS)')
  return durableRooms
}

/** Ms since the epoch with sub-ms precision, comparable across processes of one machine. */
const wallClock = (): number => performance.timeOrigin + performance.now()

/** The names `prefix0 ..` whose worker runs on node `on`, by index. */
function indexesOn(prefix: string, count: number, on: string, sworm = rooms, from = 0): number[] {
  const out: number[] = []
  for (let i = from; i < count; i++) {
    const pid = sworm.whereis(`${prefix}${i}`)
    if (pid !== undefined && nodeOf(pid) === on) out.push(i)
  }
  return out
}

/** Names looked up per turn by the polling ops: their scan is not what a figure measures. */
const SCAN_PER_TURN = 1000

/**
 * `indexesOn` in turns of `SCAN_PER_TURN` names, for the ops a figure polls while it measures
 * the node's event-loop delay: 10,000 lookups in one step took 10-20 ms on a busy node.
 */
async function indexesOnSliced(
  prefix: string,
  count: number,
  on: string,
  sworm = rooms,
): Promise<number[]> {
  const out: number[] = []
  for (let from = 0; from < count; from += SCAN_PER_TURN) {
    if (from > 0) await yieldTurn()
    out.push(...indexesOn(prefix, Math.min(count, from + SCAN_PER_TURN), on, sworm, from))
  }
  return out
}

/** What `inc` calls a load sends: per name, the calls that succeeded; and what failed. */
interface Load {
  readonly prefix: string
  readonly count: number
  readonly ok: Int32Array
  /** Names on the leaving node when the load started, by index. */
  readonly moving: Uint8Array
  sent: number
  sentToMoving: number
  failed: number
  /** Per name, the count each successful `inc` replied with, in the order the replies came. */
  readonly replies: number[][]
  readonly errors: Map<string, number>
  running: boolean
  done: Promise<void>
  /** Open loop: calls sent and not answered yet, and the most at once. */
  inFlight: number
  maxInFlight: number
}

let load: Load | undefined

/** This node's handoffs (its names moving away, each once its worker answered), for the phases. */
const handoffs = { count: 0, first: 0, last: 0 }
rooms.on('handoff', () => {
  const at = wallClock()
  if (handoffs.count++ === 0) handoffs.first = at
  handoffs.last = at
})

function loadMark(l: Load): Record<string, number> {
  const { sent, sentToMoving, failed, maxInFlight } = l
  return { sent, sentToMoving, failed, maxInFlight, at: wallClock() }
}

/**
 * Checks each name's replies: exactly once each count from `stateOf(i) + 1` up, whatever the
 * order. `badReplies` counts those that break it (a count seen twice, or one skipped: an
 * increment lost or applied twice); `lateReplies` those that came after a higher one of the
 * same name (two calls in flight to one name, the earlier answered later: not an error, since
 * two replies from different nodes need not arrive in order).
 */
function checkReplies(l: Load): { badReplies: number; lateReplies: number } {
  let badReplies = 0
  let lateReplies = 0
  for (const [i, replies] of l.replies.entries()) {
    let highest = -Infinity
    for (const n of replies) {
      if (n < highest) lateReplies++
      highest = Math.max(highest, n)
    }
    const sorted = [...replies].sort((a, b) => a - b)
    for (const [k, n] of sorted.entries()) if (n !== stateOf(i) + k + 1) badReplies++
  }
  return { badReplies, lateReplies }
}

serve({
  info: () => ({ id: node.id, name: node.name, url: node.url }),
  connect: (r) => {
    node.connect(stringArg(r, 'url'))
    return true
  },
  /**
   * The nodes this node's BenchRooms counts as members and those whose router it knows (where
   * it asks for holds before a move), itself included in both.
   */
  members: () => ({
    members: rooms.supervisor.stats().members,
    routers: rooms.registry.infoOf('router').size,
  }),
  /** How many names resolve here. */
  count: (r) => swormOf(r).registry.count(),
  /** How many children of BenchRooms run on live members, as this node sees them. */
  children: () => rooms.supervisor.countChildren().active,
  /** Processes of the node's runtime: a passivated worker's goes, its delegate's stays. */
  processes: () => node.runtime.processCount,
  /** { prefix, count }: how many of the names `prefix0 ..` run on this node. */
  localCount: async (r) =>
    (await indexesOnSliced(stringArg(r, 'prefix'), intArg(r, 'count'), node.id, swormOf(r))).length,
  /** { prefix, count, on }: the indexes of the names `prefix0 ..` that run on node `on`. */
  indexesOn: (r) =>
    indexesOn(stringArg(r, 'prefix'), intArg(r, 'count'), stringArg(r, 'on'), swormOf(r)),
  /**
   * { prefix, count, concurrency }: registers the names `prefix0 ..` (each a Counter from 0), with
   * at most `concurrency` registrations in flight; resolves with the absolute start and end.
   */
  register: async (r) => {
    const prefix = stringArg(r, 'prefix')
    const count = intArg(r, 'count')
    const sworm = swormOf(r)
    const start = wallClock()
    await inLanes(count, intArg(r, 'concurrency', 256), async (i) => {
      await sworm.registerName(`${prefix}${i}`, Counter, { n: 0 })
    })
    return { start, end: wallClock() }
  },
  /** { prefix, count, concurrency }: unregisters the names `prefix0 ..` (their workers stop). */
  unregister: async (r) => {
    const prefix = stringArg(r, 'prefix')
    await inLanes(intArg(r, 'count'), intArg(r, 'concurrency', 256), async (i) => {
      await rooms.unregisterName(`${prefix}${i}`)
    })
    return true
  },
  /** The generations of this node's BenchRooms docs, and the docs this node holds, by name. */
  docs: () => ({
    registry: rooms.registry.stats().generation,
    supervisor: rooms.supervisor.stats().generation,
    held: node.docs.names(),
  }),
  /** The largest event-loop delay since the last `maxDelay` (or the start), in ms. */
  maxDelay: () => takeMaxDelay(),
  /** { prefix, count, concurrency }: gives name `i` the state `stateOf(i)` (a `set` call by name). */
  /**
   * { prefix, count }: casts to every name `prefix0 ..` in one loop (the Counter ignores casts),
   * so that every worker is touched within a few ms of the others (their idle timers with them).
   */
  touchAll: (r) => {
    const prefix = stringArg(r, 'prefix')
    const sworm = swormOf(r)
    for (let i = 0; i < intArg(r, 'count'); i++) sworm.cast(`${prefix}${i}`, 'touch')
    return true
  },
  setStates: async (r) => {
    const prefix = stringArg(r, 'prefix')
    const sworm = swormOf(r)
    await inLanes(intArg(r, 'count'), intArg(r, 'concurrency', 256), async (i) => {
      await sworm.call(`${prefix}${i}`, { set: stateOf(i) } satisfies CounterCall)
    })
    return true
  },
  /**
   * { prefix, count, notOn, timeoutMs }: resolves with the absolute time `at` at which all
   * `count` names resolve here and none on node `notOn`, watched through the registry's
   * `register` events (no polling loop to take a core from the other nodes), and the time
   * `first` one of them was seen registered elsewhere. Sent before the leave.
   */
  awaitMoved: (r) => {
    const prefix = stringArg(r, 'prefix')
    const count = intArg(r, 'count')
    const notOn = stringArg(r, 'notOn')
    const timeoutMs = intArg(r, 'timeoutMs', 30_000)
    const sworm = swormOf(r)
    const left = new Set(indexesOn(prefix, count, notOn, sworm).map((i) => `${prefix}${i}`))
    const done = (): boolean => left.size === 0 && sworm.registry.count() >= count
    let first: number | undefined
    if (done()) return { at: wallClock(), first: wallClock() }
    return new Promise<{ at: number; first: number }>((resolve, reject) => {
      const timer = setTimeout(() => {
        off()
        reject(new Error(`${left.size} names still on ${notOn}, ${sworm.registry.count()} resolve`))
      }, timeoutMs)
      const off = sworm.registry.on('register', (name, pid) => {
        if (typeof name === 'string' && nodeOf(pid) !== notOn && left.delete(name)) {
          first ??= wallClock()
        }
        if (!done()) return
        clearTimeout(timer)
        off()
        const at = wallClock()
        resolve({ at, first: first ?? at })
      })
    })
  },
  /**
   * { prefix, count, concurrency }: reads every worker's state by name and compares it with
   * `stateOf(i)` plus the `inc` calls of the last load that succeeded on it. `missing` counts
   * increments (or the handed-over state) that are not there, `extra` those counted twice.
   */
  verify: async (r) => {
    const prefix = stringArg(r, 'prefix')
    const count = intArg(r, 'count')
    const sworm = swormOf(r)
    const only = r['only'] as number[] | undefined
    /** The `inc` calls that succeeded from another node's load, per name. */
    const okElsewhere = r['okElsewhere'] as number[] | undefined
    const indexes = only ?? Array.from({ length: count }, (_, i) => i)
    let wrong = 0
    let missing = 0
    let extra = 0
    let unreachable = 0
    const examples: string[] = []
    await inLanes(indexes.length, intArg(r, 'concurrency', 256), async (k) => {
      const i = indexes[k]!
      const want =
        stateOf(i) + (load?.prefix === prefix ? (load.ok[i] ?? 0) : 0) + (okElsewhere?.[i] ?? 0)
      let got: number
      try {
        got = await sworm.call<number>(`${prefix}${i}`, 'get' satisfies CounterCall)
      } catch (e) {
        unreachable++
        if (examples.length < 5) examples.push(`${prefix}${i}: ${String(e)}`)
        return
      }
      if (got === want) return
      wrong++
      if (got < want) missing += want - got
      else extra += got - want
      if (examples.length < 5) examples.push(`${prefix}${i}: ${got}, expected ${want}`)
    })
    return { wrong, missing, extra, unreachable, examples }
  },
  /**
   * { prefix, count, concurrency, movingFrom }: starts `concurrency` lanes that each call `inc`
   * by name, round-robin over the names `prefix0 ..`, one call at a time, until `loadStop`.
   */
  loadStart: (r) => {
    if (load?.running === true) throw new Error('a load already runs')
    const prefix = stringArg(r, 'prefix')
    const count = intArg(r, 'count')
    const sworm = swormOf(r)
    const moving = new Uint8Array(count)
    for (const i of indexesOn(prefix, count, stringArg(r, 'movingFrom'), sworm)) moving[i] = 1
    const l: Load = {
      prefix,
      count,
      ok: new Int32Array(count),
      moving,
      sent: 0,
      sentToMoving: 0,
      failed: 0,
      replies: Array.from({ length: count }, () => []),
      errors: new Map(),
      running: true,
      done: Promise.resolve(),
      inFlight: 0,
      maxInFlight: 0,
    }
    const stride = intArg(r, 'stride', 1)
    let next = intArg(r, 'offset', 0)
    const callOne = async (): Promise<void> => {
      const i = next
      next = (next + stride) % count
      l.sent++
      if (l.moving[i] === 1) l.sentToMoving++
      l.inFlight++
      l.maxInFlight = Math.max(l.maxInFlight, l.inFlight)
      try {
        const n = await sworm.call<number>(`${prefix}${i}`, 'inc' satisfies CounterCall)
        l.ok[i] = (l.ok[i] ?? 0) + 1
        l.replies[i]?.push(n)
      } catch (e) {
        l.failed++
        const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e)
        l.errors.set(what, (l.errors.get(what) ?? 0) + 1)
      } finally {
        l.inFlight--
      }
    }
    const rate = r['rate'] as number | undefined
    if (rate === undefined) {
      // Closed loop: `concurrency` lanes, each one call at a time.
      const lane = async (): Promise<void> => {
        while (l.running) await callOne()
      }
      l.done = Promise.all(Array.from({ length: intArg(r, 'concurrency', 64) }, lane)).then(
        () => {},
      )
    } else {
      // Open loop: `rate` calls a second, each due at its time whatever the earlier ones took
      // (none is awaited before the next is sent), so a move that slows replies piles calls up
      // in flight instead of slowing the load down.
      l.done = (async () => {
        await openLoop({
          rate,
          now: () => performance.now(),
          start: performance.now(),
          more: () => l.running,
          fire: () => void callOne(),
        })
        // Every call settles within its timeout (callOne catches its failure).
        while (l.inFlight > 0) await new Promise((res) => setTimeout(res, 5))
      })()
    }
    load = l
    return true
  },
  /**
   * { prefix, count, calls, durable }: `calls` sequential `inc` calls by name, round-robin over
   * the names `prefix0 ..` that run on other nodes; the median and 99th percentile in µs.
   */
  latency: async (r) => {
    const sworm = swormOf(r)
    const prefix = stringArg(r, 'prefix')
    const count = intArg(r, 'count')
    const remote: string[] = []
    for (let i = 0; i < count; i++) {
      const pid = sworm.whereis(`${prefix}${i}`)
      if (pid !== undefined && nodeOf(pid) !== node.id) remote.push(`${prefix}${i}`)
    }
    const samples: number[] = []
    for (let k = 0; k < intArg(r, 'calls'); k++) {
      const t = performance.now()
      await sworm.call(remote[k % remote.length]!, 'inc' satisfies CounterCall)
      samples.push((performance.now() - t) * 1000)
    }
    samples.sort((x, y) => x - y)
    return {
      p50: samples[samples.length >> 1] ?? 0,
      p99: samples[Math.floor(samples.length * 0.99)] ?? 0,
    }
  },
  /** The copies this node keeps for others (DurableRooms): how many, and their encoded bytes. */
  copies: () => durableRooms?.replicas?.stats() ?? { copies: 0, copyBytes: 0, replicators: 0 },
  /** Drops every copy this node keeps (for the heap they take). */
  dropCopies: () => {
    durableRooms?.replicas?.copies.clear()
    return true
  },
  /** The heap in use after full collections (needs --expose-gc), in bytes. */
  heap: async () => {
    const gc = globalThis.gc
    if (gc === undefined) throw new Error('heap needs node --expose-gc')
    for (let i = 0; i < 3; i++) {
      gc()
      await new Promise((res) => setImmediate(res))
    }
    return process.memoryUsage().heapUsed
  },
  /** The load's counters so far, with the absolute time they were read. */
  loadMark: () => {
    if (load === undefined) throw new Error('no load was started')
    return loadMark(load)
  },
  /** Stops the load, waits for its calls in flight, and returns its counters and errors. */
  loadStop: async (r) => {
    if (load === undefined) throw new Error('no load was started')
    load.running = false
    await load.done
    return {
      ...loadMark(load),
      ...checkReplies(load),
      errors: Object.fromEntries(load.errors),
      ...(r['withOk'] === true ? { ok: Array.from(load.ok) } : {}),
    }
  },
  /**
   * Leaves gracefully (this node's names move, with their state), replies, then exits. Replies
   * with the start and end of `node.stop()` and the CPU time it took, when the first and last of its names was handed
   * over (absolute times), and the largest event-loop delay since the last `maxDelay`.
   */
  stop: async () => {
    const start = wallClock()
    const cpu = process.cpuUsage()
    await node.stop()
    setImmediate(() => process.exit(0))
    const used = process.cpuUsage(cpu)
    return {
      start,
      end: wallClock(),
      cpuMs: (used.user + used.system) / 1000,
      maxDelay: takeMaxDelay(),
      handoffs: handoffs.count,
      firstHandoff: handoffs.first,
      lastHandoff: handoffs.last,
    }
  },
})

// The harness's stop at the end of a figure (and profiling) ends nodes with SIGTERM: leave too.
process.on('SIGTERM', () => {
  void node.stop().then(() => process.exit(0))
})

node.on('nodeUp', (n) => emit({ event: 'nodeUp', id: n.id, name: n.name, at: Date.now() }))
ready({ id: node.id, name: node.name, url: node.url })
