// A member seen down: its children are orphans until the live member their hash now picks adopts
// them. Without a quorum this node parks its own children and starts them again when it returns.
import type { Emitter, NodeId, TimerHandle } from '@swormjs/actor'
import { forEachLimited, forEachSliced } from '@swormjs/actor/internal'
import type { Node } from '@swormjs/cluster'
import { supervisorDefaults } from './defaults.js'
import { AlreadyStarted, QuorumNotMet, ShuttingDown } from './errors.js'
import type { LocalChildren } from './LocalChildren.js'
import type { Placement } from './Placement.js'
import { fromDoc, type ChildRecord, type DocChild } from './records.js'
import type { ServerRequest } from './SupervisorServer.js'
import type { SupervisorEvents } from './types.js'

/** What failover needs from its supervisor. */
export interface FailoverHost {
  /** The supervisor's name, for logs. */
  readonly name: string
  readonly node: Pick<Node, 'id' | 'clock' | 'logger'>
  readonly placement: Pick<
    Placement,
    | 'childrenOf'
    | 'isLive'
    | 'locate'
    | 'place'
    | 'hasQuorum'
    | 'isQuorum'
    | 'runningMembers'
    | 'memoizedInStep'
  >
  readonly children: Pick<LocalChildren, 'all' | 'stop'>
  readonly events: Pick<Emitter<SupervisorEvents>, 'emit'>
  /** Asks the supervisor's server on `node`. */
  call(node: NodeId, request: ServerRequest): Promise<unknown>
  /** True once this node (or its supervisor) stops or leaves: it adopts nothing then. */
  closing(): boolean
}

/** The children of one down member that no live member was seen running since. */
interface Orphans {
  readonly ids: Set<string>
  readonly since: number
  /** Noted, or kept, while this node had no quorum: see `adoptUnsure`. */
  unsure: boolean
}

/** An orphan this node's scan took to start, and its group. */
interface Mine {
  readonly spec: ChildRecord
  readonly from: NodeId
  readonly orphans: Orphans
}

export class Failover {
  private readonly host: FailoverHost
  /** How long orphans wait after their node went down (parked ones, after resuming): 0 but with `quorum`. */
  private readonly adoptDelayMs: number
  private readonly adoptTimers = new Set<TimerHandle>()
  /**
   * Children of down members that no live member was seen running since: dead node → ids.
   * Kept until adopted, because the member their hash picked may die before it adopts them.
   * `unsure`: noted, or kept, while this node had no quorum (see `adoptUnsure`).
   */
  private readonly orphans = new Map<NodeId, Orphans>()
  /** Children this node stopped for want of a quorum: started again when it returns, unless adopted. */
  private readonly parked = new Map<string, ChildRecord>()
  /** When this node last got the quorum back: parked children wait `adoptDelayMs` from then. */
  private resumedAt = 0
  private suspendedNow = false
  /** `watchQuorum`'s next check. */
  private quorumTimer: TimerHandle | undefined
  /** After a fence, the quorum check does not resume this node before then. */
  private fencedUntil = 0
  private stopped = false
  /** Orphans this round found for this node whose start has not settled yet (`adopting`). */
  private toAdopt = 0
  /** A round of adoption is under way (it runs in slices); `again`: another was asked for meanwhile. */
  private round: { again: boolean } | undefined

  constructor(host: FailoverHost, adoptDelayMs: number) {
    this.host = host
    this.adoptDelayMs = adoptDelayMs
  }

  /** True while this node has lost the quorum: it runs no children and takes none. */
  get suspended(): boolean {
    return this.suspendedNow
  }

  /**
   * Orphans this node is adopting now: found by its scan and not started yet, or on their way to
   * its server (at least 1 while a scan runs).
   */
  get adopting(): number {
    return this.toAdopt + (this.round !== undefined ? 1 : 0)
  }

  /** True while some child waits to be adopted or restarted. */
  get waiting(): boolean {
    return this.orphans.size > 0 || this.parked.size > 0
  }

  /** A member went down: note its orphans, then adopt them, or suspend without a quorum. */
  nodeDown(node: NodeId): void {
    const quorum = this.host.placement.hasQuorum()
    this.noteOrphans(node, this.suspendedNow || !quorum)
    if (!quorum) {
      this.suspend()
      return
    }
    this.scheduleAdoption()
  }

  /** A member is up: its children are no orphans, and the quorum may be back. */
  nodeUp(node: NodeId): void {
    this.orphans.delete(node)
    if (this.suspendedNow && this.host.placement.hasQuorum()) this.resume()
  }

