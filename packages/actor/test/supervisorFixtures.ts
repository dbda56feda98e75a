// Fixtures of the Supervisor tests: a worker that logs its starts and stops, and helpers to read
// and crash a supervisor's children.
import {
  Actor,
  Supervisor,
  type ChildSpec,
  type ExitReason,
  type Pid,
  type Runtime,
  type SupervisorOptions,
} from '@swormjs/actor'
import { exitOf } from './helpers.js'

export interface WorkerArgs {
  id: string
  log: string[]
  failInit?: boolean
  /** When set, `terminate` awaits it. */
  stopGate?: Promise<void>
}

/** A child that writes its starts and stops to a shared log. */
export class Worker extends Actor<WorkerArgs> {
  private args!: WorkerArgs
  override init(args: WorkerArgs): void {
    this.args = args
    args.log.push(`start ${args.id}`)
    if (args.failInit) throw new Error(`init ${args.id} failed`)
  }
  override handleCall(msg: unknown): unknown {
    if (msg === 'stop') this.stop()
    return this.args.id
  }
  override async terminate(reason: ExitReason): Promise<void> {
    this.args.log.push(`stop ${this.args.id} ${typeof reason === 'string' ? reason : 'error'}`)
    await this.args.stopGate
  }
}

export function worker(
  id: string,
  log: string[],
  extra: Partial<ChildSpec & WorkerArgs> = {},
): ChildSpec {
  const { failInit, stopGate, ...spec } = extra
  const args: WorkerArgs = { id, log }
  if (failInit !== undefined) args.failInit = failInit
  if (stopGate !== undefined) args.stopGate = stopGate
  return { id, actor: Worker, args, ...spec }
}

export async function pidsOf(rt: Runtime, sup: Pid): Promise<Record<string, Pid | undefined>> {
  const children = await Supervisor.whichChildren(rt, sup)
  return Object.fromEntries(children.map((c) => [c.id, c.pid]))
}

/** Ends a child abnormally and waits until it has gone (its EXIT is then in the supervisor's mailbox). */
export async function crash(rt: Runtime, pid: Pid | undefined): Promise<void> {
  if (pid === undefined) throw new Error('no pid to crash')
  const ends = exitOf(rt, pid)
  rt.exit(pid, 'crashed')
  await ends
}

/** A one_for_one supervisor (unless told otherwise) of workers a, b and c. */
export async function startSup(
  rt: Runtime,
  log: string[],
  options: Partial<SupervisorOptions> = {},
): Promise<Pid> {
  return Supervisor.start(rt, {
    children: ['a', 'b', 'c'].map((id) => worker(id, log)),
    ...options,
  })
}
