// A delegate's side of `replicas: k`: the worker's state kept on the next k nodes of its name's
// placement order, and a call's reply released only once they hold a state with its effect.
//
// Calls pass through the delegate (`forwardCall`): the worker answers the delegate's runtime
// (the caller's pid still shows as `from.pid`), and the reply waits. Once replies wait (or a
// cast or message went in), the delegate takes the worker's state, in the microtask after, so
// that replies that arrive together share one state: read at once when the worker is idle
// (every message sent to it handled: `Runtime.idleActor`, `stateNow`), else asked with the
// handoff question (`sworm:begin_handoff`), which the worker answers after everything it was
// sent before. Either way the state holds the effect of every call whose reply is held. It is
// encoded once and put down a chain of the backups, each keeping it and putting it on the
// next; the last one sends the replies it covers to their callers (one hop after the last copy
// is kept, not two). The chain acknowledges late (with the next frames to the owner's node),
// and the owner does not wait for it: the next state goes as soon as this put is on its way
// (`MAX_FLYING` puts of one name at most), versions ordering them on each backup. A state equal
// to the one the backups acknowledged, with no put on its way, releases its replies at once; one
// equal to the newest put on its way sends its replies after it with no state.
import {
  type From,
  type Logger,
  type NodeId,
  type Pid,
  type Ref,
  type Runtime,
} from '@swormjs/actor'
import type { Name } from '@swormjs/registry'
import { NotSerializable } from '@swormjs/cluster'
import { StateTooLarge } from '../errors.js'
import { ASK_WORKER, replicatedWorkers, stateNow } from '../handoff.js'
import {
  answerHeld,
  encodeState,
  toBase64,
  readsBase64,
  type DropCopy,
  type HeldReply as Held,
  type PutCopy,
} from './Copies.js'

/** What a replicator needs of its delegate and sworm. */
export interface ReplicatorHost {
  readonly sworm: string
  /** The name's key (its child id). */
  readonly key: string
  readonly runtime: Runtime
  readonly logger: Logger
  /** The delegate's pid: the worker answers it, and the backups see it as the sender. */
  readonly self: Pid
  /**
   * The copy stores of the name's backups now: the next `k` nodes of its placement order (as
   * last found, until the directory changes or one of them is down; `fresh`: found again).
   */
  backups(fresh?: boolean): Array<[NodeId, Pid]>
  /** The copy store of `node`, while it runs the sworm. */
  storeOf(node: NodeId): Pid | undefined
  /** The protocol version spoken with a node (`Node.protocolOf`): 2 takes a copy as bytes. */
  protocolOf(node: NodeId): number | undefined
  /** A version larger than every one this node issued or saw. */
  version(): number
  /** The worker's groups now, kept with its state. */
  groups(): Name[]
  readonly maxStateBytes: number
  /**
   * With `persist`: keeps the name's newest state on this node's disk (resolves once durable),
   * and forgets it there when the name ended here for good (`ended`: not when it ends because
   * its sworm or node stops, so that it comes back). A name that moved is forgotten once its
   * next node answered its start (the supervisor's `moved` hook), as that node kept it first.
   */
  readonly persist?: {
    put(v: number, bytes: Uint8Array | undefined): Promise<void>
    ended(): Promise<void>
  }
  /** A put not acknowledged within this is tried again, on the backups of that moment. */
  readonly callTimeoutMs: number
}

/** Calls into the worker wait with no timer of their own (the caller's timeout ends its wait). */
const WORKER_CALL_MS = Infinity
/**
 * Puts of one name on their way at once. A put's answers go from the chain's last node, so the
 * owner need not wait for its acknowledgement (which the backups send late, in batches: see
 * `PutCopy.late`) before the next; past this many, it does.
 */
const MAX_FLYING = 32
/** After a put failed (its node went down), the next try waits this long. */
const RETRY_MS = 50

export class Replicator {
  private readonly host: ReplicatorHost
  private worker: Pid | undefined
  /** Answers that arrived since the last question. */
  private waiting: Held[] = []
  /** A cast or message went to the worker since the last question. */
  private dirty = false
  private scheduled = false
  /** The answers of the puts on their way (see `MAX_FLYING`). */
  private readonly flying = new Set<Held[]>()
  /** The question out, and the answers it covers. */
  private asked: { ref: Ref; held: Held[] } | undefined
  /** The state the backups hold, and which of them acknowledged it. */
  private last: { v: number; bytes: Uint8Array; on: Set<NodeId> } | undefined
  /** The newest state put, acknowledged or not (a read on a busy name finds it on its way). */
  private newest: { v: number; bytes: Uint8Array } | undefined
  private closed = false
  /** With `persist`: the name is on disk (with a state or without one), and the version there. */
  private onDisk = false
  private diskV = -1

