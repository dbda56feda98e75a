// The delegate: one per name, supervised by the sworm's distributed supervisor (child id = the
// name's key). It starts the real worker linked to itself, registers the worker under the name,
// and ends with the worker (and the worker with it: they are linked, so the delegate's exit
// reason reaches the worker): a crash is the supervisor's to restart (under the sworm's `restart`
// policy); a lost name conflict ends it for good.
import { Actor, isExitMessage, type Pid } from '@sworm/actor'
import type { Name } from '@sworm/registry'
import { UnknownActorType } from '@sworm/supervisor'
import type { SwormInstance } from './SwormInstance.js'

/** What a delegate is started with: it travels to the node that runs the name. */
export interface DelegateArgs {
  sworm: string
  name: Name
  type: string
  args: unknown
}

/** Finds the node's instance of a sworm (set by `SwormInstance`). */
export type InstanceLookup = (sworm: string) => SwormInstance | undefined

export const INSTANCES = Symbol('sworm.instances')

export class Delegate extends Actor<DelegateArgs> {
  private worker: Pid | undefined

  override async init(a: DelegateArgs): Promise<void> {
    const lookup = this.runtime.services.get(INSTANCES) as InstanceLookup | undefined
    const inst = lookup?.(a.sworm)
    if (inst === undefined) throw new Error(`sworm ${a.sworm} does not run on this node`)
    const Type = inst.actorType(a.type)
    if (Type === undefined) throw new UnknownActorType(a.type)
    this.trapExit = true
    this.worker = await this.start(Type, a.args, { link: true })
    // The name resolves only once the worker runs: registered here, before this init returns,
    // so the caller's reply travels after the registration (read-your-writes on its node).
    await inst.registry.register(a.name, this.worker, { delegate: this.self })
  }

  override handleInfo(msg: unknown): void {
    if (!isExitMessage(msg) || msg.from !== this.worker) return
    const reason = msg.reason
    // A worker that lost a name conflict must not come back: end as a normal shutdown, which
    // no restart policy restarts. Any other end is the worker's, for the policy to judge.
    const lost =
      typeof reason === 'object' &&
      reason !== null &&
      !(reason instanceof Error) &&
      'name_conflict' in reason
    this.stop(lost ? { shutdown: 'name_conflict' } : reason)
  }
}
