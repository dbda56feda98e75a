// A distributed dynamic supervisor (Horde.DynamicSupervisor with supervisorring's hashing): the
// public API, its events and lifecycle, wiring the parts that own the state (docs/INTERNALS.md,
// "The distributed supervisor"): Placement, LocalChildren, Failover, Moves.
import {
  actorDefaults,
  BadArgument,
  AbortError,
  CallTimeout,
  abortable,
  Emitter,
  Listenable,
  NotFound,
  type NodeId,
  type Pid,
} from '@swormjs/actor'
import { forEachSliced } from '@swormjs/actor/internal'
import type { DownReason, Node } from '@swormjs/cluster'
import { ComponentDocs, MapCounts } from '@swormjs/cluster/internal'
import type * as Y from 'yjs'
import { supervisorDefaults } from './defaults.js'
import { AlreadyStarted, ShuttingDown, SupervisorTimeout } from './errors.js'
import { Failover } from './Failover.js'
import { LocalChildren } from './LocalChildren.js'
import { Moves } from './Moves.js'
import { Placement } from './Placement.js'
import { normalize, type ChildSpec, type DocChild, type Started } from './records.js'
import { StartBatches } from './StartBatches.js'
import { StartWindows } from './StartWindows.js'
import { SupervisorServer, type ServerRequest } from './SupervisorServer.js'
import type {
  ChildInfo,
  DistributedSupervisorOptions,
  ExecFn,
  StartOptions,
  SupervisorEvents,
} from './types.js'

/**
 * Each node runs its own children and records them in its own doc; placement is rendezvous
 * hashing over the live members that know a child's type; when a node dies, the member the
 * hash now picks adopts each of its children; a healed split keeps the earliest start of an id.
 *
 * @example
 * const sup = await DistributedSupervisor.start(node, 'rooms', { actors: { ChatRoom } })
 * const pid = await sup.startChild({ id: 'room:42', type: 'ChatRoom', args: { topic: 'tea' } })
 */
export class DistributedSupervisor extends Listenable<SupervisorEvents> implements AsyncDisposable {
  /** The supervisor's name: instances of the same name on different nodes are one supervisor. */
  readonly name: string
  /** The node this instance runs on. */
  readonly node: Node
  private readonly shutdownMs: number
  /** False on a client of this supervisor: it runs none of its children. */
  private readonly hosts: boolean
  private readonly callTimeoutMs: number
  protected readonly events: Emitter<SupervisorEvents>
  private readonly docs: ComponentDocs
  private readonly placement: Placement
  private readonly children: LocalChildren
  private readonly failover: Failover
  private readonly moves: Moves
  /** This node's own starts, a window of them in flight to each node (`startWindow`). */
  private readonly starts: StartWindows
  /** Starts to another node, several to one node in a turn as one request (`StartBatches`). */
  private readonly batches = new StartBatches({
    call: (node, request, timeoutMs) => this.callServer(node, request, timeoutMs),
    // A batch that timed out names each start's own child to its caller.
    failedTogether: (error, item, node, count, timeoutMs) =>
      SupervisorTimeout.is(error)
        ? new SupervisorTimeout(
            `start of child ${item.spec.id} on node ${node} (one request of ${count} starts)`,
            timeoutMs,
          )
        : error,
  })
  private readonly unsubscribe: Array<() => void> = []
  /**
   * Children in each member's doc, counted as they come and go: `countChildren` (every
   * `/metrics` scrape, the dashboard) reads no doc whole, which at 100,000 children is a long
   * step. A Y.Map's `size` lists every entry.
   */
  private readonly childCounts = new MapCounts('children')
  /** `distribution: 'quorum'`: a pause of this node fences it (see `Failover.fence`). */
  private readonly fencesOnPause: boolean
  private server!: Pid
  private stopped = false

