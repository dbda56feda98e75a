// What runs before a name's worker goes away: a move (the supervisor's `beforeMove` hook) holds
// the name everywhere, then asks the delegate for the worker's state; a lost conflict (the
// registry's `beforeConflictExit` hook) asks it too, and sends the state to the winner; a copy
// moved where the name runs already sends its state to the running one (`mergeState`).
import type { Emitter, Pid, Runtime } from '@swormjs/actor'
import { assertSerializable } from '@swormjs/cluster'
import { decodeName, type Name } from '@swormjs/registry'
import { delegateOf, PrepareMove, type HandoffPayload } from '../Delegate.js'
import type { SwormEvents } from '../events.js'

/** What the preparation of a lost conflict's merge needs of its sworm instance. */
export interface PrepareHost {
  /** The sworm's name, for logs. */
  readonly sworm: string
  readonly runtime: Runtime
  /** Whether the worker's state goes along (the sworm's `handoff` option). */
  readonly handoff: boolean
  /** How long a delegate may take to answer `PrepareMove` (`prepareAnswerMs`). */
  readonly answerMs: number
  readonly events: Pick<Emitter<SwormEvents>, 'emit'>
}

/** What the preparation of a move needs: that, and the fence. */
export interface MoveHost extends PrepareHost {
  /** Holds the name on every node running the sworm (`Fence.raise`). */
  fence(key: string, delegate: Pid): Promise<void>
}

/**
 * Before a name moves away from this node: hold it on every node (so that nothing more is
 * sent to its delegate), then ask the worker for its state, which follows everything sent
 * before the hold. The supervisor hands the payload to the name's next node.
 */
export async function prepareMove(
  host: MoveHost,
  key: string,
  delegate: Pid,
): Promise<HandoffPayload | undefined> {
  await host.fence(key, delegate)
  const logger = host.runtime.logger
  let payload: HandoffPayload
  try {
    payload = await askDelegate(host, delegate, host.handoff)
  } catch (e) {
    logger.warn(
      { sworm: host.sworm, name: key.slice(1), err: e },
      'the delegate did not prepare the move; the name moves without state',
    )
    return undefined
  }
  if (payload.state !== undefined) {
    try {
      assertSerializable(payload.state.value)
    } catch (e) {
      logger.error(
        { sworm: host.sworm, name: key.slice(1), err: e },
        'the handed-over state cannot cross the wire; the name moves without it',
      )
      payload = { groups: payload.groups }
    }
  }
  host.events.emit('handoff', decodeName(key), payload.state !== undefined)
  return payload
}

/**
 * A worker of this node lost `name` to `winner`: with handoff on, its state goes to the
 * winner (`sworm:resolve_conflict`) before it stops.
 */
export async function mergeConflict(
  host: PrepareHost,
  name: Name,
  loser: Pid,
  winner: Pid,
  meta: unknown,
): Promise<void> {
  const delegate = delegateOf(meta)
  let merged = false
  if (host.handoff && delegate !== undefined && host.runtime.isAlive(delegate)) {
    const payload = await askDelegate(host, delegate, true, 'conflict')
    if (payload.state !== undefined) {
      assertSerializable(payload.state.value)
      host.runtime.send(winner, { type: 'sworm:resolve_conflict', state: payload.state.value })
      merged = true
    }
  }
  host.events.emit('conflict', name, loser, winner, merged)
}

/**
 * A copy of a name was moved (with its state) to this node, which runs the name already: the
 * two met after a split, and the copy that stopped hands its state to the one that runs.
 */
export function mergeMovedCopy(
  host: PrepareHost,
  key: string,
  delegate: Pid,
  handoff: unknown,
): void {
  const state = (handoff as HandoffPayload | undefined)?.state
  if (host.handoff && state !== undefined) mergeState(host, key, delegate, state.value)
}

/**
 * Hands the state of a copy of a name that cannot run (another one does) to the running one, as
 * the loser of a conflict does (`sworm:resolve_conflict`). It goes through the running delegate,
 * which passes it to its worker behind what it passed before, or holds it if the name moves.
 */
export function mergeState(host: PrepareHost, key: string, delegate: Pid, state: unknown): void {
  host.runtime.send(delegate, { type: 'sworm:resolve_conflict', state })
  host.runtime.logger.info(
    { sworm: host.sworm, name: key.slice(1), delegate },
    'a moved copy met the running name: its state goes to the running worker',
  )
}

/**
 * Asks a delegate of this node to stop passing messages on and (`withState`) to get its
 * worker's state; its own bound on the worker's answer, `handoffTimeoutMs`, comes first.
 */
function askDelegate(
  host: PrepareHost,
  delegate: Pid,
  withState: boolean,
  why: PrepareMove['why'] = 'move',
): Promise<HandoffPayload> {
  return host.runtime.call<HandoffPayload>(delegate, new PrepareMove(withState, why), {
    timeoutMs: host.answerMs,
  })
}