  constructor(host: ReplicatorHost) {
    this.host = host
  }

  /**
   * With `persist`, before the delegate's `init` returns: the name (with the state it starts
   * from, if any) on this node's disk, so that a registration, a move or an adoption is answered
   * only once the name would come back after a full restart.
   */
  async keepNow(state: { value: unknown } | undefined, onDiskAlready = false): Promise<void> {
    if (this.host.persist === undefined) return
    if (onDiskAlready) {
      this.onDisk = true
      return
    }
    if (state === undefined) {
      await this.kept(undefined)
      return
    }
    const bytes = this.encode(state.value)
    await this.kept({ v: this.host.version(), bytes })
  }

  /** The worker started (and its state, when it came from a move or a copy, is to be kept). */
  started(worker: Pid, restored: boolean, fromDisk = false): void {
    this.follow(worker)
    if (restored && (!fromDisk || this.host.backups().length > 0)) {
      this.dirty = true
      this.schedule()
    }
  }

  /** A call to the name: into the worker, its answer held until replicated. */
  forwardCall(msg: unknown, from: From): void {
    const worker = this.worker
    if (worker === undefined) return
    this.host.runtime.callInto(
      worker,
      msg,
      from.pid === undefined
        ? { timeoutMs: WORKER_CALL_MS }
        : { timeoutMs: WORKER_CALL_MS, from: from.pid },
      (value) => this.answered({ from, ok: true, value }),
      (error) => this.answered({ from, ok: false, value: error }),
    )
  }

