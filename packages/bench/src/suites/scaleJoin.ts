// A figure of the scale suite: how long a new node takes to catch up with a cluster holding
// 100,000 names (the three owners stream their registry docs to it in bounded parts), and the
// longest step any of the four event loops took meanwhile. Real node processes (the bench's
// joinNode child); fresh ones each run.
import { spawnNodes, type ChildNode } from '@swormjs/test'
import {
  EVENT_TIMEOUT_MS,
  REQUEST_TIMEOUT_MS,
  field,
  nodeFlags,
  startMesh,
  stopTimeoutMs,
  wallClock,
  withChildren,
} from '../childNodes.js'
import type { Figure } from '../figure.js'
import {
  repeat,
  round,
  scaled,
  summarizeRuns,
  type Measurement,
  type RunOptions,
  type Target,
} from '../measure.js'

/** Full-size workload; `RunOptions.scale` shrinks it. */
const NAMES = 100_000
const OWNERS = ['join-a', 'join-b', 'join-c'] as const

const targets = {
  join: { op: '<=', value: 3000 },
} as const satisfies Record<string, Target>

/**
 * The suite's node script, compiled. Reached through the package root, so that the figure
 * finds it when it runs from `dist` and when a test runs it from `src`.
 */
const JOIN_NODE = new URL('../../dist/child/joinNode.js', import.meta.url)

/**
 * One join: its time, and for the joiner and the owners (the worst of the three) the longest
 * event-loop delay (wall time) and the longest step bounded by the CPU time it took (on a shared
 * machine a delay may only be the process waiting for a core).
 */
interface JoinRun {
  readonly ms: number
  readonly joinerMaxDelayMs: number
  readonly joinerMaxStepMs: number
  readonly ownersMaxDelayMs: number
  readonly ownersMaxStepMs: number
}

interface Delay {
  readonly maxMs: number
  readonly maxStepMs: number
}

/** `node`'s longest delay and step since its last reset (the first call starts sampling). */
async function loopDelay(node: ChildNode, reset: boolean): Promise<Delay> {
  const reply = await node.request({ op: 'loopDelay', reset })
  return { maxMs: field(reply, 'maxMs', 'number'), maxStepMs: field(reply, 'maxStepMs', 'number') }
}

/** Resolves once `node` resolves `count` names, told by the node itself (not polled). */
async function watchCount(node: ChildNode, count: number): Promise<number> {
  const seen = node.waitForEvent((e) => e.event === 'count', EVENT_TIMEOUT_MS)
  await node.request({ op: 'watchCount', count })
  return field(await seen, 'at', 'number')
}

/** Three owners of a third of the names each, every one of them resolving all of them. */
async function filledCluster(count: number): Promise<AsyncDisposable & { nodes: ChildNode[] }> {
  const mesh = await startMesh(OWNERS, { script: JOIN_NODE })
  try {
    const nodes = [...mesh.nodes]
    const share = Math.ceil(count / nodes.length)
    const everywhere = nodes.map((n) => watchCount(n, count))
    await Promise.all(
      nodes.map((n, i) => {
        const mine = Math.max(0, Math.min(share, count - i * share))
        return n.request({ op: 'register', count: mine, prefix: `${OWNERS[i]}:` })
      }),
    )
    await Promise.all(everywhere)
    return { nodes, [Symbol.asyncDispose]: () => mesh[Symbol.asyncDispose]() }
  } catch (e) {
    await mesh[Symbol.asyncDispose]()
    throw e
  }
}

const join100k: Figure = {
  name: 'join_100k_ms',
  description: `ms: a new node joins a 3-node cluster holding ${NAMES} names until it sees them all; with the longest event-loop delay of the joiner and of the owners meanwhile (wall, and bounded by CPU time); fresh nodes each run (target <= ${targets.join.value})`,
  run: (options: RunOptions) =>
    withChildren(async (): Promise<Measurement> => {
      const count = scaled(NAMES, options.scale, 3)
      const once = async (): Promise<JoinRun> => {
        await using cluster = await filledCluster(count)
        await using joiners = await spawnNodes(1, {
          script: JOIN_NODE,
          name: 'join-new',
          env: { NODE_NAME: 'join-new', SWORM_LOG_LEVEL: 'warn' },
          execArgv: nodeFlags(),
          requestTimeoutMs: REQUEST_TIMEOUT_MS,
          stopTimeoutMs: stopTimeoutMs(),
        })
        const joiner = joiners[0]!
        const all = [...cluster.nodes, joiner]
        const urls = await Promise.all(
          cluster.nodes.map(async (n) => field(await n.ready, 'url', 'string')),
        )
        const seen = watchCount(joiner, count)
        await Promise.all(all.map((n) => loopDelay(n, true)))
        const start = wallClock()
        await joiner.request({ op: 'connect', urls })
        const at = await seen
        const delays = await Promise.all(all.map((n) => loopDelay(n, false)))
        // A profiled joiner writes its profile only when it exits by itself.
        if (nodeFlags().length > 0) await joiner.stop()
        const joinerDelay = delays.pop()!
        return {
          ms: at - start,
          joinerMaxDelayMs: joinerDelay.maxMs,
          joinerMaxStepMs: joinerDelay.maxStepMs,
          ownersMaxDelayMs: Math.max(...delays.map((d) => d.maxMs)),
          ownersMaxStepMs: Math.max(...delays.map((d) => d.maxStepMs)),
        }
      }
      const runs = await repeat(
        { ...options, warmup: 0 },
        'scale.join_100k_ms',
        once,
        (r) =>
          `${round(r.ms)} ms; longest delay (step by CPU): joiner ${round(r.joinerMaxDelayMs)} (${round(r.joinerMaxStepMs)}) ms, owners ${round(r.ownersMaxDelayMs)} (${round(r.ownersMaxStepMs)}) ms`,
      )
      return {
        ...summarizeRuns(runs, (r) => r.ms, 'ms', targets.join, {
          joinerMaxDelayMs: (r) => r.joinerMaxDelayMs,
          joinerMaxStepMs: (r) => r.joinerMaxStepMs,
          ownersMaxDelayMs: (r) => r.ownersMaxDelayMs,
          ownersMaxStepMs: (r) => r.ownersMaxStepMs,
        }),
        worstJoinerStepMs: round(Math.max(...runs.map((r) => r.joinerMaxStepMs))),
        worstOwnersStepMs: round(Math.max(...runs.map((r) => r.ownersMaxStepMs))),
        count,
      }
    }),
}

/** The join figures, to be run in the `scale` suite. */
export const joinFigures: Figure[] = [join100k]