  /** The quorum is back: take starts again, and restart the parked children nobody adopted. */
  private resume(): void {
    if (!this.suspendedNow) return
    this.suspendedNow = false
    this.host.node.logger.warn(
      { supervisor: this.host.name },
      'quorum is back; starting children again',
    )
    this.resumedAt = this.host.node.clock.now()
    if (this.waiting) this.scheduleAdoption()
  }

  /** `id` runs elsewhere: it is no orphan (and must not come back if stopped later). */
  adopted(id: string): void {
    this.parked.delete(id)
    for (const [dead, { ids }] of this.orphans) {
      if (ids.delete(id) && ids.size === 0) this.orphans.delete(dead)
    }
  }

  /** Cancels the pending adoptions and the quorum checks. */
  stop(): void {
    this.stopped = true
    for (const t of this.adoptTimers) this.host.node.clock.clearTimeout(t)
    this.host.node.clock.clearTimeout(this.quorumTimer)
  }

  /**
   * With `quorum`: checks the quorum every `periodMs`, after an I/O turn (so that what waits in
   * the sockets counts), and not only when a member goes down. The quorum counts only members
   * heard from within the downing bound, and this node's detector forgives its peers the
   * stalls of its own event loop, so a busy node may be slow to take a silent majority down;
   * its peers are not, and adopt its children `quorumAdoptDelayMs` after they took it down.
   * This check stops its children first, whatever its detector says: a lease on the quorum.
   */
  watchQuorum(periodMs: number): void {
    const { clock } = this.host.node
    this.quorumTimer = clock.setTimeout(() => {
      setImmediate(() => {
        if (this.stopped) return
        this.checkQuorum()
        this.watchQuorum(periodMs)
      })
    }, periodMs)
  }

  /** Suspends when the quorum went, resumes when it is back (not before a fence's wait ends). */
  private checkQuorum(): void {
    if (this.host.closing()) return
    const has = this.host.placement.hasQuorum()
    if (!this.suspendedNow && !has) this.suspend()
    else if (this.suspendedNow && has && this.host.node.clock.now() >= this.fencedUntil) {
      this.resume()
    }
  }

  /**
   * This node was paused for `silentMs`, long enough for the others to take it down and adopt
   * its children: it kills them at once, before it handles anything else, and refuses starts
   * (self-fencing, as an Orleans silo declared dead does). Whether or not it was taken down, it
   * then waits `confirmMs` for its view to catch up (the closes of the peers that took it down
   * arrive first) and resumes if it has the quorum; its children come back, as after a quorum
   * loss, only where no live member adopted them.
   */
  fence(silentMs: number, confirmMs: number): void {
    const { node, name } = this.host
    node.logger.warn(
      { supervisor: name, silentMs: Math.round(silentMs) },
      'this node was paused long enough to be taken down; killing its children (self-fencing)',
    )
    this.suspendedNow = false
    this.suspend('brutal_kill')
    this.fencedUntil = node.clock.now() + confirmMs
    const timer = node.clock.setTimeout(() => {
      this.adoptTimers.delete(timer)
      if (!this.host.closing() && this.host.placement.hasQuorum()) this.resume()
    }, confirmMs)
    this.adoptTimers.add(timer)
  }

  /** No quorum: stop every child here (the majority side adopts them) and refuse starts. */
  private suspend(shutdownMs?: 'brutal_kill'): void {
    if (this.suspendedNow) return
    this.suspendedNow = true
    for (const orphans of this.orphans.values()) orphans.unsure = true
    const { node, name, children } = this.host
    if (shutdownMs === undefined) {
      node.logger.warn({ supervisor: name }, 'quorum lost; stopping this node’s children')
    }
    for (const child of children.all()) {
      // If no side has a quorum, nobody adopts them: this node starts them again when it returns.
      if (!child.stopping && child.spec.restart !== 'temporary') {
        this.parked.set(child.spec.id, child.spec)
      }
      void children.stop(child, { shutdown: 'quorum' }, shutdownMs)
    }
  }

  /** Notes the children of a node seen down as orphans (temporary ones are not adopted). */
  private noteOrphans(dead: NodeId, unsure: boolean): void {
    const children = this.host.placement.childrenOf(dead)
    if (children === undefined) return
    const ids = new Set<string>()
    for (const [id, c] of children) if (c.r !== 'temporary') ids.add(id)
    if (ids.size > 0) this.orphans.set(dead, { ids, since: this.host.node.clock.now(), unsure })
    else this.orphans.delete(dead)
  }