  /**
   * Resolves once the worker's state now (the effect of every message it handled so far) is on
   * the backups (and the disk, with persist); rejects as a held reply would fail. For an answer
   * that is not a held reply: the call that started a name on demand, answered with its start.
   */
  synced(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.answered({
        from: { ref: '' as Ref },
        ok: true,
        value: undefined,
        done: (error) => {
          if (error === undefined) resolve()
          else
            reject(
              error instanceof Error
                ? error
                : new Error('the state was not kept', { cause: error }),
            )
        },
      })
    })
  }

  /** A cast or message to the name: into the worker; the next state is replicated. */
  forward(raw: unknown): void {
    if (this.worker === undefined) return
    this.host.runtime.send(this.worker, raw)
    this.dirty = true
    this.schedule()
  }

  /** True when `ref` is this replicator's question (its answer is `answer`'s to handle). */
  owns(ref: Ref): boolean {
    return this.asked?.ref === ref
  }

  /** The worker's answer to the question: `undefined` when it has no state to keep. */
  answer(state: { value: unknown } | undefined): void {
    const asked = this.asked
    if (asked === undefined) return
    if (state === undefined) {
      void this.kept(undefined).then(
        () => this.release(asked.held),
        (e: unknown) => this.fail(asked.held, e),
      )
      this.next()
      return
    }
    let bytes: Uint8Array
    try {
      bytes = this.encode(state.value)
    } catch (e) {
      this.fail(asked.held, e)
      this.next()
      return
    }
    const last = this.last
    if (
      this.flying.size === 0 &&
      last !== undefined &&
      sameBytes(last.bytes, bytes) &&
      this.coversBackups(last.on)
    ) {
      this.release(asked.held)
      this.next()
      return
    }
    // The next question may go as soon as this put is on its way (its answers come from the
    // chain, not from here): the puts of one name pipeline, `MAX_FLYING` at most. A state equal
    // to the newest one on its way (calls that only read, on a busy name) sends no state: its
    // answers follow that put down the chain, under its version.
    const held = asked.held
    const newest = this.newest
    const same = this.flying.size > 0 && newest !== undefined && sameBytes(newest.bytes, bytes)
    const v = same ? newest.v : this.host.version()
    if (!same) this.newest = { v, bytes }
    this.flying.add(held)
    void this.replicate(v, bytes, held, true, () => this.next(), same).finally(() => {
      this.flying.delete(held)
      if (this.flying.size === 0 && this.asked === undefined && !this.closed) this.refresh()
      this.schedule()
    })
  }

  /**
   * The name moves with `state` (or without one): it is put on the backups before the move goes
   * on, so that a crash during the move loses no acknowledged call; every held reply goes then.
   */
  async seal(state: { value: unknown } | undefined): Promise<void> {
    this.closed = true
    // The answers of puts still on their way are sent from here too (a second reply to a call
    // is dropped): the chain's may come after the callers heard this delegate is gone.
    const held = [...[...this.flying].flat(), ...(this.asked?.held ?? []), ...this.waiting]
    this.asked = undefined
    this.waiting = []
    if (state === undefined) {
      this.release(held)
      return
    }
    let bytes: Uint8Array
    try {
      bytes = this.encode(state.value)
    } catch (e) {
      this.fail(held, e)
      return
    }
    // Its answers go from here, not from the chain's last node: the delegate stops once the move
    // goes on, and its callers must hear them before they hear it is gone (one socket, in order).
    await this.replicate(this.host.version(), bytes, held, false)
  }

  /**
   * The name's worker woke from a passivation (which `seal`ed its state on the backups): its
   * next states are replicated again, from this new worker.
   */
  reopen(worker: Pid): void {
    this.closed = false
    this.follow(worker)
  }

  /** The delegate ended: its worker's messages are no longer told here. */
  detach(): void {
    if (this.worker !== undefined && replicatedWorkers.get(this.worker) === this.touched) {
      replicatedWorkers.delete(this.worker)
    }
  }

  /** `worker` is the name's worker now: what it handles, by any way, is told here. */
  private follow(worker: Pid): void {
    this.detach()
    this.worker = worker
    replicatedWorkers.set(worker, this.touched)
  }

  /**
   * The worker handled a message (any: sent to its pid, published to its group, or passed on by
   * the delegate): its next state is replicated, as after a cast.
   */
  private readonly touched = (): void => {
    if (this.closed) return
    this.dirty = true
    this.schedule()
  }

  /** The backups changed (a node joined, left or died): the state goes to the new ones. */
  refresh(): void {
    const last = this.last
    if (last === undefined || this.asked !== undefined || this.flying.size > 0) return
    if (this.coversBackups(last.on)) return
    void this.replicate(last.v, last.bytes, [])
  }

  /** The delegate stops for good (unregistered, or its worker ended): the copies go. */
  dropCopies(): void {
    this.closed = true
    void this.host.persist?.ended().catch(() => undefined)
    const last = this.last
    if (last !== undefined) this.dropOn(last.on, last.v)
  }

  /** Tells the copy stores of `nodes` to drop their copies up to version `v`. */
  private dropOn(nodes: Iterable<NodeId>, v: number): void {
    const msg: DropCopy = { drop: this.host.key, v }
    for (const node of nodes) {
      const store = this.host.storeOf(node)
      if (store !== undefined) this.host.runtime.cast(store, msg)
    }
  }

  // ------------------------------------------------------------------ the cycle

  private answered(held: Held): void {
    if (this.closed) {
      this.release([held])
      return
    }
    this.waiting.push(held)
    this.schedule()
  }

  private schedule(): void {
    if (this.scheduled || this.asked !== undefined || this.closed) return
    if (this.flying.size >= MAX_FLYING) return
    this.scheduled = true
    queueMicrotask(() => {
      this.scheduled = false
      this.ask()
    })
  }

  private ask(): void {
    const worker = this.worker
    if (this.asked !== undefined || this.closed || worker === undefined) return
    if (this.waiting.length === 0 && !this.dirty) return
    const { runtime } = this.host
    // A worker that has handled everything sent to it is read at once: its state now is what it
    // would answer the question, without the two turns the question and its answer take.
    const idle = runtime.idleActor(worker)
    const now = idle === undefined ? ASK_WORKER : stateNow(idle)
    const ref = runtime.makeRef()
    this.asked = { ref, held: this.waiting }
    this.waiting = []
    this.dirty = false
    if (now === ASK_WORKER) {
      runtime.send(worker, { type: 'sworm:begin_handoff', delegate: this.host.self, ref })
    } else {
      this.answer(now)
    }
  }

  private next(): void {
    this.asked = undefined
    this.schedule()
  }

  /** Encodes what a copy keeps: the state and the worker's groups. */
  private encode(value: unknown): Uint8Array {
    const bytes = encodeState(value, this.host.groups())
    if (bytes.length > this.host.maxStateBytes) {
      throw new StateTooLarge(
        this.host.sworm,
        this.host.key.slice(1),
        bytes.length,
        this.host.maxStateBytes,
      )
    }
    return bytes
  }

  /** True when every backup of the moment is in `on`. */
  private coversBackups(on: Set<NodeId>): boolean {
    for (const [node] of this.host.backups()) if (!on.has(node)) return false
    return true
  }

  /**
   * Puts version `v` down the chain of the backups of the moment, again on the backups of each
   * moment until one chain kept it all (a backup that died is replaced by the next node); its
   * last node sends the replies of callers on other nodes, and this node the others. Then the
   * backups that are no longer ones drop theirs.
   */
  private async replicate(
    v: number,
    bytes: Uint8Array,
    held: Held[],
    answerFromChain = true,
    sent?: () => void,
    answersOnly = false,
  ): Promise<void> {
    const { runtime } = this.host
    // On this node's disk first (with persist): the chain's last node answers callers at once.
    // Without it the put goes in this very step.
    if (this.host.persist !== undefined) {
      try {
        await this.kept({ v, bytes })
      } catch (e) {
        sent?.()
        this.fail(held, e)
        return
      }
    }
    // Every answer goes from the chain's last node, this node's callers' too: an answer
    // from here would have to wait for the chain's acknowledgement, which comes late.
    const fromChain = (h: Held): boolean => answerFromChain && h.ok && h.done === undefined
    let mine = held.filter((h) => !fromChain(h))
    let onward = held.filter(fromChain)
    let on = new Set<NodeId>()
    // Encoded when a put first carries the state: not for answers only, nor for a chain that
    // reads bytes alone.
    let b64: string | undefined
    for (let tries = 0; ; tries++) {
      const chain = this.host.backups(tries > 0)
      const [first, ...rest] = chain
      if (first === undefined) {
        mine = held
        break
      }
      const msg: PutCopy = {
        put: this.host.key,
        v,
        // A chain with a node of the previous release carries the bytes, which every node reads.
        ...(answersOnly
          ? {}
          : {
              b: chain.every(([n]) => readsBase64(this.host.protocolOf(n)))
                ? (b64 ??= toBase64(bytes))
                : bytes,
            }),
        next: rest.map(([, store]) => store),
        r: onward,
        ...(sent === undefined ? {} : { late: true }),
      }
      try {
        const put = runtime.call(first[1], msg, {
          timeoutMs: this.host.callTimeoutMs * chain.length,
          from: this.host.self,
        })
        sent?.()
        sent = undefined
        const ok = await put
        if (ok === true) {
          on = new Set(chain.map(([node]) => node))
          break
        }
        // A backup without that version (a new one, or one of the previous release): the
        // state goes with the answers.
        if (answersOnly) {
          answersOnly = false
          continue
        }
      } catch (e) {
        // A reply that cannot cross the wire goes from here (its caller hears why).
        if (NotSerializable.is(e) && onward.length > 0) {
          mine = held
          onward = []
          continue
        }
      }
      if (!runtime.isAlive(this.host.self)) return
      // Backups that changed (the one that failed is down) are tried at once; the same ones
      // after a pause.
      if (sameNodes(this.host.backups(true), chain)) {
        await new Promise<void>((r) => runtime.clock.setTimeout(() => r(), RETRY_MS))
      }
    }
    sent?.()
    this.release(mine)
    const previous = this.last
    if (previous !== undefined && previous.v > v) return
    this.last = { v, bytes, on }
    if (previous !== undefined)
      this.dropOn(
        [...previous.on].filter((n) => !on.has(n)),
        previous.v,
      )
  }

  /**
   * With persist: `state` (or, the first time, the name alone) on disk; a version written
   * already (new backups being filled after a directory change) is not written again.
   */
  private async kept(state: { v: number; bytes: Uint8Array } | undefined): Promise<void> {
    const persist = this.host.persist
    if (persist === undefined) return
    if (state === undefined ? this.onDisk : state.v === this.diskV) return
    await persist.put(state?.v ?? 0, state?.bytes)
    this.onDisk = true
    if (state !== undefined) this.diskV = state.v
  }

  private release(held: Held[]): void {
    answerHeld(this.host.runtime, held)
  }

  private fail(held: Held[], error: unknown): void {
    this.host.logger.error(
      { sworm: this.host.sworm, name: this.host.key.slice(1), err: error },
      'the worker state could not be replicated; its callers get the error',
    )
    const { runtime } = this.host
    for (const h of held) {
      if (h.done !== undefined) h.done(error)
      else runtime.replyError(h.from, error)
    }
  }
}

/** True when two chains of backups name the same nodes in the same order. */
function sameNodes(a: Array<[NodeId, Pid]>, b: Array<[NodeId, Pid]>): boolean {
  return a.length === b.length && a.every(([n, p], i) => b[i]![0] === n && b[i]![1] === p)
}

/** True when two byte arrays hold the same bytes. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0
}
