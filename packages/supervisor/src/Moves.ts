// Children that move while their node lives: to a member that joined and now wins them (`active`
// redistribution), or all of them on a graceful leave. A move hands the state over (`beforeMove`).
import { withTimeout, type Emitter, type ExitReason, type NodeId } from '@swormjs/actor'
import { forEachLimited, forEachSliced, SliceGate } from '@swormjs/actor/internal'
import type { Node } from '@swormjs/cluster'
import { supervisorDefaults } from './defaults.js'
import { AlreadyStarted, ShuttingDown } from './errors.js'
import type { LocalChild, LocalChildren } from './LocalChildren.js'
import type { Placement } from './Placement.js'
import type { ServerRequest } from './SupervisorServer.js'
import type { DistributedSupervisorOptions, SupervisorEvents, SupervisorHooks } from './types.js'

/** What moves need from their supervisor. */
export interface MovesHost {
  /** The supervisor's name, for logs. */
  readonly name: string
  readonly node: Pick<Node, 'id' | 'clock' | 'logger'>
  readonly placement: Pick<Placement, 'place' | 'placeOrNone'>
  readonly children: Pick<LocalChildren, 'all' | 'get' | 'stop'>
  readonly events: Pick<Emitter<SupervisorEvents>, 'emit'>
  /** Asks the supervisor's server on `node`. */
  call(node: NodeId, request: ServerRequest): Promise<unknown>
  /** Marks this node leaving in its doc: the other members place nothing here from then. */
  markLeaving(): void
  stopped(): boolean
}

export type MovesOptions = Required<
  Pick<
    DistributedSupervisorOptions,
    'redistribution' | 'handoffTimeoutMs' | 'moveTemporary' | 'rebalance'
  >
> & { hooks: SupervisorHooks }

export class Moves {
  private readonly host: MovesHost
  private readonly opts: MovesOptions
  private leavingNow = false
  private redistributionScheduled = false
  /** A round is under way: a join meanwhile brings another once it ends (`again`). */
  private redistributing = false
  private again = false
  /** A later round is already timed (`intervalMs` after the last one). */
  private roundTimed = false
  /** Children on their way out, by id: a later leave or redistribution leaves them be. */
  private readonly moving = new Set<string>()
  /** The slice the stops of moving children share (see `moveNow`). */
  private readonly stops = new SliceGate()

  constructor(host: MovesHost, options: MovesOptions) {
    this.host = host
    this.opts = options
  }

  /** True once this node leaves: it takes no new child, and its own are on their way out. */
  get leaving(): boolean {
    return this.leavingNow
  }

  /** A member joined or came back: under `active` redistribution, what it now wins moves there. */
  memberJoined(): void {
    if (this.opts.redistribution === 'active') this.scheduleRedistribution()
  }

  /**
   * Child `id` started here (moved here, or started by another node's request). The node that
   * sent it placed it by its own view of the members, which may be behind this node's: a member
   * that joined meanwhile, and that this node met first, may win it. A round that ran before it
   * arrived did not see it, and no join is left to bring another, so under `active`
   * redistribution one that belongs elsewhere brings a round of its own, `intervalMs` later
   * (many arrivals share it).
   */
  arrived(id: string): void {
    if (this.opts.redistribution !== 'active' || this.roundTimed) return
    const child = this.host.children.get(id)
    if (child === undefined || this.targetOf(child) === undefined) return
    this.timeRound()
  }

  /**
   * Graceful leave: stop taking children, then move every child to its next node, picked when
   * its turn comes (`startsInFlight` at a time).
   */
  async leave(): Promise<void> {
    if (this.host.stopped() || this.leavingNow) return
    this.leavingNow = true
    this.host.markLeaving()
    const all = this.host.children.all()
    if (!this.opts.moveTemporary) {
      const temporary = all.filter((c) => c.spec.restart === 'temporary' && !c.stopping)
      if (temporary.length > 0) {
        this.host.node.logger.info(
          { supervisor: this.host.name, children: temporary.length },
          'temporary children stop with their node (moveTemporary is off): they are not moved',
        )
      }
    }
    await forEachLimited(all, supervisorDefaults.startsInFlight, (child) => this.leaveWith(child))
  }

  /**
   * One child of a leave: moved to its next node, or stopped when it has none (or is temporary
   * and `moveTemporary` is off).
   */
  private async leaveWith(child: LocalChild): Promise<void> {
    if (child.stopping || this.moving.has(child.spec.id)) return
    let target: NodeId | undefined
    if (child.spec.restart !== 'temporary' || this.opts.moveTemporary) {
      try {
        // Nowhere to go (the last node leaves) is undefined, not an error made per child.
        target = this.host.placement.placeOrNone(child.spec.id, child.spec.type)
      } catch {
        target = undefined
      }
    }
    if (target !== undefined) {
      await this.move(child, target, 'shutdown')
      return
    }
    await this.host.children.stop(child, 'shutdown').catch((err: unknown) => {
      this.host.node.logger.error(
        { supervisor: this.host.name, child: child.spec.id, err },
        'stopping a child on leave failed',
      )
    })
  }

