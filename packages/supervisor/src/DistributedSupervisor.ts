// A distributed dynamic supervisor (Horde.DynamicSupervisor with supervisorring's hashing).
// Each node runs its own children and records them in its own doc; placement is rendezvous
// hashing over the live members that know a child's type; when a node dies, the member the
// hash now picks adopts each of its children; a healed split keeps the earliest start of an id.
// docs/INTERNALS.md ("The distributed supervisor") describes the rules.
import type * as Y from 'yjs'
import {
  BadArgument,
  CallTimeout,
  Emitter,
  InitFailed,
  MaxChildren,
  NotFound,
  RestartIntensity,
  lostToACopy,
  shouldRestart,
  withTimeout,
  type ActorClassLike,
  type ExitReason,
  type NodeId,
  type Pid,
  type TimerHandle,
} from '@sworm/actor'
import type { DownReason, Node } from '@sworm/cluster'
import { beats, ComponentDocs, HybridClock } from '@sworm/cluster/internal'
import {
  AlreadyStarted,
  NoAliveNodes,
  QuorumNotMet,
  ShuttingDown,
  SupervisorTimeout,
  UnknownActorType,
} from './errors.js'
import { rendezvous } from './hash.js'
import {
  fromDoc,
  normalize,
  type ChildRecord,
  type ChildSpec,
  type DocChild,
  type Started,
} from './records.js'
import { SupervisorServer, type ServerHost, type ServerRequest } from './SupervisorServer.js'

/** Where a child goes: by hash, by hash with a quorum, or by a function of yours. */
export type Distribution =
  'hash' | 'quorum' | ((childId: string, members: readonly NodeId[]) => NodeId | undefined)

/** A function `exec` can run on a child's node: it must be registered under the same name everywhere. */
export type ExecFn = (child: { id: string; pid: Pid }, args: unknown) => unknown

/** Hooks for the layer above (sworm): hand-off before a child moves, state to its next start. */
export interface SupervisorHooks {
  /** Before a child moves away (leave, redistribution): its state, or undefined. Bounded by `handoffTimeoutMs`. */
  beforeMove?(id: string, pid: Pid): Promise<unknown>
}

/** Options of a distributed supervisor (the same on every node that runs it, but `actors` may differ). */
export interface DistributedSupervisorOptions {
  /** The actor types this node can run, by stable name. */
  actors: Record<string, ActorClassLike<never>>
  /** Default `hash`. */
  distribution?: Distribution
  /** `passive` (default): children stay until their node leaves or dies. `active`: they move to a node that joins and now wins them. */
  redistribution?: 'passive' | 'active'
  /** Restarts of one child allowed in `maxSeconds` before it is given up. Default 3. */
  maxRestarts?: number
  /** Default 5. */
  maxSeconds?: number
  /** Children this node runs at most. Default: no limit. */
  maxChildren?: number
  /** Default `shutdownMs` of children. Default 5000. */
  shutdownMs?: number
  /** Timeout of calls to other nodes (start, terminate, exec). Default 5000. */
  callTimeoutMs?: number
  /**
   * `quorum`: wait this long before adopting the children of a node seen down, so that a
   * minority side has noticed the split (a heartbeat timeout, 3 s by default) and stopped its
   * children (their `shutdownMs`, 5 s by default). Default 10,000.
   */
  quorumAdoptDelayMs?: number
  /** `quorum`: members needed; default a majority of the members ever seen (less those that left). */
  quorumSize?: number
  /** Functions `exec` may run on another node, by name. */
  functions?: Record<string, ExecFn>
  /** How long `beforeMove` may take. Default 5000. */
  handoffTimeoutMs?: number
  hooks?: SupervisorHooks
  /** Forget the doc of a node down this long. Default 60,000. */
  forgetAfterMs?: number
  /** Compact this node's doc once this many removals piled up (or more than live children). Default 10,000. */
  compactMinDead?: number
  /**
   * Two copies of one child seen after a split heals: `earliest` (default) stops the later
   * start; `keep` leaves both to the layer above (sworm: the registry's verdict on the name
   * counts, and the loser ends with `{ shutdown: 'name_conflict' }`).
   */
  duplicates?: 'earliest' | 'keep'
}

/** A child as `whichChildren` reports it. */
export interface ChildInfo {
  id: string
  pid: Pid
  node: NodeId
  type: string
  restart: ChildRecord['restart']
}

