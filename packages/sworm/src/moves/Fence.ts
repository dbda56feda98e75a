// The fence of a move: before a name moves away from this node, every other node running the
// sworm holds it, so that nothing more is sent to its delegate. Holds asked for in one turn of
// the event loop (a node leaving moves all its names at once) travel together.
import type { NodeId, Pid, Runtime } from '@swormjs/actor'
import type { HoldRequest } from './Holds.js'

/** What the fence needs of its sworm instance. */
export interface FenceHost {
  /** The sworm's name, for logs. */
  readonly sworm: string
  readonly runtime: Runtime
  /** Holds a name on this node (`Holds.hold`). */
  hold(key: string, delegate: Pid): void
  /** The other nodes' routers, by node: those up that run the sworm (the registry's `info`). */
  routers(): Array<[NodeId, Pid]>
  /** How long a node may take to confirm a hold (`holdConfirmMs`). */
  readonly confirmMs: number
}

/** Hold requests carry at most this many names each. */
const HOLD_BATCH = 2000

export class Fence {
  private readonly host: FenceHost
  /** The names asked for in this turn, and the promise of their round. */
  private batch: { items: Array<[string, Pid]>; done: Promise<void> } | undefined

  constructor(host: FenceHost) {
    this.host = host
  }

  /**
   * Holds `key` here and asks every other node running this sworm to hold it: their answers
   * come back behind whatever they sent to `delegate` before. Resolves once all have answered
   * or timed out.
   */
  raise(key: string, delegate: Pid): Promise<void> {
    this.host.hold(key, delegate)
    if (this.batch === undefined) {
      const items: Array<[string, Pid]> = []
      const done = new Promise<void>((resolve) =>
        setImmediate(() => {
          this.batch = undefined
          this.askHolds(items).then(resolve, resolve)
        }),
      )
      this.batch = { items, done }
    }
    this.batch.items.push([key, delegate])
    return this.batch.done
  }

  private async askHolds(items: Array<[string, Pid]>): Promise<void> {
    const { runtime, sworm, confirmMs } = this.host
    const calls: Array<Promise<unknown>> = []
    for (const [node, router] of this.host.routers()) {
      for (let i = 0; i < items.length; i += HOLD_BATCH) {
        const request: HoldRequest = { op: 'hold', items: items.slice(i, i + HOLD_BATCH) }
        calls.push(
          runtime.call(router, request, { timeoutMs: confirmMs }).catch((err: unknown) => {
            // A node that cannot answer (down, cut off) is not waited for: what it sends to
            // the moving names may be lost, as with any message to a node that is going.
            runtime.logger.warn(
              { sworm, peer: node, err },
              'a node did not confirm the hold of moving names',
            )
          }),
        )
      }
    }
    await Promise.all(calls)
  }
}
