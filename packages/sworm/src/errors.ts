// Typed errors of sworm (conventions of @sworm/actor: a code, a name, `is`).
import { hasErrorCode, SwormError } from '@sworm/actor'

/** Every error code this package raises. */
export const SwormErrorCode = {
  ConfigError: 'CONFIG_ERROR',
} as const
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