  private constructor(node: Node, name: string, options: DistributedSupervisorOptions) {
    super()
    this.node = node
    this.name = name
    const d = supervisorDefaults
    this.shutdownMs = options.shutdownMs ?? d.shutdownMs
    this.hosts = options.hosts ?? true
    this.callTimeoutMs = options.callTimeoutMs ?? d.callTimeoutMs
    const { slowFraction, ...bounds } = d.startWindow
    this.starts = new StartWindows({
      ...bounds,
      slowMs: this.callTimeoutMs * slowFraction,
      now: () => node.clock.now(),
      sliceMs: actorDefaults.sliceMs,
      slice: (work) => this.placement.memoized(work),
    })
    const distribution = options.distribution ?? d.distribution
    this.fencesOnPause = distribution === 'quorum'
    this.events = new Emitter<SupervisorEvents>((e, ev) =>
      node.logger.error({ err: e, event: ev, supervisor: name }, 'supervisor listener threw'),
    )
    const events = this.events
    this.docs = new ComponentDocs(
      node,
      `supervisor/${name}/`,
      {
        attach: (owner, doc, previous) => this.onAttach(owner, doc, previous),
        detach: (_owner, doc, why) => this.placement.memberDetached(doc, why),
      },
      { forgetAfterMs: options.forgetAfterMs ?? d.forgetAfterMs },
    )
    const docs = this.docs
    this.placement = new Placement(
      {
        name,
        self: node.id,
        isUp: (n) => node.isUp(n),
        heardLately: (n) =>
          node.clock.now() - (node.lastHeardFrom(n) ?? -Infinity) < node.downingBoundMs,
        owners: () => docs.owners(),
        docOf: (n) => docs.docOf(n),
        takesChildren: () => this.hosts && !this.moves.leaving && !this.failover.suspended,
      },
      distribution,
      options.quorumSize,
    )
    const placement = this.placement
    this.children = new LocalChildren(
      {
        name,
        node,
        docs,
        events,
        server: () => this.server,
        admit: () => {
          if (this.stopped || this.moves.leaving) throw new ShuttingDown()
          if (this.failover.suspended) placement.assertQuorum()
        },
        locate: (id) => placement.locate(id),
      },
      {
        actors: options.actors,
        functions: options.functions ?? {},
        maxChildren: options.maxChildren ?? d.maxChildren,
        maxRestarts: options.maxRestarts ?? d.maxRestarts,
        maxSeconds: options.maxSeconds ?? d.maxSeconds,
        compactMinDead: options.compactMinDead ?? d.compactMinDead,
        duplicates: options.duplicates ?? d.duplicates,
        hooks: options.hooks ?? {},
      },
    )
    // What failover and moves both get: they start children elsewhere through the servers.
    const common = {
      name,
      node,
      placement,
      children: this.children,
      events,
      call: (n: NodeId, request: ServerRequest): Promise<unknown> => this.call(n, request),
    }
    this.failover = new Failover(
      { ...common, closing: () => this.stopped || this.moves.leaving || node.isStopping },
      // With `quorum`, orphans wait until a minority side has stopped its copies.
      distribution === 'quorum' ? (options.quorumAdoptDelayMs ?? d.quorumAdoptDelayMs) : 0,
    )
    this.moves = new Moves(
      {
        ...common,
        markLeaving: () => docs.write((doc) => doc.getMap<unknown>('info').set('leaving', true)),
        stopped: () => this.stopped,
      },
      {
        redistribution: options.redistribution ?? d.redistribution,
        handoffTimeoutMs: options.handoffTimeoutMs ?? d.handoffTimeoutMs,
        moveTemporary: options.moveTemporary ?? false,
        rebalance: options.rebalance ?? d.rebalance,
        hooks: options.hooks ?? {},
      },
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
    const { children } = this
    this.server = await this.node.runtime.start(
      SupervisorServer,
      {
        startLocal: async (spec, o) => {
          const started = await children.start(spec, o)
          this.moves.arrived(spec.id)
          return started
        },
        terminateLocal: (id) => children.terminate(id),
        execLocal: (id, fn, args) => children.exec(id, fn, args),
        runningOf: (ids) => ids.filter((id) => this.placement.locate(id) !== undefined),
        childExited: (pid, reason) => children.exited(pid, reason),
      },
      { name: `sworm.supervisor.${this.name}` },
    )
    this.docs.start((info) => {
      info.set('server', this.server)
      info.set('url', this.node.url)
      info.set('actors', this.hosts ? children.actorTypes() : [])
      if (!this.hosts) info.set('client', true)
    })
    this.unsubscribe.push(
      this.node.on('nodeDown', (info, reason) => this.onNodeDown(info.id, reason)),
      this.node.on('nodeUp', (info) => this.onNodeUp(info.id)),
      this.node.on('paused', (silentMs) => {
        // Only `quorum` promises never two at once; `hash` lets the merge settle a pause.
        if (this.fencesOnPause && !this.stopped) {
          this.failover.fence(silentMs, supervisorDefaults.fenceConfirmMs)
        }
      }),
    )
    this.node.onStop(`supervisor ${this.name}`, () => this.moves.leave())
    // Four checks per downing bound: this node stops its children well inside the adoption delay.
    if (this.fencesOnPause) this.failover.watchQuorum(Math.max(10, this.node.downingBoundMs / 4))
  }

  // ------------------------------------------------------------------ API

  /**
   * Starts a child on the node its distribution picks among the live members that know its
   * type, and resolves with its pid. Rejects with `AlreadyStarted` (with the pid),
   * `UnknownActorType`, `NoAliveNodes`, `QuorumNotMet`, `ShuttingDown`, `MaxChildren`,
   * `InitFailed` or `SupervisorTimeout`. It waits its turn behind this node's other starts to the
   * same node (a window of them in flight to each: `startWindow`), is placed when its turn comes, and
   * then waits at most `callTimeoutMs` for that node to answer.
   * @example
   * try {
   *   await sup.startChild({ id: 'room:42', type: 'ChatRoom', args: { topic: 'tea' } })
   * } catch (e) {
   *   if (!AlreadyStarted.is(e)) throw e
   *   // it runs already: e.pid is where
   * }
   */
  async startChild(spec: ChildSpec, options?: StartOptions): Promise<Pid> {
    return (await this.startChildWithInfo(spec, options)).pid
  }

  /**
   * Like `startChild`, and also resolves with what the child's `init` returned (OTP's
   * `{ok, Pid, Info}`), carried back from the node that started it.
   */
  async startChildWithInfo(spec: ChildSpec, options: StartOptions = {}): Promise<Started> {
    this.assertRunning()
    const record = normalize(spec, this.shutdownMs)
    const { signal, handoff } = options
    const what = `start of child ${record.id}`
    if (signal?.aborted === true) throw new AbortError(what, signal)
    // Checked when it is asked, and again when its turn comes after a wait for a slot (a start
    // given up meanwhile is never sent).
    const place = (): NodeId => {
      if (signal?.aborted === true) throw new AbortError(what, signal)
      this.assertRunning()
      if (this.moves.leaving) throw new ShuttingDown()
      this.placement.assertQuorum()
      const running = this.placement.locate(record.id)
      if (running !== undefined) throw new AlreadyStarted(record.id, running.pid)
      return this.placement.place(record.id, record.type)
    }
    const started = this.starts.run(place, (target) =>
      this.call<Started>(
        target,
        { op: 'start', spec: record, ...(handoff === undefined ? {} : { handoff }) },
        this.callTimeoutMs,
        signal,
      ),
    )
    return abortable(started, signal, what)
  }

  /**
   * Starts a child on this node with `handoff` as its `start.handoff` (a child brought back
   * from disk after a full restart: it runs where it ran). Rejects with `AlreadyStarted` when it
   * runs anywhere already.
   */
  restoreChild(spec: ChildSpec, handoff: unknown): Promise<Started> {
    this.assertRunning()
    const record = normalize(spec, this.shutdownMs)
    return this.call<Started>(this.node.id, {
      op: 'start',
      spec: record,
      ...(handoff === undefined ? {} : { handoff }),
    })
  }

  /** Stops a child for good (it is not restarted) wherever it runs; false if it does not run. */
  async terminateChild(id: string): Promise<boolean> {
    this.assertRunning()
    const running = this.placement.locate(id)
    if (running === undefined) return false
    return this.call<boolean>(running.node, { op: 'terminate', id })
  }

  /** Same as `terminateChild`: a child's spec lives only while it runs. */
  deleteChild(id: string): Promise<boolean> {
    return this.terminateChild(id)
  }

  /** Every child running on a live member. */
  whichChildren(): ChildInfo[] {
    return this.placement.running()
  }

  /** Children on live members, in all and per node. */
  countChildren(): {
    /** Children running on live members. */
    active: number
    /** The same number: a child's spec lives only while it runs. */
    specs: number
    /** The same number again: every child counts as a worker. */
    workers: number
    /** Children per live member, by node id. */
    byNode: Record<string, number>
  } {
    const byNode: Record<string, number> = {}
    let active = 0
    for (const node of this.placement.runningMembers()) {
      const doc = this.docs.docOf(node)
      const n = doc === undefined ? 0 : this.childCounts.count(doc)
      byNode[node] = n
      active += n
    }
    return { active, specs: active, workers: active, byNode }
  }

  /** The node a child runs on, or, when it does not run, the node it would be placed on. */
  find(id: string, type?: string): NodeId | undefined {
    const running = this.placement.locate(id)
    if (running !== undefined) return running.node
    try {
      return this.placement.place(id, type)
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
    const running = this.placement.locate(id)
    if (running === undefined) throw new NotFound(`child ${id}`)
    if (running.node === this.node.id) return (await fn({ id, pid: running.pid }, args)) as T
    const name = this.children.functionName(fn)
    if (name === undefined) {
      throw new BadArgument('exec on another node needs fn registered in the `functions` option')
    }
    return this.call<T>(running.node, { op: 'exec', id, fn: name, args }, options.timeoutMs)
  }

  /** Sizes for metrics and tests. */
  stats(): {
    /** Children running on this node. */
    local: number
    /** The generation of this node's doc: it grows by one at each compaction. */
    generation: number
    /** Live members that take children now. */
    members: number
    /** Whether this side has a quorum (always true unless the distribution is `quorum`). */
    quorum: boolean
    /**
     * Children of down members this node is adopting now: found by its scan and not started
     * yet (at least 1 while a scan runs). 0 once its share of a failover is running.
     */
    adopting: number
  } {
    return {
      adopting: this.failover.adopting,
      local: this.children.size,
      generation: this.docs.generation,
      members: this.placement.liveMembers().length,
      quorum: this.placement.hasQuorum(),
    }
  }

  /**
   * The live members in the order they would take child `id` (at most `count`): the first is
   * where it is placed now, the second where it goes if the first goes down, and so on.
   */
  placementOrder(id: string, count: number): NodeId[] {
    return this.placement.placementOrder(id, count)
  }

  /** The live members that take children (not leaving), sorted: where children may go now. */
  members(): NodeId[] {
    return this.placement.liveMembers()
  }

  /**
   * Leaves this supervisor's membership without stopping the node: every child moves to its
   * next node (through the hand-off hook), as on a graceful node stop, then this node's part stops.
   */
  async leaveAndStop(): Promise<void> {
    await this.moves.leave()
    await this.stop()
  }

  /** Stops this node's part: its children stop (they are not moved), its doc goes. */
  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    for (const u of this.unsubscribe) u()
    this.failover.stop()
    await Promise.all(this.children.all().map((c) => this.children.stop(c, 'shutdown')))
    this.docs.stop(true)
    if (this.node.runtime.isAlive(this.server)) {
      await this.node.runtime.stop(this.server, 'shutdown')
    }
  }

  /** `await using sup = await DistributedSupervisor.start(...)`: `stop()` at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop()
  }

  // ------------------------------------------------------------------ the cluster changes

  private onAttach(owner: NodeId, doc: Y.Doc, previous: Y.Doc | undefined): void {
    this.placement.noteMember(doc)
    this.childCounts.follow(doc)
    if (owner === this.node.id) return
    const children = doc.getMap<DocChild>('children')
    const check = (event: Y.YMapEvent<DocChild>): void => {
      if (this.docs.docOf(owner) !== doc) return
      for (const id of event.keysChanged as Set<string>) {
        this.children.dropIfDuplicate(id)
        if (this.failover.waiting && children.has(id)) this.failover.adopted(id)
      }
    }
    children.observe(check)
    this.checkDuplicates(owner, doc)
    if (previous === undefined) this.moves.memberJoined()
  }

  private onNodeDown(node: NodeId, reason: DownReason): void {
    // A node that is leaving itself adopts nothing: its own children are on their way out.
    if (this.stopped || this.moves.leaving || this.node.isStopping) return
    if (reason === 'leave') this.placement.memberLeft(node)
    this.failover.nodeDown(node)
  }

  private onNodeUp(node: NodeId): void {
    if (this.stopped) return
    this.failover.nodeUp(node)
    const doc = this.docs.docOf(node)
    if (doc !== undefined) this.checkDuplicates(node, doc)
    this.moves.memberJoined()
  }

  /**
   * Applies the duplicate rule to every child in `owner`'s `doc`, in time slices: a member's
   * doc may hold thousands (one that joins or comes back, a compaction's new generation).
   */
  private checkDuplicates(owner: NodeId, doc: Y.Doc): void {
    void forEachSliced(doc.getMap<DocChild>('children').keys(), (id) => {
      if (this.stopped || this.docs.docOf(owner) !== doc) return true
      this.children.dropIfDuplicate(id)
      return false
    })
  }

  /**
   * Asks the server of `node`; a timeout becomes `SupervisorTimeout`. A start on another node
   * without a signal goes through `batches`: with the turn's other starts to that node, if one
   * is on its way there already.
   */
  private call<T = Pid>(
    node: NodeId,
    request: ServerRequest,
    timeoutMs = this.callTimeoutMs,
    signal?: AbortSignal,
  ): Promise<T> {
    if (request.op === 'start' && signal === undefined) {
      const { op: _, ...item } = request
      return this.batches.start(node, item, timeoutMs) as Promise<T>
    }
    return this.callServer(node, request, timeoutMs, signal)
  }

  private async callServer<T = Pid>(
    node: NodeId,
    request: ServerRequest,
    timeoutMs = this.callTimeoutMs,
    signal?: AbortSignal,
  ): Promise<T> {
    try {
      const server = this.placement.serverOf(node)
      return await this.node.runtime.call<T>(
        server,
        request,
        signal === undefined ? { timeoutMs } : { timeoutMs, signal },
      )
    } catch (e) {
      if (CallTimeout.is(e)) {
        const what =
          request.op === 'start'
            ? `child ${request.spec.id}`
            : request.op === 'starts'
              ? `${request.items.length} children (${request.items[0]?.spec.id}, ...)`
              : request.op === 'running'
                ? `${request.ids.length} children`
                : `child ${request.id}`
        throw new SupervisorTimeout(`${request.op} of ${what} on node ${node}`, timeoutMs)
      }
      throw e
    }
  }

  private assertRunning(): void {
    if (this.stopped) throw new ShuttingDown()
  }
}