  /** Adopts the orphans: at once, or with `quorum` after `quorumAdoptDelayMs`. */
  private scheduleAdoption(delayMs = this.adoptDelayMs): void {
    if (delayMs <= 0) {
      this.adoptOrphans()
      return
    }
    const timer = this.host.node.clock.setTimeout(() => {
      this.adoptTimers.delete(timer)
      if (!this.host.closing() && this.host.placement.hasQuorum()) this.adoptOrphans()
    }, delayMs)
    this.adoptTimers.add(timer)
  }

  /**
   * The orphans of every dead node: each is started by the live member its hash now picks.
   * One picked for another member stays an orphan until seen running, so that it is adopted
   * again if that member dies first (a split seen one node at a time). One round at a time:
   * the orphans are looked at in slices, and this node's are started `startsInFlight` at a time.
   */
  private adoptOrphans(): void {
    if (this.round !== undefined) {
      this.round.again = true
      return
    }
    const round = { again: false }
    this.round = round
    this.adoptionRound()
      .catch((err: unknown) =>
        this.host.node.logger.error({ supervisor: this.host.name, err }, 'adoption round failed'),
      )
      .finally(() => {
        this.round = undefined
        if (round.again && !this.host.closing()) this.adoptOrphans()
      })
  }

  private async adoptionRound(): Promise<void> {
    const { node, placement } = this.host
    const mine: Mine[] = []
    const now = node.clock.now()
    // A timer set for one down node may fire just after another went down: each waits its delay.
    let wait = Infinity
    for (const [dead, orphans] of [...this.orphans]) {
      if (this.gone(dead)) {
        this.orphans.delete(dead)
        continue
      }
      if (now - orphans.since < this.adoptDelayMs) {
        wait = Math.min(wait, orphans.since + this.adoptDelayMs - now)
        continue
      }
      // Each id is decided by the state of its own turn: the node may be back, the id adopted.
      // What a slice reads of the members (the dead node's children among them) it reads once.
      await forEachSliced([...orphans.ids], (id) =>
        placement.memoizedInStep(() => {
          if (this.gone(dead) || this.orphans.get(dead) !== orphans) return true
          const spec = this.orphanToAdopt(id, placement.childrenOf(dead)?.get(id), orphans.ids)
          if (spec !== undefined) mine.push({ spec, from: dead, orphans })
          return false
        }),
      )
      if (this.orphans.get(dead) === orphans && (orphans.ids.size === 0 || this.gone(dead)))
        this.orphans.delete(dead)
    }
    // Not awaited: a later round (another node down) need not wait for these starts.
    this.toAdopt += mine.length
    void this.adoptAll(mine.filter((o) => !o.orphans.unsure))
    const unsure = mine.filter((o) => o.orphans.unsure)
    if (unsure.length > 0) void this.adoptUnsure(unsure)
    if (this.parked.size > 0 && now - this.resumedAt < this.adoptDelayMs) {
      wait = Math.min(wait, this.resumedAt + this.adoptDelayMs - now)
    }
    if (wait !== Infinity) this.scheduleAdoption(Math.max(1, wait))
    if (this.suspendedNow || now - this.resumedAt < this.adoptDelayMs) return
    void this.restartParked()
  }

  /** Starts `mine`, `startsInFlight` at a time (each counted in `toAdopt` already). */
  private adoptAll(mine: readonly Mine[]): Promise<void> {
    return forEachLimited(mine, supervisorDefaults.startsInFlight, (o) =>
      this.adopt(o.spec, o.from).finally(() => this.toAdopt--),
    )
  }

  /**
   * Orphans noted while this node had no quorum, now that it has one again: their node was seen
   * down from a minority side, where the members it lost were most likely the live majority,
   * which ran on, adopted what it had to, and may still run them (a heal reaches one link
   * before another: this node may not have met that member again yet). So they are adopted
   * only if no live member sees them running, asked as for parked children (`seenRunning`),
   * and put back to be looked at again when too few members answered. A minority side that
   * adopted from its own stale view started copies of children running on the majority.
   */
  private async adoptUnsure(mine: readonly Mine[]): Promise<void> {
    const seen = await this.seenRunning(mine.map((o) => o.spec.id))
    if (seen === undefined) {
      for (const o of mine) {
        this.toAdopt--
        if (this.gone(o.from)) continue
        o.orphans.ids.add(o.spec.id)
        if (!this.orphans.has(o.from)) this.orphans.set(o.from, o.orphans)
      }
      if (!this.host.closing()) this.scheduleAdoption(Math.max(this.adoptDelayMs, 50))
      return
    }
    const left: Mine[] = []
    for (const o of mine) {
      if (seen.has(o.spec.id)) this.toAdopt--
      else left.push(o)
    }
    await this.adoptAll(left)
  }

