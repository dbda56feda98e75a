// The registry's public types (options, events, results) and the layout of the entries of a
// node's doc, shared by the parts of the registry.
import type { Pid } from '@swormjs/actor'
import type { Name } from './names.js'

/** Why a name stopped resolving to a process. */
export type UnregisterReason = 'exit' | 'unregister' | 'nodedown' | 'name_conflict'

/** Options of a registry. */
export interface RegistryOptions {
  /** Compact this node's doc once its dead entries pass `max(compactMinDead, live × compactRatio)`. Default 10,000. */
  compactMinDead?: number
  /** Default 1. */
  compactRatio?: number
  /** Drop the replicas of a node that has been down this long (its names are hidden at once). Default 60,000. */
  forgetAfterMs?: number
  /** Timeout of calls to other nodes' registries (remote unregister, `awaitReplication`). Default 5000. */
  callTimeoutMs?: number
  /** Extra entries of this node's `info` for the layers above (say, the pid of a router process), read with `infoOf`. */
  info?: Record<string, unknown>
  /**
   * Runs on the loser's node when a name conflict is settled, after the name resolves to the
   * winner and before the loser is made to exit (sworm hands the loser's state to the winner
   * here). Bounded by `callTimeoutMs`; a failure is logged and the loser exits all the same.
   */
  beforeConflictExit?: (name: Name, loser: Pid, winner: Pid, meta: unknown) => Promise<void>
}

/** Options of `register`. */
export interface RegisterOptions {
  /** Resolve only once every live member that runs this registry has the name. Default false. */
  awaitReplication?: boolean
}

/** One registered name, as `select` returns it. */
export interface Entry {
  /** The registered name. */
  name: Name
  /** The process it resolves to. */
  pid: Pid
  /** The meta it was registered with (or last updated to); `undefined` if none. */
  meta: unknown
}

/** What a member of a group answered to `multiCall`. */
export type MultiCallResult =
  | {
      /** The member that was called. */
      pid: Pid
      /** It replied. */
      ok: true
      /** Its reply. */
      value: unknown
    }
  | {
      /** The member that was called. */
      pid: Pid
      /** The call failed. */
      ok: false
      /** Why: `CallTimeout`, `NoProc`, `Exited`, `NoConnection`, or what it replied with. */
      error: unknown
    }

/** The events of a `Registry`, seen on every node that runs it. */
export interface RegistryEvents extends Record<string, unknown[]> {
  /** `name` now resolves to `pid` on this node, with `meta`. */
  register: [name: Name, pid: Pid, meta: unknown]
  /** `name` no longer resolves to `pid` here, for `reason`. */
  unregister: [name: Name, pid: Pid, reason: UnregisterReason]
}

/** A live entry in a node's doc: the holder, its registration clock (HLC), its meta. */
export interface LiveValue {
  p: Pid
  c: number
  m?: unknown
}
/** A removed entry: why, who, and for conflicts the winner. Kept until compaction. */
export interface Tombstone {
  x: UnregisterReason
  p: Pid
  w?: Pid
}
export type Value = LiveValue | Tombstone

export const isLive = (v: Value | undefined): v is LiveValue => v !== undefined && !('x' in v)

/** Options of `multiCall`. */
export interface MultiCallOptions {
  /** Each member's call gives up after this (default `actorDefaults.callTimeoutMs`). */
  timeoutMs?: number
  /** Gives the whole multiCall up: it rejects with `AbortError`; later replies are dropped. */
  signal?: AbortSignal
}
