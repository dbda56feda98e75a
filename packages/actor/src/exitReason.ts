// Exit reasons, Erlang's way: strings for the well-known ones, objects for structured ones,
// `Error`s for crashes; and their wire form (an error crosses as `{ code, message }`).
import type { Pid } from './Pid.js'
import { RemoteError } from './errors.js'

/** Why a process ended. `kill` is only ever sent; the process then ends with `killed`. */
export type ExitReason =
  | 'normal'
  | 'shutdown'
  | 'kill'
  | 'killed'
  | 'noproc'
  | 'noconnection'
  | 'name_conflict'
  | {
      /** A shutdown with a detail, such as `'duplicate'`: counts as a normal exit. */
      readonly shutdown: unknown
    }
  | {
      /** Lost a registered name to this pid. */
      readonly name_conflict: Pid
    }
  | Error
  | (string & {})
  | { readonly [key: string]: unknown }

/** `normal`, `shutdown` and `{ shutdown: x }`: ends a `transient` child for good, no crash report. */
export function isNormalExit(reason: unknown): boolean {
  return (
    reason === 'normal' ||
    reason === 'shutdown' ||
    (typeof reason === 'object' &&
      reason !== null &&
      !(reason instanceof Error) &&
      'shutdown' in reason)
  )
}

/** The wire form of a reason: plain data, an error as `{ $error: { code, name, message } }`. */
export function reasonToWire(reason: unknown): unknown {
  if (reason instanceof Error) {
    const code = (reason as { code?: unknown }).code
    const wire: { code: string; name: string; message: string; data?: Record<string, unknown> } = {
      code: typeof code === 'string' ? code : '',
      name: reason.name,
      message: reason.message,
    }
    // The error's own plain fields (a holder's pid, a timeout) travel too: never its stack or cause.
    const data: Record<string, unknown> = {}
    let any = false
    for (const [k, v] of Object.entries(reason)) {
      if (k === 'code' || k === 'name' || k === 'message' || k === 'stack' || k === 'cause')
        continue
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
        data[k] = v
        any = true
      }
    }
    if (any) wire.data = data
    return { $error: wire }
  }
  return reason
}

/** Inverse of `reasonToWire`: an error comes back as a `RemoteError`. */
export function reasonFromWire(wire: unknown): ExitReason {
  if (typeof wire === 'object' && wire !== null && '$error' in wire) {
    const e = (
      wire as {
        $error: { code?: string; name?: string; message?: string; data?: Record<string, unknown> }
      }
    ).$error
    const err = new RemoteError(e.code ?? '', e.message ?? '', e.name ?? 'Error')
    if (typeof e.data === 'object' && e.data !== null) {
      for (const [k, v] of Object.entries(e.data)) {
        if (!(k in err)) (err as unknown as Record<string, unknown>)[k] = v
      }
    }
    return err
  }
  return wire as ExitReason
}

/** The `x` of `{ shutdown: x }`, or undefined for any other reason. */
export function shutdownOf(reason: unknown): unknown {
  if (typeof reason !== 'object' || reason === null || reason instanceof Error) return undefined
  return (reason as { shutdown?: unknown }).shutdown
}

/**
 * The reason a registry gives the loser of a name conflict: `'name_conflict'`, or
 * `{ name_conflict: winner }`.
 */
export function isNameConflictExit(reason: unknown): boolean {
  if (reason === 'name_conflict') return true
  return (
    typeof reason === 'object' &&
    reason !== null &&
    !(reason instanceof Error) &&
    'name_conflict' in reason
  )
}

/**
 * A supervised child that ended because another copy of it won (`{ shutdown: 'duplicate' }`
 * after a split, or `{ shutdown: 'name_conflict' }` for a lost name): never restarted, whatever
 * its policy, since a restart would only lose again.
 */
export function lostToACopy(reason: unknown): boolean {
  const shutdown = shutdownOf(reason)
  return shutdown === 'duplicate' || shutdown === 'name_conflict'
}
