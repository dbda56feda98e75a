// The supervisor's process on each node: the parent of the node's children (it traps their
// exits), and the address other nodes call to start, stop or reach a child here. Requests are
// handled one at a time, so two starts of one id on this node never race.
import {
  Actor,
  isExitMessage,
  reasonToWire,
  type ExitReason,
  type From,
  type Pid,
} from '@swormjs/actor'
import { answerCall } from '@swormjs/actor'
import { assertSerializable } from '@swormjs/cluster'
import type { ChildRecord, StartOptions, Started } from './records.js'
import type { StartAnswer, StartItem } from './StartBatches.js'

/** What the supervisor does for its server. */
export interface ServerHost {
  startLocal(spec: ChildRecord, options: StartOptions): Promise<Started>
  terminateLocal(id: string): Promise<boolean>
  execLocal(id: string, fn: string, args: unknown): Promise<unknown>
  /** Those of `ids` that this node sees running on a live member. */
  runningOf(ids: readonly string[]): string[]
  childExited(pid: Pid, reason: ExitReason): Promise<void>
}

export type ServerRequest =
  | ({ op: 'start'; spec: ChildRecord } & StartOptions)
  /**
   * Several starts in one request (`StartBatches`), started in order; answered with each one's
   * outcome, for `budgetMs` at most (the rest answered `again`). A node of an older release
   * answers `undefined`, and is then asked one by one.
   */
  | { op: 'starts'; items: StartItem[]; budgetMs?: number }
  | { op: 'terminate'; id: string }
  | { op: 'exec'; id: string; fn: string; args: unknown }
  /**
   * Which of `ids` this node sees running. A node of an older release answers `undefined` (it
   * knows no such request), which the asker takes as "none".
   */
  | { op: 'running'; ids: string[] }

export class SupervisorServer extends Actor<ServerHost> {
  private host!: ServerHost

  override init(host: ServerHost): void {
    this.host = host
    this.trapExit = true
  }

  override handleCall(msg: ServerRequest, from: From): Promise<unknown> {
    return answerCall(this, from, () => {
      switch (msg.op) {
        case 'start':
          return this.host.startLocal(msg.spec, optionsOf(msg))
        case 'starts':
          return this.startAll(msg.items, msg.budgetMs)
        case 'terminate':
          return this.host.terminateLocal(msg.id)
        case 'exec':
          return this.host.execLocal(msg.id, msg.fn, msg.args)
        case 'running':
          return Promise.resolve(this.host.runningOf(msg.ids))
      }
    })
  }

  /**
   * Starts `items` in order, each as a `start` alone would be, and answers each one's outcome.
   * An answer that could not cross the wire (what a child's `init` returned) fails its own start
   * only, as a reply of its own would: the child runs, its caller gets the error. Once `budgetMs`
   * is spent (children whose `init` is slow), the rest are answered `again`, not started: the
   * answer comes in time for the ones that did start, and the asker sends the rest again.
   */
  private async startAll(
    items: readonly StartItem[],
    budgetMs: number | undefined,
  ): Promise<StartAnswer[]> {
    const clock = this.runtime.clock
    const until = clock.now() + (typeof budgetMs === 'number' ? budgetMs : Infinity)
    const answers: StartAnswer[] = []
    for (const item of items) {
      if (answers.length > 0 && clock.now() >= until) {
        answers.push({ again: true })
        continue
      }
      try {
        const started = await this.host.startLocal(item.spec, optionsOf(item))
        if (started.info !== undefined) assertSerializable(started.info)
        answers.push({ ok: started })
      } catch (e) {
        answers.push({ error: reasonToWire(e) })
      }
    }
    return answers
  }

  override async handleInfo(msg: unknown): Promise<void> {
    if (isExitMessage(msg)) await this.host.childExited(msg.from, msg.reason)
  }
}

/** The options of a start request (only those it carries). */
function optionsOf(msg: StartOptions): StartOptions {
  const options: StartOptions = {}
  if (msg.clock !== undefined) options.clock = msg.clock
  if (msg.handoff !== undefined) options.handoff = msg.handoff
  if (msg.from !== undefined) options.from = msg.from
  if (msg.adopted === true) options.adopted = true
  return options
}