export interface SupervisorEvents extends Record<string, unknown[]> {
  started: [id: string, pid: Pid]
  restarted: [id: string, pid: Pid, reason: ExitReason]
  /** Started here after it ran on `from` (adopted from a dead node, moved by a leave or a redistribution). */
  moved: [id: string, pid: Pid, from: string]
  /** Given up: too many restarts, or no node could run it. */
  lost: [id: string, reason: string]
}

interface LocalChild {
  spec: ChildRecord
  pid: Pid
  clock: number
  intensity: RestartIntensity
  stopping: boolean
}

/**
 * @example
 * const sup = await DistributedSupervisor.start(node, 'rooms', { actors: { ChatRoom } })
 * const pid = await sup.startChild({ id: 'room:42', type: 'ChatRoom', args: { topic: 'tea' } })
 */
export class DistributedSupervisor {
  readonly name: string
  readonly node: Node
  private readonly opts: Required<Omit<DistributedSupervisorOptions, 'quorumSize' | 'hooks'>> & {
    quorumSize: number | undefined
    hooks: SupervisorHooks
  }
  private readonly events: Emitter<SupervisorEvents>
  private readonly docs: ComponentDocs
  private readonly local = new Map<string, LocalChild>()
  private readonly byPid = new Map<Pid, string>()
  /**
   * Members ever seen, by address (for quorum), less those that left or stopped their
   * supervisor. By address, so that a node restarted with a new incarnation counts once.
   */
  private readonly known = new Set<string>()
  private readonly adoptTimers = new Set<TimerHandle>()
  /**
   * Children of down members that no live member was seen running since: dead node → ids.
   * Kept until adopted, because the member their hash picked may die before it adopts them.
   */
  private readonly orphans = new Map<NodeId, { ids: Set<string>; since: number }>()
  /** Children this node stopped for want of a quorum: started again when it returns, unless adopted. */
  private readonly parked = new Map<string, ChildRecord>()
  /** When this node last got the quorum back: parked children wait `quorumAdoptDelayMs` from then. */
  private resumedAt = 0
  private readonly functionNames = new Map<ExecFn, string>()
  private readonly unsubscribe: Array<() => void> = []
  private server!: Pid
  /** Start clocks: an HLC, so that they order starts across nodes (the duplicate rule). */
  private readonly clock: HybridClock
  private dead = 0
  private leaving = false
  private suspended = false
  private stopped = false

  private constructor(node: Node, name: string, options: DistributedSupervisorOptions) {
    this.node = node
    this.name = name
    this.clock = new HybridClock(() => node.clock.wallNow())
    this.opts = {
      actors: options.actors,
      distribution: options.distribution ?? 'hash',
      redistribution: options.redistribution ?? 'passive',
      maxRestarts: options.maxRestarts ?? 3,
      maxSeconds: options.maxSeconds ?? 5,
      maxChildren: options.maxChildren ?? Infinity,
      shutdownMs: options.shutdownMs ?? 5000,
      callTimeoutMs: options.callTimeoutMs ?? 5000,
      quorumAdoptDelayMs: options.quorumAdoptDelayMs ?? 10_000,
      quorumSize: options.quorumSize,
      functions: options.functions ?? {},
      handoffTimeoutMs: options.handoffTimeoutMs ?? 5000,
      hooks: options.hooks ?? {},
      forgetAfterMs: options.forgetAfterMs ?? 60_000,
      compactMinDead: options.compactMinDead ?? 10_000,
      duplicates: options.duplicates ?? 'earliest',
    }
    for (const [fname, fn] of Object.entries(this.opts.functions)) this.functionNames.set(fn, fname)
    this.events = new Emitter<SupervisorEvents>((e, ev) =>
      node.logger.error({ err: e, event: ev, supervisor: name }, 'supervisor listener threw'),
    )
    this.docs = new ComponentDocs(
      node,
      `supervisor/${name}/`,
      {
        attach: (owner, doc, previous) => this.onAttach(owner, doc, previous),
        detach: (owner, doc, why) => this.onDetach(doc, why),
      },
      { forgetAfterMs: this.opts.forgetAfterMs },
    )
  }

