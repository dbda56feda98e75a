// The supervisor's process on each node: the parent of the node's children (it traps their
// exits), and the address other nodes call to start, stop or reach a child here. Requests are
// handled one at a time, so two starts of one id on this node never race.
import { Actor, isExitMessage, type ExitReason, type From, type Pid } from '@swormjs/actor'
import { answerCall } from '@swormjs/actor'
import type { ChildRecord, StartOptions, Started } from './records.js'

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
        case 'start': {
          const options: StartOptions = {}
          if (msg.clock !== undefined) options.clock = msg.clock
          if (msg.handoff !== undefined) options.handoff = msg.handoff
          if (msg.from !== undefined) options.from = msg.from
          if (msg.adopted === true) options.adopted = true
          return this.host.startLocal(msg.spec, options)
        }
        case 'terminate':
          return this.host.terminateLocal(msg.id)
        case 'exec':
          return this.host.execLocal(msg.id, msg.fn, msg.args)
        case 'running':
          return Promise.resolve(this.host.runningOf(msg.ids))
      }
    })
  }

  override async handleInfo(msg: unknown): Promise<void> {
    if (isExitMessage(msg)) await this.host.childExited(msg.from, msg.reason)
  }
}
