// Children that move while their node lives: to a member that joined and now wins them (`active`
// redistribution), or all of them on a graceful leave. A move hands the state over (`beforeMove`).
import { withTimeout, type Emitter, type ExitReason, type NodeId } from '@sworm/actor'
import type { Node } from '@sworm/cluster'
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
  readonly placement: Pick<Placement, 'place'>
  readonly children: Pick<LocalChildren, 'all' | 'stop'>
  readonly events: Pick<Emitter<SupervisorEvents>, 'emit'>
  /** Asks the supervisor's server on `node`. */
  call(node: NodeId, request: ServerRequest): Promise<unknown>
  /** Marks this node leaving in its doc: the other members place nothing here from then. */
  markLeaving(): void
  stopped(): boolean
}

export type MovesOptions = Required<
  Pick<DistributedSupervisorOptions, 'redistribution' | 'handoffTimeoutMs'>
> & { hooks: SupervisorHooks }

export class Moves {
  private readonly host: MovesHost
  private readonly opts: MovesOptions
  private leavingNow = false
  private redistributionScheduled = false

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

  /** Graceful leave: stop taking children, then move every child to its next node. */
  async leave(): Promise<void> {
    if (this.host.stopped() || this.leavingNow) return
    this.leavingNow = true
    this.host.markLeaving()
    const moves: Array<Promise<void>> = []
    for (const child of this.host.children.all()) {
      if (child.stopping) continue
      let target: NodeId | undefined
      if (child.spec.restart !== 'temporary') {
        try {
          target = this.host.placement.place(child.spec.id, child.spec.type)
        } catch {
          target = undefined
        }
      }
      moves.push(
        target === undefined
          ? this.host.children.stop(child, 'shutdown')
          : this.move(child, target, 'shutdown'),
      )
    }
    await Promise.all(moves)
  }

  /** Once per turn of the event loop, however many members joined in it. */
  private scheduleRedistribution(): void {
    if (this.redistributionScheduled) return
    this.redistributionScheduled = true
    setImmediate(() => {
      this.redistributionScheduled = false
      if (this.host.stopped() || this.leavingNow) return
      for (const child of this.host.children.all()) {
        if (child.stopping) continue
        let target: NodeId
        try {
          target = this.host.placement.place(child.spec.id, child.spec.type)
        } catch {
          continue
        }
        if (target !== this.host.node.id)
          void this.move(child, target, { shutdown: 'redistribution' })
      }
    })
  }

  /** Moves a child: hand-off, stop here, start there (the doc entry goes before the start). */
  private async move(child: LocalChild, target: NodeId, reason: ExitReason): Promise<void> {
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
    await this.host.children.stop(child, reason)
    try {
      const request: ServerRequest =
        handoff === undefined
          ? { op: 'start', spec, clock: child.clock, from: node.id }
          : { op: 'start', spec, clock: child.clock, handoff, from: node.id }
      await this.host.call(target, request)
    } catch (e) {
      if (AlreadyStarted.is(e)) return
      // The whole cluster stopping at once is no fault: the target is leaving too.
      node.logger[ShuttingDown.is(e) ? 'info' : 'error'](
        { supervisor: name, child: spec.id, err: e },
        'move failed; child lost',
      )
      events.emit('lost', spec.id, 'move failed')
    }
  }
}