  /** Starts the supervisor `name` on `node`; every node that runs it takes children. */
  static async start(
    node: Node,
    name: string,
    options: DistributedSupervisorOptions,
  ): Promise<DistributedSupervisor> {
    if (name === '' || name.includes('/')) throw new BadArgument(`bad supervisor name '${name}'`)
    if (typeof options !== 'object' || typeof options.actors !== 'object') {
      throw new BadArgument(
        'a distributed supervisor needs `actors`: the actor types this node runs',
      )
    }
    const sup = new DistributedSupervisor(node, name, options)
    await sup.begin()
    return sup
  }

  private async begin(): Promise<void> {
    const host: ServerHost = {
      startLocal: (spec, o) => this.startLocal(spec, o),
      terminateLocal: (id) => this.terminateLocal(id),
      execLocal: (id, fn, args) => this.execLocal(id, fn, args),
      childExited: (pid, reason) => this.childExited(pid, reason),
    }
    this.server = await this.node.runtime.start(SupervisorServer, host, {
      name: `sworm.supervisor.${this.name}`,
    })
    this.docs.start((info) => {
      info.set('server', this.server)
      info.set('url', this.node.url)
      info.set('actors', Object.keys(this.opts.actors).sort())
    })
    this.unsubscribe.push(
      this.node.on('nodeDown', (info, reason) => this.onNodeDown(info.id, reason)),
      this.node.on('nodeUp', (info) => this.onNodeUp(info.id)),
    )
    this.node.onStop(`supervisor ${this.name}`, () => this.leave())
  }

  /** Listens to `started`, `restarted`, `moved`, `lost`. */
  on<K extends keyof SupervisorEvents>(
    event: K,
    listener: (...args: SupervisorEvents[K]) => void,
  ): () => void {
    return this.events.on(event, listener)
  }

  // ------------------------------------------------------------------ API

  /**
   * Starts a child on the node its distribution picks among the live members that know its
   * type, and resolves with its pid. Rejects with `AlreadyStarted` (with the pid),
   * `UnknownActorType`, `NoAliveNodes`, `QuorumNotMet`, `ShuttingDown`, `MaxChildren`,
   * `InitFailed` or `SupervisorTimeout`; never waits longer than `callTimeoutMs`.
   */
  async startChild(spec: ChildSpec): Promise<Pid> {
    return (await this.startChildWithInfo(spec)).pid
  }

  /**
   * Like `startChild`, and also resolves with what the child's `init` returned (OTP's
   * `{ok, Pid, Info}`), carried back from the node that started it.
   */
  async startChildWithInfo(spec: ChildSpec): Promise<Started> {
    this.assertRunning()
    const record = normalize(spec, this.opts.shutdownMs)
    if (this.leaving) throw new ShuttingDown()
    this.assertQuorum()
    const running = this.locate(record.id)
    if (running !== undefined) throw new AlreadyStarted(record.id, running.pid)
    const target = this.place(record.id, record.type)
    return this.callServer<Started>(target, { op: 'start', spec: record })
  }

  /** Stops a child for good (it is not restarted) wherever it runs; false if it does not run. */
  async terminateChild(id: string): Promise<boolean> {
    this.assertRunning()
    const running = this.locate(id)
    if (running === undefined) return false
    return this.callServer<boolean>(running.node, { op: 'terminate', id })
  }

  /** Same as `terminateChild`: a child's spec lives only while it runs. */
  deleteChild(id: string): Promise<boolean> {
    return this.terminateChild(id)
  }

  /** Every child running on a live member. */
  whichChildren(): ChildInfo[] {
    const out: ChildInfo[] = []
    for (const node of this.runningMembers()) {
      const children = this.childrenOf(node)
      if (children === undefined) continue
      for (const [id, c] of children) out.push({ id, pid: c.p, node, type: c.t, restart: c.r })
    }
    return out
  }

  /** Children on live members, in all and per node. */
  countChildren(): {
    active: number
    specs: number
    workers: number
    byNode: Record<string, number>
  } {
    const byNode: Record<string, number> = {}
    let active = 0
    for (const node of this.runningMembers()) {
      const n = this.childrenOf(node)?.size ?? 0
      byNode[node] = n
      active += n
    }
    return { active, specs: active, workers: active, byNode }
  }

  /** The node a child runs on, or, when it does not run, the node it would be placed on. */
  find(id: string, type?: string): NodeId | undefined {
    const running = this.locate(id)
    if (running !== undefined) return running.node
    try {
      return this.place(id, type)
    } catch {
      return undefined
    }
  }

