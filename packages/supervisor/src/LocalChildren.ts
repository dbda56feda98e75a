// This node's children: the actor types and exec functions it runs, each child's process and its
// restarts within the intensity, its record in this node's doc (and the doc's compaction).
import {
  BadArgument,
  InitFailed,
  MaxChildren,
  NotFound,
  RestartIntensity,
  lostToACopy,
  shouldRestart,
  type ActorClassLike,
  type Emitter,
  type ExitReason,
  type Pid,
} from '@swormjs/actor'
import type { Node } from '@swormjs/cluster'
import { HybridClock, type ComponentDocs } from '@swormjs/cluster/internal'
import { AlreadyStarted, UnknownActorType } from './errors.js'
import type { Located } from './Placement.js'
import type { ChildRecord, DocChild, StartOptions, Started } from './records.js'
import type { DistributedSupervisorOptions, ExecFn, SupervisorEvents } from './types.js'

/** A child running on this node. */
export interface LocalChild {
  readonly spec: ChildRecord
  pid: Pid
  /** Its start clock (an HLC): kept across restarts and moves, the duplicate rule orders by it. */
  readonly clock: number
  readonly intensity: RestartIntensity
  stopping: boolean
}

/** What this node's children need from their supervisor. */
export interface LocalChildrenHost {
  /** The supervisor's name, for logs. */
  readonly name: string
  readonly node: Pick<Node, 'id' | 'runtime' | 'clock' | 'logger'>
  /** This node's doc, where each child is recorded. */
  readonly docs: Pick<ComponentDocs, 'write' | 'compactInSteps'>
  readonly events: Pick<Emitter<SupervisorEvents>, 'emit'>
  /** The supervisor's server: the parent of every child. */
  server(): Pid
  /** Throws when this node takes no new child (stopping, leaving, without a quorum). */
  admit(): void
  /** Where `id` runs on a live member. */
  locate(id: string): Located | undefined
}

export type LocalChildrenOptions = Required<
  Pick<
    DistributedSupervisorOptions,
    'maxChildren' | 'maxRestarts' | 'maxSeconds' | 'compactMinDead' | 'duplicates'
  >
> &
  Pick<DistributedSupervisorOptions, 'actors' | 'functions' | 'hooks'>

export class LocalChildren {
  private readonly host: LocalChildrenHost
  private readonly opts: LocalChildrenOptions
  /** Actor types by name: a Map, so that `constructor` or `toString` is never taken for one. */
  private readonly actors: Map<string, ActorClassLike<unknown>>
  private readonly functions: Map<string, ExecFn>
  private readonly functionNames = new Map<ExecFn, string>()
  private readonly local = new Map<string, LocalChild>()
  private readonly byPid = new Map<Pid, string>()
  /** Start clocks: an HLC, so that they order starts across nodes (the duplicate rule). */
  private readonly clock: HybridClock
  /** Removals from this node's doc since its last compaction. */
  private dead = 0
  /** A compaction is under way (it runs over several turns). */
  private compacting = false

  constructor(host: LocalChildrenHost, options: LocalChildrenOptions) {
    this.host = host
    this.opts = options
    this.clock = new HybridClock(() => host.node.clock.wallNow())
    this.actors = new Map(
      Object.entries(options.actors) as Array<[string, ActorClassLike<unknown>]>,
    )
    this.functions = new Map(Object.entries(options.functions ?? {}))
    for (const [name, fn] of this.functions) this.functionNames.set(fn, name)
  }

  /** The actor types this node runs, sorted (its doc's `info.actors`). */
  actorTypes(): string[] {
    return [...this.actors.keys()].sort()
  }

  /** The name `fn` is registered under in `functions`, for `exec` on another node. */
  functionName(fn: ExecFn): string | undefined {
    return this.functionNames.get(fn)
  }

  get size(): number {
    return this.local.size
  }

  /** The child `id` if it runs here. */
  get(id: string): Readonly<LocalChild> | undefined {
    return this.local.get(id)
  }

  /** Every child here, stopping ones included. */
  all(): Array<Readonly<LocalChild>> {
    return [...this.local.values()]
  }

