// The steps the `sworm` suite's figures share: a mesh of three real sworm node processes (the
// suite's own swormNode fixture), filling it with handoff workers, a node's leave and the times
// of its phases, and checking every worker's state by name afterwards.
import { setTimeout as sleep } from 'node:timers/promises'
import type { ChildNode } from '@swormjs/test'
import {
  EVENT_TIMEOUT_MS,
  field,
  numberReply,
  startMesh,
  type Mesh,
  type MeshOptions,
} from '../childNodes.js'
import { round } from '../measure.js'

const NAMES = ['sworm-a', 'sworm-b', 'sworm-c'] as const
/** The prefix of the workers' names (`w0`, `w1`, ...) in the leave figures. */
export const PREFIX = 'w'
/** Between two polls of a node's state while waiting for a change to settle (not for timing). */
const POLL_MS = 20
/** registerName (and set, and verify) calls in flight at once on one node. */
export const CONCURRENCY = 256

/**
 * The suite's node script, compiled. Reached through the package root, so that the suite finds
 * it when it runs from `dist` and when a test runs it from `src`.
 */
export const SWORM_NODE = new URL('../../dist/child/swormNode.js', import.meta.url)

/** Polls `probe` every `POLL_MS` until it returns true; rejects after `EVENT_TIMEOUT_MS`. */
export async function until(what: string, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + EVENT_TIMEOUT_MS
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${EVENT_TIMEOUT_MS} ms`)
    await sleep(POLL_MS)
  }
}

/** How many names resolve on `node`. */
export async function countOn(node: ChildNode): Promise<number> {
  return numberReply(await node.request({ op: 'count' }), 'count')
}

/** Three sworm nodes; disposing it ends them. */
export interface SwormMesh extends AsyncDisposable {
  readonly nodes: readonly [ChildNode, ChildNode, ChildNode]
  readonly ids: readonly [string, string, string]
}

/**
 * Spawns three sworm nodes, meshes them, and resolves once each counts the three as members of
 * BenchRooms and knows each one's router (so that a move asks every node for its holds).
 */
export async function swormMesh(options: MeshOptions = {}): Promise<SwormMesh> {
  const mesh: Mesh = await startMesh(NAMES, { ...options, script: SWORM_NODE })
  try {
    const nodes = mesh.nodes as [ChildNode, ChildNode, ChildNode]
    const ids = (await Promise.all(
      nodes.map(async (n) => field(await n.ready, 'id', 'string')),
    )) as [string, string, string]
    for (const node of nodes) {
      await until('BenchRooms members', async () => {
        const reply = await node.request({ op: 'members' })
        return (
          field(reply, 'members', 'number') === nodes.length &&
          field(reply, 'routers', 'number') === nodes.length
        )
      })
    }
    return { nodes, ids, [Symbol.asyncDispose]: () => mesh[Symbol.asyncDispose]() }
  } catch (e) {
    await mesh[Symbol.asyncDispose]()
    throw e
  }
}

/**
 * Three sworm nodes where A registered `count` workers (`w0 ..`, placed across the three) and
 * gave each its own state; every node resolves all of them.
 */
export async function filledSworm(count: number): Promise<SwormMesh> {
  const mesh = await swormMesh()
  try {
    const [a] = mesh.nodes
    await a.request({ op: 'register', prefix: PREFIX, count, concurrency: CONCURRENCY })
    await a.request({ op: 'setStates', prefix: PREFIX, count, concurrency: CONCURRENCY })
    for (const node of mesh.nodes) {
      await until('every name everywhere', async () => (await countOn(node)) === count)
    }
    return mesh
  } catch (e) {
    await mesh[Symbol.asyncDispose]()
    throw e
  }
}

/** How many of the workers run on `node`. */
export async function localCount(node: ChildNode, count: number): Promise<number> {
  return numberReply(await node.request({ op: 'localCount', prefix: PREFIX, count }), 'localCount')
}

/** When B saw the workers off the leaver: the first one, and the last (all of them). */
export interface MovedAt {
  readonly first: number
  readonly at: number
}

/**
 * Asks `node` for the absolute times (ms since the epoch, sub-ms) at which it first sees one of
 * the `count` workers leave `leaver` and at which it resolves all of them and none on `leaver`;
 * makes sure it is watching before this resolves (the next request's reply comes after the
 * watch is set up).
 */
export async function watchMoved(
  node: ChildNode,
  count: number,
  leaver: string,
): Promise<{ moved: Promise<MovedAt> }> {
  const moved = node
    .request({
      op: 'awaitMoved',
      prefix: PREFIX,
      count,
      notOn: leaver,
      timeoutMs: EVENT_TIMEOUT_MS,
    })
    .then((reply) => ({ first: field(reply, 'first', 'number'), at: field(reply, 'at', 'number') }))
  // If the request fails, the caller awaits `moved` and hears of it; don't report it twice.
  moved.catch(() => undefined)
  await countOn(node)
  return { moved }
}

/** The leaver's own times (absolute): its `node.stop()`, and its first and last handoff. */
export interface Left {
  readonly start: number
  readonly end: number
  readonly handoffs: number
  readonly firstHandoff: number
  readonly lastHandoff: number
}

/** The leaver's `stop`: it replies once it has left, then exits. */
export async function leave(node: ChildNode): Promise<Left> {
  const reply = await node.request({ op: 'stop' })
  await node.exited
  return {
    start: field(reply, 'start', 'number'),
    end: field(reply, 'end', 'number'),
    handoffs: field(reply, 'handoffs', 'number'),
    firstHandoff: field(reply, 'firstHandoff', 'number'),
    lastHandoff: field(reply, 'lastHandoff', 'number'),
  }
}

/**
 * Where the time of a leave goes, in ms from the bench's stop request: the leaver's first
 * handoff (the hold round, then the first worker's answer), its last one, B's first sight of a
 * worker elsewhere, and B resolving them all (the value); the leaver's `node.stop()` as a whole.
 */
export interface Phases {
  readonly ms: number
  readonly firstHandoffMs: number
  readonly lastHandoffMs: number
  readonly firstMovedMs: number
  readonly stopMs: number
  readonly handoffs: number
}

export function phases(stopAt: number, moved: MovedAt, left: Left): Phases {
  return {
    ms: moved.at - stopAt,
    firstHandoffMs: left.firstHandoff - stopAt,
    lastHandoffMs: left.lastHandoff - stopAt,
    firstMovedMs: moved.first - stopAt,
    stopMs: left.end - left.start,
    handoffs: left.handoffs,
  }
}

export function showPhases(p: Phases): string {
  return `handoffs ${round(p.firstHandoffMs)}..${round(p.lastHandoffMs)} ms (${p.handoffs}), first seen moved ${round(p.firstMovedMs)} ms, the leaver's stop ${round(p.stopMs)} ms`
}

