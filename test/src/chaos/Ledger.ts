// The ledger of a chaos run: every call the clients made, as the nodes printed it (`c` when it
// left, `r` when it ended), and the nodes' own events. It counts, per counter, the increments
// sent and those acknowledged, and holds each call to its promise: an answer (a count) or a
// typed error, within its timeout plus a slack.
import type { ChildEvent } from '../ProcessHarness.js'
import type { Violation } from './violations.js'

/** Options of a {@link Ledger}. */
export interface LedgerOptions {
  /** Each call's timeout. */
  readonly timeoutMs: number
  /** What a call may take past its timeout (timers and event loops on a loaded machine). */
  readonly slackMs: number
  /** The node's name for a slot, in violations. */
  readonly nodeName: (slot: number) => string
  /** Where violations go. */
  readonly report: (violation: Omit<Violation, 'step'>) => void
}

/** A node declared down, as the node that judged printed it. */
export interface DownEvent {
  /** Who judged: the slot and its incarnation. */
  readonly slot: number
  readonly incarnation: number
  /** The node id declared down, and why (`closed`, `timeout`, `leave`). */
  readonly id: string
  readonly reason: string
  readonly at: number
}

interface Pending {
  readonly name: string
  readonly t: number
}

/** While a slot's process was stopped (SIGSTOP): its own calls cannot keep time then. */
interface PauseWindow {
  readonly slot: number
  readonly from: number
  readonly to: number
}

/** After SIGCONT, a resumed client needs a moment to run the timers that came due meanwhile. */
const RESUME_MARGIN_MS = 1000

export class Ledger {
  readonly #options: LedgerOptions
  /** Increments sent to each name, ever (an upper bound of its count). */
  readonly #sent = new Map<string, number>()
  /** Increments acknowledged for each name since the last `takeAcked`. */
  #acked = new Map<string, number>()
  /** Calls that left and have not ended, by `slot/incarnation/k`. */
  readonly #pending = new Map<string, Pending>()
  readonly #pauses: PauseWindow[] = []
  readonly downs: DownEvent[] = []
  /** Diagnostics worth a log line: conflicts merged without state, moves without state. */
  readonly notes: string[] = []
  /** Conflicts lost (one per loser), and names handed over, as the nodes reported them. */
  conflicts = 0
  handoffs = 0
  /** The longest a call took (answer or error), its client not paused meanwhile. */
  slowestCallMs = 0
  callsOk = 0
  callsFailed = 0
  readonly failedByCode = new Map<string, number>()

  constructor(options: LedgerOptions) {
    this.#options = options
  }

  /** Takes what node `slot` (in its `incarnation`) printed. */
  accept(slot: number, incarnation: number, events: readonly ChildEvent[]): void {
    for (const e of events) {
      switch (e.event) {
        case 'c':
          this.#left(slot, incarnation, e)
          break
        case 'r':
          this.#ended(slot, incarnation, e)
          break
        case 'nodeDown':
          this.downs.push({
            slot,
            incarnation,
            id: String(e['id']),
            reason: String(e['reason']),
            at: Number(e['at']),
          })
          break
        case 'conflict':
          this.conflicts++
          if (e['merged'] !== true) {
            this.notes.push(
              `${this.#options.nodeName(slot)}: ${String(e['name'])} lost a conflict to ` +
                `${String(e['winner'])} without handing its state over`,
            )
          }
          break
        case 'handoff':
          this.handoffs++
          if (e['withState'] !== true) {
            this.notes.push(
              `${this.#options.nodeName(slot)}: ${String(e['name'])} moved without state`,
            )
          }
          break
        default:
          break
      }
    }
  }

  /** Records that `slot` was stopped from `from` to `to` (ms since the epoch). */
  paused(slot: number, from: number, to: number): void {
    this.#pauses.push({ slot, from, to })
  }

  /** Increments sent to `name` so far, acknowledged or not: no count may exceed it. */
  sent(name: string): number {
    return this.#sent.get(name) ?? 0
  }

  /** The increments acknowledged per name since the last call, and starts counting afresh. */
  takeAcked(): ReadonlyMap<string, number> {
    const acked = this.#acked
    this.#acked = new Map()
    return acked
  }

  /**
   * Calls of `slot`'s `incarnation` that never ended. `live`: the client is alive and said all
   * its calls ended, so each is a violation; otherwise the process died with them (exempt).
   */
  closeIncarnation(slot: number, incarnation: number, live: boolean): void {
    const prefix = `${slot}/${incarnation}/`
    for (const [key, call] of this.#pending) {
      if (!key.startsWith(prefix)) continue
      this.#pending.delete(key)
      if (live) {
        this.#options.report({
          kind: 'unansweredCall',
          detail: `${this.#options.nodeName(slot)}: inc ${call.name} sent at ${call.t} never ended`,
        })
      }
    }
  }

  #left(slot: number, incarnation: number, e: ChildEvent): void {
    const name = String(e['name'])
    this.#sent.set(name, this.sent(name) + 1)
    this.#pending.set(`${slot}/${incarnation}/${String(e['k'])}`, { name, t: Number(e['t']) })
  }

  #ended(slot: number, incarnation: number, e: ChildEvent): void {
    const key = `${slot}/${incarnation}/${String(e['k'])}`
    const call = this.#pending.get(key)
    if (call === undefined) return
    this.#pending.delete(key)
    const node = this.#options.nodeName(slot)
    const ms = Number(e['ms'])
    const what = `${node}: inc ${call.name} sent at ${call.t}`
    if (!this.#wasPaused(slot, call.t, call.t + ms)) {
      this.slowestCallMs = Math.max(this.slowestCallMs, ms)
      const bound = this.#options.timeoutMs + this.#options.slackMs
      if (ms > bound) {
        this.#options.report({
          kind: 'lateCall',
          detail: `${what} ended after ${ms} ms (> ${bound})`,
        })
      }
    }
    if ('v' in e) {
      this.callsOk++
      this.#acked.set(call.name, (this.#acked.get(call.name) ?? 0) + 1)
      if (typeof e['v'] !== 'number' || !Number.isInteger(e['v'])) {
        this.#options.report({
          kind: 'badAnswer',
          detail: `${what} answered ${JSON.stringify(e['v'])}`,
        })
      }
      return
    }
    this.callsFailed++
    const code = typeof e['code'] === 'string' ? e['code'] : undefined
    this.failedByCode.set(code ?? '(none)', (this.failedByCode.get(code ?? '(none)') ?? 0) + 1)
    if (code === undefined) {
      this.#options.report({ kind: 'untypedError', detail: `${what} failed: ${String(e['err'])}` })
    }
  }

  #wasPaused(slot: number, from: number, to: number): boolean {
    return this.#pauses.some(
      (p) => p.slot === slot && from < p.to + RESUME_MARGIN_MS && to > p.from,
    )
  }
}