  /**
   * Runs `fn` on the node that runs child `id`, with the child's pid. To run on another node,
   * `fn` must be registered in `functions` (under the same name on every node).
   */
  async exec<T = unknown>(
    id: string,
    fn: ExecFn,
    args?: unknown,
    options: { timeoutMs?: number } = {},
  ): Promise<T> {
    this.assertRunning()
    const running = this.locate(id)
    if (running === undefined) throw new NotFound(`child ${id}`)
    if (running.node === this.node.id) return (await fn({ id, pid: running.pid }, args)) as T
    const name = this.functionNames.get(fn)
    if (name === undefined) {
      throw new BadArgument('exec on another node needs fn registered in the `functions` option')
    }
    return this.callServer<T>(running.node, { op: 'exec', id, fn: name, args }, options.timeoutMs)
  }

  /** Sizes for metrics and tests. */
  stats(): { local: number; generation: number; members: number; quorum: boolean } {
    return {
      local: this.local.size,
      generation: this.docs.generation,
      members: this.liveMembers().length,
      quorum: this.hasQuorum(),
    }
  }

  /** The live members that take children (not leaving), sorted: where children may go now. */
  members(): NodeId[] {
    return this.liveMembers()
  }

  // ------------------------------------------------------------------ members and placement

  private childrenOf(node: NodeId): Y.Map<DocChild> | undefined {
    return this.docs.docOf(node)?.getMap<DocChild>('children')
  }

  private isLive(node: NodeId): boolean {
    return node === this.node.id || this.node.isUp(node)
  }

  /**
   * Live members whose children count as running: leaving or suspended ones included (their
   * children run until they have stopped), unlike placement's `liveMembers`.
   */
  private runningMembers(): NodeId[] {
    return this.docs.owners().filter((node) => this.isLive(node))
  }

  /** Live members, not leaving, sorted. */
  private liveMembers(type?: string): NodeId[] {
    const out: NodeId[] = []
    for (const node of this.docs.owners()) {
      if (!this.isLive(node)) continue
      const info = this.docs.docOf(node)?.getMap<unknown>('info')
      if (info === undefined || info.get('leaving') === true) continue
      if (node === this.node.id && (this.leaving || this.suspended)) continue
      if (type !== undefined && !this.knowsType(node, type)) continue
      out.push(node)
    }
    return out.sort()
  }

  /** Whether member `node` runs actor type `type` (its `info.actors`). */
  private knowsType(node: NodeId, type: string): boolean {
    const actors = this.docs.docOf(node)?.getMap<unknown>('info').get('actors')
    return Array.isArray(actors) && actors.includes(type)
  }

  private place(id: string, type?: string): NodeId {
    const members = this.liveMembers(type)
    if (members.length === 0) {
      const anyKnows = type === undefined || this.docs.owners().some((n) => this.knowsType(n, type))
      if (!anyKnows) throw new UnknownActorType(type ?? '')
      throw new NoAliveNodes(`no live member runs actor type ${type}`)
    }
    const d = this.opts.distribution
    const target = typeof d === 'function' ? d(id, members) : rendezvous(id, members)
    if (target === undefined || !members.includes(target)) {
      throw new NoAliveNodes(`the distribution gave no live member for ${id}`)
    }
    return target
  }

  /** Where `id` runs now on a live member (the earliest start if two copies are seen). */
  private locate(id: string): { node: NodeId; pid: Pid; clock: number } | undefined {
    let best: { node: NodeId; pid: Pid; clock: number } | undefined
    for (const node of this.docs.owners()) {
      if (!this.isLive(node)) continue
      const c = this.childrenOf(node)?.get(id)
      if (c === undefined) continue
      if (best === undefined || beats({ clock: c.c, node }, best)) {
        best = { node, pid: c.p, clock: c.c }
      }
    }
    return best
  }

  private urlOf(doc: Y.Doc | undefined): string | undefined {
    const url = doc?.getMap<unknown>('info').get('url')
    return typeof url === 'string' ? url : undefined
  }

  /** Known member addresses with a live member behind them. */
  private liveKnown(): number {
    const live = new Set<string>()
    for (const node of this.docs.owners()) {
      if (!this.isLive(node)) continue
      const url = this.urlOf(this.docs.docOf(node))
      if (url !== undefined && this.known.has(url)) live.add(url)
    }
    return live.size
  }