  /**
   * Once per turn of the event loop, however many members joined in it: the children that now
   * go elsewhere are found in slices, then moved `startsInFlight` at a time.
   */
  private scheduleRedistribution(): void {
    if (this.redistributing) {
      this.again = true
      return
    }
    if (this.redistributionScheduled) return
    this.redistributionScheduled = true
    setImmediate(() => {
      this.redistributionScheduled = false
      this.redistributing = true
      void this.redistribute().finally(() => this.roundEnded())
    })
  }

  /** A round `intervalMs` from now, unless one is timed already. */
  private timeRound(): void {
    if (this.roundTimed || this.host.stopped() || this.leavingNow) return
    this.roundTimed = true
    this.host.node.clock.setTimeout(() => {
      this.roundTimed = false
      this.scheduleRedistribution()
    }, this.opts.rebalance.intervalMs)
  }

  /**
   * Rounds never overlap, so each keeps to `maxMovesPerRound`. What a round left to move, or a
   * join while it ran, brings the next, `intervalMs` after it.
   */
  private roundEnded(): void {
    this.redistributing = false
    if (!this.again) return
    this.again = false
    this.timeRound()
  }

  /**
   * One round of redistribution: at most `maxMovesPerRound` of the children that now go
   * elsewhere move; the next round, `intervalMs` after this one ends, finds the rest again (the
   * members may have changed meanwhile).
   */
  private async redistribute(): Promise<void> {
    const { maxMovesPerRound } = this.opts.rebalance
    const goes: LocalChild[] = []
    await forEachSliced(this.host.children.all(), (child) => {
      if (this.host.stopped() || this.leavingNow) return true
      if (this.targetOf(child) !== undefined) goes.push(child)
      return false
    })
    if (goes.length === 0) return
    const round = goes.slice(0, maxMovesPerRound)
    let moved = 0
    await forEachLimited(round, supervisorDefaults.startsInFlight, async (child) => {
      // Placed again when its turn comes: the members may have changed since.
      if (this.host.stopped() || this.leavingNow) return
      const target = this.targetOf(child)
      if (target === undefined) return
      moved++
      await this.move(child, target, { shutdown: 'redistribution' })
    })
    const left = goes.length - round.length
    this.host.events.emit('rebalanced', moved, left)
    if (left > 0) this.again = true
  }

  /** Where a child of this node goes now under redistribution; undefined when it stays. */
  private targetOf(child: LocalChild): NodeId | undefined {
    if (child.stopping || this.moving.has(child.spec.id)) return undefined
    try {
      const target = this.host.placement.place(child.spec.id, child.spec.type)
      return target === this.host.node.id ? undefined : target
    } catch {
      return undefined
    }
  }

  /** Moves a child: hand-off, stop here, start there (the doc entry goes before the start). */
  private async move(child: LocalChild, target: NodeId, reason: ExitReason): Promise<void> {
    this.moving.add(child.spec.id)
    try {
      await this.moveNow(child, target, reason)
    } catch (err) {
      // Not a failed start (moveNow reports those): the leave goes on with the other children.
      this.host.node.logger.error(
        { supervisor: this.host.name, child: child.spec.id, err },
        'move failed',
      )
    } finally {
      this.moving.delete(child.spec.id)
    }
  }

  private async moveNow(child: LocalChild, target: NodeId, reason: ExitReason): Promise<void> {
    const { node, name, events } = this.host
    const { spec } = child
    let handoff: unknown
    const { hooks } = this.opts
    if (hooks.beforeMove !== undefined) {
      try {
        handoff = await withTimeout(
          node.clock,
          hooks.beforeMove(spec.id, child.pid),
          this.opts.handoffTimeoutMs,
          'hand-off',
        )
      } catch (e) {
        node.logger.warn(
          { supervisor: name, child: spec.id, err: e },
          'hand-off failed; moving without state',
        )
      }
    }
    // The hand-offs of many moves come back in one turn; their stops share that turn's slice.
    for (let wait = this.stops.pass(); wait !== undefined; wait = this.stops.pass()) await wait
    await this.host.children.stop(child, reason)
    try {
      const request: ServerRequest =
        handoff === undefined
          ? { op: 'start', spec, clock: child.clock, from: node.id }
          : { op: 'start', spec, clock: child.clock, handoff, from: node.id }
      await this.host.call(target, request)
      hooks.moved?.(spec.id)
    } catch (e) {
      if (AlreadyStarted.is(e)) {
        hooks.moved?.(spec.id)
        return
      }
      // The whole cluster stopping at once is no fault: the target is leaving too.
      node.logger[ShuttingDown.is(e) ? 'info' : 'error'](
        { supervisor: name, child: spec.id, err: e },
        'move failed; child lost',
      )
      events.emit('lost', spec.id, 'move failed')
    }
  }
}