  /** Starts a child here: refused while this node takes none, or when it runs already. */
  async start(spec: ChildRecord, options: StartOptions): Promise<Started> {
    this.host.admit()
    const existing = this.local.get(spec.id)
    if (existing !== undefined) {
      // A copy moved onto one that runs here: its state goes to the running one, not nowhere.
      if (options.handoff !== undefined) {
        this.opts.hooks?.movedOntoRunning?.(spec.id, existing.pid, options.handoff)
      }
      throw new AlreadyStarted(spec.id, existing.pid)
    }
    const elsewhere = this.host.locate(spec.id)
    if (elsewhere !== undefined && options.from === undefined) {
      throw new AlreadyStarted(spec.id, elsewhere.pid)
    }
    if (this.local.size >= this.opts.maxChildren) throw new MaxChildren(this.opts.maxChildren)
    const actor = this.actors.get(spec.type)
    if (actor === undefined) throw new UnknownActorType(spec.type)
    // The handed-over state is part of the child's start input: its `init` gets it as
    // `start.handoff`, and nothing keeps a copy to be replayed later.
    const { pid, info } = await this.host.node.runtime.startWithInfo(actor, spec.args, {
      parent: this.host.server(),
      ...(options.handoff === undefined ? {} : { handoff: options.handoff }),
      ...(options.adopted === true ? { adopted: true } : {}),
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
    if (options.from !== undefined) this.host.events.emit('moved', spec.id, pid, options.from)
    else this.host.events.emit('started', spec.id, pid)
    return { pid, info }
  }

  /** Stops a child (it is not restarted) and forgets it. */
  /** Stops `child` with `reason`, within its `shutdownMs` (or at once: `brutal_kill`). */
  async stop(
    child: LocalChild,
    reason: ExitReason,
    shutdownMs: number | 'brutal_kill' = child.spec.shutdownMs,
  ): Promise<void> {
    child.stopping = true
    const { runtime } = this.host.node
    await runtime.shutdownProcess(child.pid, shutdownMs, this.host.server(), reason)
    this.byPid.delete(child.pid)
    if (this.local.get(child.spec.id) === child) {
      this.local.delete(child.spec.id)
      this.forget(child.spec.id)
    }
  }

  /** Stops child `id` for good; false if it does not run here. */
  async terminate(id: string): Promise<boolean> {
    const child = this.local.get(id)
    if (child === undefined) return false
    await this.stop(child, 'shutdown')
    return true
  }

  /** Runs the function registered as `fname` with child `id`. */
  async exec(id: string, fname: string, args: unknown): Promise<unknown> {
    const child = this.local.get(id)
    if (child === undefined) throw new NotFound(`child ${id}`)
    const fn = this.functions.get(fname)
    if (fn === undefined) throw new BadArgument(`no function '${fname}' in this node's functions`)
    return fn({ id, pid: child.pid }, args)
  }

  /** A child's process exited: restart it within its intensity, or forget it. */
  async exited(pid: Pid, reason: ExitReason): Promise<void> {
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
    const { node, name, events } = this.host
    for (;;) {
      if (child.intensity.exceeded(node.clock.now())) {
        this.local.delete(id)
        this.forget(id)
        node.logger.error({ supervisor: name, child: id }, 'child restarted too often; given up')
        events.emit('lost', id, 'max_restarts')
        return
      }
      try {
        const actor = this.actors.get(child.spec.type) as ActorClassLike<unknown>
        child.pid = await node.runtime.start(actor, child.spec.args, { parent: this.host.server() })
        this.byPid.set(child.pid, id)
        this.record(child)
        events.emit('restarted', id, child.pid, reason)
        return
      } catch (e) {
        node.logger.warn(
          { supervisor: name, child: id, err: InitFailed.is(e) ? e.reason : e },
          'restart failed',
        )
      }
    }
  }

  /** A second copy of one of our children elsewhere: the earliest start stays. */
  dropIfDuplicate(id: string): void {
    if (this.opts.duplicates === 'keep') return
    const mine = this.local.get(id)
    if (mine === undefined || mine.stopping) return
    const winner = this.host.locate(id)
    if (winner === undefined || winner.node === this.host.node.id) return
    this.host.node.logger.info(
      { supervisor: this.host.name, child: id, winner: winner.node },
      'duplicate child; the earlier start stays',
    )
    void this.stop(mine, { shutdown: 'duplicate' })
  }

  private record(child: LocalChild): void {
    const { spec } = child
    this.host.docs.write((doc) => {
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
    this.host.docs.write((doc) => doc.getMap<DocChild>('children').delete(id))
    this.dead++
    this.compactIfDue()
  }

  /**
   * Moves this node's doc to a new generation holding only its children once the removals pass
   * `max(compactMinDead, children here)`; the copy runs in steps over several turns.
   */
  private compactIfDue(): void {
    if (this.compacting || this.dead <= Math.max(this.opts.compactMinDead, this.local.size)) return
    this.compacting = true
    this.host.docs.compactInSteps({ children: () => true }).then(
      (dead) => {
        this.compacting = false
        if (dead === undefined) return
        this.dead = dead
        // What piled up meanwhile may call for the next one.
        this.compactIfDue()
      },
      (err: unknown) => {
        this.compacting = false
        this.host.node.logger.error({ supervisor: this.host.name, err }, 'compaction failed')
      },
    )
  }
}