  private hasQuorum(): boolean {
    if (this.opts.distribution !== 'quorum') return true
    const needed = this.opts.quorumSize ?? Math.floor(this.known.size / 2) + 1
    return this.liveKnown() >= needed
  }

  private assertQuorum(): void {
    if (!this.hasQuorum()) throw new QuorumNotMet(this.liveKnown(), this.known.size)
  }

  private serverOf(node: NodeId): Pid {
    const server = this.docs.docOf(node)?.getMap<unknown>('info').get('server')
    if (typeof server !== 'string')
      throw new NoAliveNodes(`node ${node} runs no server of ${this.name}`)
    return server as Pid
  }

  private async callServer<T = Pid>(
    node: NodeId,
    request: ServerRequest,
    timeoutMs = this.opts.callTimeoutMs,
  ): Promise<T> {
    try {
      return await this.node.runtime.call<T>(this.serverOf(node), request, { timeoutMs })
    } catch (e) {
      if (CallTimeout.is(e)) {
        const child = request.op === 'start' ? request.spec.id : request.id
        throw new SupervisorTimeout(`${request.op} of child ${child} on node ${node}`, timeoutMs)
      }
      throw e
    }
  }

  // ------------------------------------------------------------------ this node's children

  private async startLocal(
    spec: ChildRecord,
    options: { clock?: number; handoff?: unknown; from?: string },
  ): Promise<Started> {
    if (this.stopped || this.leaving) throw new ShuttingDown()
    if (this.suspended) this.assertQuorum()
    const existing = this.local.get(spec.id)
    if (existing !== undefined) throw new AlreadyStarted(spec.id, existing.pid)
    const elsewhere = this.locate(spec.id)
    if (elsewhere !== undefined && options.from === undefined) {
      throw new AlreadyStarted(spec.id, elsewhere.pid)
    }
    if (this.local.size >= this.opts.maxChildren) throw new MaxChildren(this.opts.maxChildren)
    const actor = this.opts.actors[spec.type]
    if (actor === undefined) throw new UnknownActorType(spec.type)
    // The handed-over state is part of the child's start input: its `init` gets it as
    // `start.handoff`, and nothing keeps a copy to be replayed later.
    const { pid, info } = await this.node.runtime.startWithInfo(actor, spec.args, {
      parent: this.server,
      ...(options.handoff === undefined ? {} : { handoff: options.handoff }),
    })
    const clock = options.clock ?? this.clock.now()
    const child: LocalChild = {
      spec,
      pid,
      clock,
      intensity: new RestartIntensity(this.opts.maxRestarts, this.opts.maxSeconds),
      stopping: false,
    }
    this.local.set(spec.id, child)
    this.byPid.set(pid, spec.id)
    this.record(child)
    if (options.from !== undefined) this.events.emit('moved', spec.id, pid, options.from)
    else this.events.emit('started', spec.id, pid)
    return { pid, info }
  }

  private record(child: LocalChild): void {
    const { spec } = child
    this.docs.write((doc) => {
      const children = doc.getMap<DocChild>('children')
      if (children.has(spec.id)) this.dead++
      children.set(spec.id, {
        t: spec.type,
        a: spec.args,
        r: spec.restart,
        s: spec.shutdownMs,
        c: child.clock,
        p: child.pid,
      })
    })
  }

  private forget(id: string): void {
    this.docs.write((doc) => doc.getMap<DocChild>('children').delete(id))
    this.dead++
    if (this.dead > Math.max(this.opts.compactMinDead, this.local.size)) {
      this.dead = 0
      const live = [...this.docs.own.getMap<DocChild>('children')]
      this.docs.compact((to) => {
        const children = to.getMap<DocChild>('children')
        for (const [id, c] of live) children.set(id, c)
      })
    }
  }

  private async stopLocal(child: LocalChild, reason: ExitReason): Promise<void> {
    child.stopping = true
    await this.node.runtime.shutdownProcess(child.pid, child.spec.shutdownMs, this.server, reason)
    this.byPid.delete(child.pid)
    if (this.local.get(child.spec.id) === child) {
      this.local.delete(child.spec.id)
      this.forget(child.spec.id)
    }
  }

  private async terminateLocal(id: string): Promise<boolean> {
    const child = this.local.get(id)
    if (child === undefined) return false
    await this.stopLocal(child, 'shutdown')
    return true
  }