/** The medians of the phases, as extra fields of a bench line. */
export const phaseFields = {
  firstHandoffMs: (r: Phases) => r.firstHandoffMs,
  lastHandoffMs: (r: Phases) => r.lastHandoffMs,
  firstMovedMs: (r: Phases) => r.firstMovedMs,
  stopMs: (r: Phases) => r.stopMs,
}

/** What `verify` found: workers whose state is not what it should be, and by how much. */
export interface Verified {
  /** Workers whose state differs. */
  readonly wrong: number
  /** Increments (or handed-over state) not there, summed over the workers. */
  readonly missing: number
  /** Increments counted twice, summed over the workers. */
  readonly extra: number
  /** Workers that did not answer a call by name. */
  readonly unreachable: number
  readonly examples: readonly string[]
}

/**
 * `node` reads every worker's state by name (of DurableRooms with `durable`; only the indexes
 * `only` if given) and compares it with what it should be.
 */
export async function verify(
  node: ChildNode,
  count: number,
  durable = false,
  only?: readonly number[],
  okElsewhere?: readonly number[],
): Promise<Verified> {
  const reply = await node.request({
    op: 'verify',
    prefix: PREFIX,
    count,
    concurrency: CONCURRENCY,
    durable,
    ...(only === undefined ? {} : { only }),
    ...(okElsewhere === undefined ? {} : { okElsewhere }),
  })
  return {
    wrong: field(reply, 'wrong', 'number'),
    missing: field(reply, 'missing', 'number'),
    extra: field(reply, 'extra', 'number'),
    unreachable: field(reply, 'unreachable', 'number'),
    examples: (reply as { examples: string[] }).examples,
  }
}

export function showExamples(note: (text: string) => void, v: Verified): void {
  for (const example of v.examples) note(`  wrong state: ${example}`)
}