  /** True when `dead`'s children are no orphans any more: its doc is gone, or it is back. */
  private gone(dead: NodeId): boolean {
    return this.host.placement.childrenOf(dead) === undefined || this.host.placement.isLive(dead)
  }

  /**
   * Orphan `id` of a dead node (its record `c`): the spec to start here when its hash now picks
   * this node. It leaves `ids` once it runs elsewhere, is placed here, or can run nowhere.
   */
  private orphanToAdopt(
    id: string,
    c: DocChild | undefined,
    ids: Set<string>,
  ): ChildRecord | undefined {
    const { node, placement, events } = this.host
    if (c === undefined || placement.locate(id) !== undefined) {
      ids.delete(id)
      return undefined
    }
    let target: NodeId
    try {
      target = placement.place(id, c.t)
    } catch {
      ids.delete(id)
      events.emit('lost', id, 'no node can run it')
      return undefined
    }
    if (target !== node.id) return undefined
    ids.delete(id)
    return fromDoc(id, c)
  }

  /** Starts an orphan of `from` here, unless its node is back or it runs elsewhere by now. */
  private async adopt(spec: ChildRecord, from: NodeId): Promise<void> {
    const { node, name, placement, events } = this.host
    if (this.host.closing() || placement.isLive(from) || placement.locate(spec.id) !== undefined)
      return
    try {
      await this.host.call(node.id, { op: 'start', spec, from, adopted: true })
    } catch (e) {
      if (!AlreadyStarted.is(e) && !ShuttingDown.is(e)) {
        node.logger.error({ supervisor: name, child: spec.id, err: e }, 'adoption failed')
        events.emit('lost', spec.id, 'adoption failed')
      }
    }
  }

  /**
   * Children parked for want of a quorum that no majority adopted meanwhile. This node's own
   * view cannot tell: a member that adopted them may not be back yet (a heal reaches one link
   * before another). The members that are back can, as a side that adopted them had a quorum,
   * and so has this one now: the two share a member, which saw the adoption. So every live
   * member is asked which of them it sees running, and none starts again until members that
   * make a quorum with this one have answered.
   */
  private async restartParked(): Promise<void> {
    if (this.parked.size === 0) return
    const parked = [...this.parked]
    this.parked.clear()
    const elsewhere = await this.seenRunning(parked.map(([id]) => id))
    if (elsewhere === undefined) {
      for (const [id, spec] of parked) if (!this.parked.has(id)) this.parked.set(id, spec)
      // Never at once: with no delay, asking again would never let the event loop turn.
      if (!this.host.closing()) this.scheduleAdoption(Math.max(this.adoptDelayMs, 50))
      return
    }
    await forEachLimited(
      parked.filter(([id]) => !elsewhere.has(id)),
      supervisorDefaults.startsInFlight,
      ([id, spec]) => this.restartOne(id, spec),
    )
  }

  /**
   * The ids of `ids` that some live member sees running, or undefined when too few answered to
   * make a quorum with this node.
   */
  private async seenRunning(ids: string[]): Promise<Set<string> | undefined> {
    const { node, placement } = this.host
    const others = placement.runningMembers().filter((n) => n !== node.id)
    const answers = await Promise.all(
      others.map(async (n) => {
        try {
          // An older release answers undefined: it knows nothing to add to this node's view.
          const seen = (await this.host.call(n, { op: 'running', ids })) as string[] | undefined
          return { node: n, seen: seen ?? [] }
        } catch {
          return undefined
        }
      }),
    )
    const answered = answers.filter((a) => a !== undefined)
    if (!placement.isQuorum([node.id, ...answered.map((a) => a.node)])) return undefined
    return new Set(answered.flatMap((a) => a.seen))
  }

  private async restartOne(id: string, spec: ChildRecord): Promise<void> {
    const { node, name, placement, events } = this.host
    if (placement.locate(id) !== undefined) return
    let target: NodeId
    try {
      target = placement.place(id, spec.type)
    } catch {
      events.emit('lost', id, 'no node can run it')
      return
    }
    try {
      await this.host.call(target, { op: 'start', spec })
    } catch (e) {
      if (AlreadyStarted.is(e)) return
      if (QuorumNotMet.is(e) || ShuttingDown.is(e)) {
        // The target has not got the quorum back yet (or is leaving): try again later.
        this.parked.set(id, spec)
        this.scheduleAdoption()
        return
      }
      node.logger.error({ supervisor: name, child: id, err: e }, 'restart failed')
      events.emit('lost', id, 'restart after the quorum failed')
    }
  }
}