  private async execLocal(id: string, fname: string, args: unknown): Promise<unknown> {
    const child = this.local.get(id)
    if (child === undefined) throw new NotFound(`child ${id}`)
    const fn = this.opts.functions[fname]
    if (fn === undefined) throw new BadArgument(`no function '${fname}' in this node's functions`)
    return fn({ id, pid: child.pid }, args)
  }

  private async childExited(pid: Pid, reason: ExitReason): Promise<void> {
    const id = this.byPid.get(pid)
    if (id === undefined) return
    this.byPid.delete(pid)
    const child = this.local.get(id)
    if (child === undefined || child.pid !== pid || child.stopping) return
    if (!shouldRestart(child.spec.restart, reason) || lostToACopy(reason)) {
      this.local.delete(id)
      this.forget(id)
      return
    }
    for (;;) {
      if (child.intensity.exceeded(this.node.clock.now())) {
        this.local.delete(id)
        this.forget(id)
        this.node.logger.error(
          { supervisor: this.name, child: id },
          'child restarted too often; given up',
        )
        this.events.emit('lost', id, 'max_restarts')
        return
      }
      try {
        const actor = this.opts.actors[child.spec.type] as ActorClassLike<unknown>
        child.pid = await this.node.runtime.start(actor, child.spec.args, { parent: this.server })
        this.byPid.set(child.pid, id)
        this.record(child)
        this.events.emit('restarted', id, child.pid, reason)
        return
      } catch (e) {
        this.node.logger.warn(
          { supervisor: this.name, child: id, err: InitFailed.is(e) ? e.reason : e },
          'restart failed',
        )
      }
    }
  }

  // ------------------------------------------------------------------ the cluster changes

  private onAttach(owner: NodeId, doc: Y.Doc, previous: Y.Doc | undefined): void {
    const url = this.urlOf(doc)
    if (url !== undefined) this.known.add(url)
    if (owner === this.node.id) return
    const children = doc.getMap<DocChild>('children')
    const check = (event: Y.YMapEvent<DocChild>): void => {
      if (this.docs.docOf(owner) !== doc) return
      for (const id of event.keysChanged as Set<string>) {
        this.checkDuplicate(id)
        if ((this.orphans.size > 0 || this.parked.size > 0) && children.has(id)) this.adopted(id)
      }
    }
    children.observe(check)
    for (const id of children.keys()) this.checkDuplicate(id)
    if (previous === undefined && this.opts.redistribution === 'active')
      this.scheduleRedistribution()
  }

  private onDetach(doc: Y.Doc, why: 'dropped' | 'forgotten'): void {
    // A member that stopped its supervisor is no longer one; a forgotten one (down for long)
    // still counts against the quorum: it may be on the other side of a split.
    const url = this.urlOf(doc)
    if (why === 'dropped' && url !== undefined) this.known.delete(url)
  }

  /** A second copy of one of our children elsewhere: the earliest start stays. */
  private checkDuplicate(id: string): void {
    if (this.opts.duplicates === 'keep') return
    const mine = this.local.get(id)
    if (mine === undefined || mine.stopping) return
    const winner = this.locate(id)
    if (winner === undefined || winner.node === this.node.id) return
    this.node.logger.info(
      { supervisor: this.name, child: id, winner: winner.node },
      'duplicate child; the earlier start stays',
    )
    void this.stopLocal(mine, { shutdown: 'duplicate' })
  }

  private onNodeDown(node: NodeId, reason: DownReason): void {
    // A node that is leaving itself adopts nothing: its own children are on their way out.
    if (this.stopped || this.leaving || this.node.isStopping) return
    if (reason === 'leave') {
      const url = this.urlOf(this.docs.docOf(node))
      if (url !== undefined) this.known.delete(url)
    }
    this.noteOrphans(node)
    if (!this.hasQuorum()) {
      this.suspend()
      return
    }
    this.scheduleAdoption()
  }

  /** With `quorum`, orphans wait this long after their node went down (parked ones, after resuming). */
  private get adoptDelayMs(): number {
    return this.opts.distribution === 'quorum' ? this.opts.quorumAdoptDelayMs : 0
  }

  /** Adopts the orphans: at once, or with `quorum` after `quorumAdoptDelayMs`. */
  private scheduleAdoption(delayMs = this.adoptDelayMs): void {
    if (delayMs <= 0) {
      this.adoptOrphans()
      return
    }
    const timer = this.node.clock.setTimeout(() => {
      this.adoptTimers.delete(timer)
      if (!this.stopped && !this.leaving && this.hasQuorum()) this.adoptOrphans()
    }, delayMs)
    this.adoptTimers.add(timer)
  }

