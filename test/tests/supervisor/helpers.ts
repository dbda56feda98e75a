// Helpers shared by the supervisor tests: a test actor that reports where it runs, a census of the
// children alive in this OS process (the ground truth behind "runs exactly once"), supervisors
// started on every node of a cluster, and ids that hash to a chosen node.
import {
  Actor,
  nodeOf,
  type ExitReason,
  type NodeId,
  type Pid,
  type StartInfo,
} from '@swormjs/actor'
import type { Node, NodeOptions } from '@swormjs/cluster'
import {
  DistributedSupervisor,
  type ChildInfo,
  type ChildSpec,
  type DistributedSupervisorOptions,
  type SupervisorEvents,
} from '@swormjs/supervisor'
import { fastFailureDetection, waitUntil } from '../../src/index.js'

/** Failure detection fast enough for tests that wait on it. */
export const FAST: NodeOptions = fastFailureDetection(150, 600)

/** Bound of waits for replication and convergence: generous, the machine is shared. */
export const SETTLE_MS = 5000

/** What a `Worker` is started with: its child id (so that it can report it) and options. */
export interface WorkerArgs {
  id: string
  /** How long its `terminate` takes. Default 0. */
  terminateMs?: number
}

/** Every `Worker` started in this OS process (pid → child id); `copiesOf` keeps the live ones. */
const census = new Map<Pid, string>()

/** One run of a `Worker`'s `terminate`. */
export interface Termination {
  id: string
  pid: Pid
  reason: ExitReason
}

/** Every `terminate` a `Worker` ran in this OS process, in order. */
export const terminations: Termination[] = []

/** Forgets the census and the terminations (between tests). */
export function resetCensus(): void {
  census.clear()
  terminations.length = 0
}

/**
 * The child actor of these tests. Calls: `'whoami'` → `{ id, node }`, `'crash'` throws (the
 * child crashes), `'stop'` ends it normally, `'handoff'` → `{ state }`, the state it started with.
 */
export class Worker extends Actor<WorkerArgs> {
  private args: WorkerArgs = { id: '' }
  private handoff: unknown
  override init(args: WorkerArgs, start: StartInfo): void {
    this.args = args
    this.handoff = start.handoff
    census.set(this.self, args.id)
  }
  override handleCall(msg: unknown): unknown {
    if (msg === 'crash') throw new Error('crash on request')
    if (msg === 'stop') {
      this.stop('normal')
      return 'stopping'
    }
    if (msg === 'handoff') return { state: this.handoff }
    return { id: this.args.id, node: this.runtime.nodeId }
  }
  override async terminate(reason: ExitReason): Promise<void> {
    terminations.push({ id: this.args.id, pid: this.self, reason })
    const ms = this.args.terminateMs ?? 0
    if (ms > 0) await new Promise((r) => setTimeout(r, ms))
  }
}

/** An actor whose `init` always throws. */
export class FailsInit extends Actor<WorkerArgs> {
  override init(): void {
    throw new Error('init refuses')
  }
}

/** The actor types of most tests. */
export const ACTORS = { Worker, FailsInit }

/** A `Worker` child spec for `id`. */
export function worker(
  id: string,
  more: Partial<ChildSpec> & { terminateMs?: number } = {},
): ChildSpec {
  const { terminateMs, ...rest } = more
  const args: WorkerArgs = terminateMs === undefined ? { id } : { id, terminateMs }
  return { id, type: 'Worker', args, ...rest }
}

/**
 * The live copies of every child id among `nodes` (a copy is a `Worker` process alive on its
 * node, including one running its `terminate`): id → pids.
 */
export function liveCopies(nodes: readonly Node[]): Map<string, Pid[]> {
  const byId = new Map<NodeId, Node>(nodes.map((n) => [n.id, n]))
  const out = new Map<string, Pid[]>()
  for (const [pid, id] of census) {
    const node = byId.get(nodeOf(pid))
    if (node === undefined || !node.runtime.isAlive(pid)) continue
    const pids = out.get(id)
    if (pids === undefined) out.set(id, [pid])
    else pids.push(pid)
  }
  return out
}

/** The live copies of `id` among `nodes`. */
export function copiesOf(nodes: readonly Node[], id: string): Pid[] {
  return liveCopies(nodes).get(id) ?? []
}

/** True when each of `ids` has exactly one live copy among `nodes`. */
export function eachRunsOnce(nodes: readonly Node[], ids: Iterable<string>): boolean {
  const live = liveCopies(nodes)
  for (const id of ids) if (live.get(id)?.length !== 1) return false
  return true
}

/** Ids with more than one live copy among `nodes`. */
export function duplicated(nodes: readonly Node[]): string[] {
  const out: string[] = []
  for (const [id, pids] of liveCopies(nodes)) if (pids.length > 1) out.push(id)
  return out
}

/**
 * Starts the supervisor `name` on every node (options per node, or the same for all) and waits
 * until each sees all the others.
 */
export async function startSupervisors(
  nodes: readonly Node[],
  options:
    | Partial<DistributedSupervisorOptions>
    | ((i: number) => Partial<DistributedSupervisorOptions>) = {},
  name = 's',
): Promise<DistributedSupervisor[]> {
  const sups = await Promise.all(
    nodes.map((n, i) =>
      DistributedSupervisor.start(n, name, {
        actors: ACTORS,
        ...(typeof options === 'function' ? options(i) : options),
      }),
    ),
  )
  await waitUntil(
    () => sups.every((s) => s.stats().members === nodes.length),
    SETTLE_MS,
    'every supervisor to see the others',
  )
  return sups
}

/** `count` fresh ids (`prefix-<n>`) that `sup` would place on `node`. */
export function idsPlacedOn(
  sup: DistributedSupervisor,
  node: NodeId,
  count: number,
  prefix = 'on',
): string[] {
  const out: string[] = []
  for (let i = 0; out.length < count; i++) {
    if (i > count * 1000) throw new Error(`no ids hash to node ${node}`)
    const id = `${prefix}-${i}`
    if (sup.find(id, 'Worker') === node) out.push(id)
  }
  return out
}

/** `sup.whichChildren()` as sorted `[id, pid]` pairs, to compare views with `toEqual`. */
export function view(sup: DistributedSupervisor): Array<[string, Pid]> {
  return sup
    .whichChildren()
    .map((c): [string, Pid] => [c.id, c.pid])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
}

/** True when every supervisor reports the same children with the same pids. */
export function viewsAgree(sups: readonly DistributedSupervisor[]): boolean {
  const first = JSON.stringify(view(sups[0]!))
  return sups.every((s) => JSON.stringify(view(s)) === first)
}

/** `whichChildren()` by id. */
export function childrenById(sup: DistributedSupervisor): Map<string, ChildInfo> {
  return new Map(sup.whichChildren().map((c) => [c.id, c]))
}

/** Keeps every event of `name` that `sup` emits from now on. */
export function recordEvents<K extends keyof SupervisorEvents>(
  sup: DistributedSupervisor,
  name: K,
): Array<SupervisorEvents[K]> {
  const out: Array<SupervisorEvents[K]> = []
  sup.on(name, (...args) => out.push(args))
  return out
}
