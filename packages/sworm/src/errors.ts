// Typed errors of sworm (conventions of @swormjs/actor: a code, a name, `is`).
import { hasErrorCode, SwormError } from '@swormjs/actor'

/** Every error code this package raises. */
export const SwormErrorCode = {
  /** At startup: a sworm's options or the config file are wrong. */
  ConfigError: 'CONFIG_ERROR',
  /** A static call with no node started, or several and no process context to choose one. */
  NoNodeContext: 'NO_NODE_CONTEXT',
  /** A call bound to a node that does not run the sworm. */
  SwormNotRunning: 'SWORM_NOT_RUNNING',
  /** A worker's state, encoded, is over `maxStateBytes` and cannot be replicated. */
  StateTooLarge: 'STATE_TOO_LARGE',
  /** At startup: a `persist` file is damaged before its last record. */
  PersistCorrupt: 'PERSIST_CORRUPT',
} as const
/** One of the `SwormErrorCode` values. */
export type SwormErrorCode = (typeof SwormErrorCode)[keyof typeof SwormErrorCode]

/**
 * A sworm's options (its `static options` or its entry in the config file) or the config file
 * itself are wrong: raised at startup. The message names the file or class, the key, what was
 * expected and what was found.
 */
export class ConfigError extends SwormError {
  override name = 'ConfigError'
  constructor(message: string, options?: { cause?: unknown }) {
    super(SwormErrorCode.ConfigError, message, options)
  }
  static override is(u: unknown): u is ConfigError {
    return hasErrorCode(u, SwormErrorCode.ConfigError)
  }
}

/** No node to bind a static call to, or several and no process context to choose. */
export class NoNodeContext extends SwormError {
  override name = 'NoNodeContext'
  constructor(detail: string) {
    super(SwormErrorCode.NoNodeContext, detail)
  }
  static override is(u: unknown): u is NoNodeContext {
    return hasErrorCode(u, SwormErrorCode.NoNodeContext)
  }
}

/** The sworm does not run on the node the call is bound to. */
export class SwormNotRunning extends SwormError {
  override name = 'SwormNotRunning'
  constructor(sworm: string, node: string) {
    super(
      SwormErrorCode.SwormNotRunning,
      `sworm ${sworm} does not run on node ${node}: start it there (children: [${sworm}])`,
    )
  }
  static override is(u: unknown): u is SwormNotRunning {
    return hasErrorCode(u, SwormErrorCode.SwormNotRunning)
  }
}

/**
 * A worker's state, encoded, is larger than the sworm's `maxStateBytes`: it is not replicated,
 * and the callers whose replies waited for it get this error.
 */
export class StateTooLarge extends SwormError {
  override name = 'StateTooLarge'
  /** The state's size, encoded, in bytes. */
  readonly bytes: number
  /** The sworm's `maxStateBytes`. */
  readonly maxBytes: number
  constructor(sworm: string, name: string, bytes: number, maxBytes: number) {
    super(
      SwormErrorCode.StateTooLarge,
      `sworm ${sworm}: the state of ${name} is ${bytes} bytes encoded, over maxStateBytes (${maxBytes})`,
    )
    this.bytes = bytes
    this.maxBytes = maxBytes
  }
  static override is(u: unknown): u is StateTooLarge {
    return hasErrorCode(u, SwormErrorCode.StateTooLarge)
  }
}

/**
 * A `persist` file is damaged other than in its last record (a torn write, which is skipped):
 * the node does not start. The message names the file and the offset of the damage.
 */
export class PersistCorrupt extends SwormError {
  override name = 'PersistCorrupt'
  /** The damaged file's path. */
  readonly file: string
  /** The byte offset of the damage. */
  readonly offset: number
  constructor(file: string, offset: number, what: string) {
    super(
      SwormErrorCode.PersistCorrupt,
      `${file}: damaged at byte ${offset}: ${what}; move the file aside to start without it`,
    )
    this.file = file
    this.offset = offset
  }
  static override is(u: unknown): u is PersistCorrupt {
    return hasErrorCode(u, SwormErrorCode.PersistCorrupt)
  }
}