  private onNodeUp(node: NodeId): void {
    if (this.stopped) return
    this.orphans.delete(node)
    if (this.suspended && this.hasQuorum()) {
      this.suspended = false
      this.node.logger.warn({ supervisor: this.name }, 'quorum is back; starting children again')
      this.resumedAt = this.node.clock.now()
      if (this.orphans.size > 0 || this.parked.size > 0) this.scheduleAdoption()
    }
    const children = this.childrenOf(node)
    if (children !== undefined) for (const id of children.keys()) this.checkDuplicate(id)
    if (this.opts.redistribution === 'active') this.scheduleRedistribution()
  }

  /** No quorum: stop every child here (the majority side adopts them) and refuse starts. */
  private suspend(): void {
    if (this.suspended) return
    this.suspended = true
    this.node.logger.warn({ supervisor: this.name }, 'quorum lost; stopping this node’s children')
    for (const child of [...this.local.values()]) {
      // If no side has a quorum, nobody adopts them: this node starts them again when it returns.
      if (!child.stopping && child.spec.restart !== 'temporary') {
        this.parked.set(child.spec.id, child.spec)
      }
      void this.stopLocal(child, { shutdown: 'quorum' })
    }
  }

  /** Notes the children of a node seen down as orphans (temporary ones are not adopted). */
  private noteOrphans(dead: NodeId): void {
    const children = this.childrenOf(dead)
    if (children === undefined) return
    const ids = new Set<string>()
    for (const [id, c] of children) if (c.r !== 'temporary') ids.add(id)
    if (ids.size > 0) this.orphans.set(dead, { ids, since: this.node.clock.now() })
    else this.orphans.delete(dead)
  }

  /** `id` runs elsewhere: it is no orphan (and must not come back if stopped later). */
  private adopted(id: string): void {
    this.parked.delete(id)
    for (const [dead, { ids }] of this.orphans) {
      if (ids.delete(id) && ids.size === 0) this.orphans.delete(dead)
    }
  }

  /**
   * The orphans of every dead node: each is started by the live member its hash now picks.
   * One picked for another member stays an orphan until seen running, so that it is adopted
   * again if that member dies first (a split seen one node at a time).
   */
  private adoptOrphans(): void {
    const mine: Array<{ spec: ChildRecord; from: NodeId }> = []
    const now = this.node.clock.now()
    // A timer set for one down node may fire just after another went down: each waits its delay.
    let wait = Infinity
    for (const [dead, { ids, since }] of this.orphans) {
      const children = this.childrenOf(dead)
      if (children === undefined || this.isLive(dead)) {
        this.orphans.delete(dead)
        continue
      }
      if (now - since < this.adoptDelayMs) {
        wait = Math.min(wait, since + this.adoptDelayMs - now)
        continue
      }
      for (const id of ids) {
        const c = children.get(id)
        if (c === undefined || this.locate(id) !== undefined) {
          ids.delete(id)
          continue
        }
        let target: NodeId
        try {
          target = this.place(id, c.t)
        } catch {
          ids.delete(id)
          this.events.emit('lost', id, 'no node can run it')
          continue
        }
        if (target === this.node.id) {
          ids.delete(id)
          mine.push({ spec: fromDoc(id, c), from: dead })
        }
      }
      if (ids.size === 0) this.orphans.delete(dead)
    }
    for (const { spec, from } of mine) {
      this.callServer(this.node.id, { op: 'start', spec, from }).catch((e: unknown) => {
        if (!AlreadyStarted.is(e) && !ShuttingDown.is(e)) {
          this.node.logger.error(
            { supervisor: this.name, child: spec.id, err: e },
            'adoption failed',
          )
          this.events.emit('lost', spec.id, 'adoption failed')
        }
      })
    }
    if (this.parked.size > 0 && now - this.resumedAt < this.adoptDelayMs) {
      wait = Math.min(wait, this.resumedAt + this.adoptDelayMs - now)
    }
    if (wait !== Infinity) this.scheduleAdoption(Math.max(1, wait))
    if (this.suspended || now - this.resumedAt < this.adoptDelayMs) return
    // Children parked for want of a quorum that no majority adopted meanwhile.
    for (const [id, spec] of [...this.parked]) {
      this.parked.delete(id)
      if (this.locate(id) !== undefined) continue
      let target: NodeId
      try {
        target = this.place(id, spec.type)
      } catch {
        this.events.emit('lost', id, 'no node can run it')
        continue
      }
      this.callServer(target, { op: 'start', spec }).catch((e: unknown) => {
        if (AlreadyStarted.is(e)) return
        if (QuorumNotMet.is(e) || ShuttingDown.is(e)) {
          // The target has not got the quorum back yet (or is leaving): try again later.
          this.parked.set(id, spec)
          this.scheduleAdoption()
          return
        }
        this.node.logger.error({ supervisor: this.name, child: id, err: e }, 'restart failed')
        this.events.emit('lost', id, 'restart after the quorum failed')
      })
    }
  }

