// Settling a name conflict this node lost (the winner rule itself is `beats`, applied by
// `Replicas`): the winner's node confirms it holds the name, this node's entry becomes a
// tombstone naming the winner, `beforeConflictExit` runs, and the loser exits.
import { withTimeout, type Clock, type ExitReason, type Logger, type Pid } from '@swormjs/actor'
import { decodeName, describeName } from './names.js'
import type { RegistryOptions } from './types.js'

/** What settling a conflict needs from the registry. */
export interface ConflictHost {
  /** The registry's name, for logs. */
  readonly registry: string
  readonly logger: Logger
  readonly clock: Clock
  /** Bound of the hook. */
  readonly callTimeoutMs: number
  readonly beforeConflictExit: RegistryOptions['beforeConflictExit']
  /** True while the registry runs, this node's entry for `key` is `loser`'s, and `key` resolves to `winner`. */
  stillLoses(key: string, loser: Pid, winner: Pid): boolean
  /** Asks the winner's node whether `winner` holds `key` there; undefined when it cannot be asked. */
  askHolds(key: string, winner: Pid): Promise<boolean> | undefined
  /** Replaces this node's entry for `key` by a tombstone naming `winner`; returns its meta. */
  tombstone(key: string, winner: Pid): unknown
  exit(pid: Pid, reason: ExitReason): void
}

/**
 * This node's entry for `key`, held by `loser`, lost to `winner`. Settled after the recompute
 * that found it (a microtask later), once the winner's node confirms: our replica of the
 * winner's doc may lag behind its owner (just after a partition heals, the node is up again
 * before its updates arrive, and a winner that exited meanwhile still looks live). The owner is
 * the only writer of its entry; if it does not confirm, the update on its way recomputes the key.
 */
export function loseConflict(host: ConflictHost, key: string, loser: Pid, winner: Pid): void {
  queueMicrotask(() => confirm(host, key, loser, winner))
}

function confirm(host: ConflictHost, key: string, loser: Pid, winner: Pid): void {
  if (!host.stillLoses(key, loser, winner)) return
  const holds = host.askHolds(key, winner)
  if (holds === undefined) return
  holds.then(
    (yes) => {
      if (yes && host.stillLoses(key, loser, winner)) settle(host, key, loser, winner)
    },
    (err: unknown) =>
      host.logger.warn(
        { err, registry: host.registry, name: describeName(decodeName(key)), loser, winner },
        'name conflict: could not confirm the winner with its node; the loser keeps running',
      ),
  )
}

function settle(host: ConflictHost, key: string, loser: Pid, winner: Pid): void {
  const meta = host.tombstone(key, winner)
  const name = decodeName(key)
  host.logger.info(
    { registry: host.registry, name: describeName(name), loser, winner },
    'name conflict: the later registration exits',
  )
  const reason: ExitReason = { name_conflict: winner }
  const hook = host.beforeConflictExit
  if (hook === undefined) {
    host.exit(loser, reason)
    return
  }
  withTimeout(host.clock, hook(name, loser, winner, meta), host.callTimeoutMs, 'the conflict hook')
    .catch((err: unknown) =>
      host.logger.warn(
        { err, registry: host.registry, name: describeName(name), loser, winner },
        'name conflict: the hook failed; the loser exits all the same',
      ),
    )
    .finally(() => host.exit(loser, reason))
}