  private redistributionScheduled = false

  private scheduleRedistribution(): void {
    if (this.redistributionScheduled) return
    this.redistributionScheduled = true
    setImmediate(() => {
      this.redistributionScheduled = false
      if (this.stopped || this.leaving) return
      for (const child of [...this.local.values()]) {
        if (child.stopping) continue
        let target: NodeId
        try {
          target = this.place(child.spec.id, child.spec.type)
        } catch {
          continue
        }
        if (target !== this.node.id) void this.move(child, target, { shutdown: 'redistribution' })
      }
    })
  }

  /** Moves a child: hand-off, stop here, start there (the doc entry goes before the start). */
  private async move(child: LocalChild, target: NodeId, reason: ExitReason): Promise<void> {
    const { spec } = child
    let handoff: unknown
    const hooks = this.opts.hooks
    if (hooks.beforeMove !== undefined) {
      try {
        handoff = await withTimeout(
          this.node.clock,
          hooks.beforeMove(spec.id, child.pid),
          this.opts.handoffTimeoutMs,
          'hand-off',
        )
      } catch (e) {
        this.node.logger.warn(
          { supervisor: this.name, child: spec.id, err: e },
          'hand-off failed; moving without state',
        )
      }
    }
    await this.stopLocal(child, reason)
    try {
      const request: ServerRequest =
        handoff === undefined
          ? { op: 'start', spec, clock: child.clock, from: this.node.id }
          : { op: 'start', spec, clock: child.clock, handoff, from: this.node.id }
      await this.callServer(target, request)
    } catch (e) {
      if (AlreadyStarted.is(e)) return
      // The whole cluster stopping at once is no fault: the target is leaving too.
      this.node.logger[ShuttingDown.is(e) ? 'info' : 'error'](
        { supervisor: this.name, child: spec.id, err: e },
        'move failed; child lost',
      )
      this.events.emit('lost', spec.id, 'move failed')
    }
  }

  /** Graceful leave: stop taking children, then move every child to its next node. */
  private async leave(): Promise<void> {
    if (this.stopped || this.leaving) return
    this.leaving = true
    this.docs.write((doc) => doc.getMap<unknown>('info').set('leaving', true))
    const moves: Array<Promise<void>> = []
    for (const child of [...this.local.values()]) {
      if (child.stopping) continue
      let target: NodeId | undefined
      if (child.spec.restart !== 'temporary') {
        try {
          target = this.place(child.spec.id, child.spec.type)
        } catch {
          target = undefined
        }
      }
      moves.push(
        target === undefined
          ? this.stopLocal(child, 'shutdown')
          : this.move(child, target, 'shutdown'),
      )
    }
    await Promise.all(moves)
  }

  /**
   * Leaves this supervisor's membership without stopping the node: every child moves to its
   * next node (through the hand-off hook), as on a graceful node stop, then this node's part stops.
   */
  async leaveAndStop(): Promise<void> {
    await this.leave()
    await this.stop()
  }

  /** Stops this node's part: its children stop (they are not moved), its doc goes. */
  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    for (const u of this.unsubscribe) u()
    for (const t of this.adoptTimers) this.node.clock.clearTimeout(t)
    await Promise.all([...this.local.values()].map((c) => this.stopLocal(c, 'shutdown')))
    this.docs.stop(true)
    if (this.node.runtime.isAlive(this.server))
      await this.node.runtime.stop(this.server, 'shutdown')
  }

  private assertRunning(): void {
    if (this.stopped) throw new ShuttingDown()
  }
}
