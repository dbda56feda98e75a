// Typed errors of @swormjs/test: a stable `name`, a `code`, and a static `is` guard that tests the
// code rather than the prototype, so it works across copies of the package.

/** Every error code this package raises. */
export const HarnessErrorCode = {
  /** The child process exited (or was killed) before it answered. */
  ChildExited: 'CHILD_EXITED',
  /** A child replied `{ ok: false, error }` to a request. */
  ChildError: 'CHILD_ERROR',
  /** A bounded wait (ready, request, event) ran out. */
  Timeout: 'TIMEOUT',
  /** The child process could not be started at all. */
  SpawnFailed: 'SPAWN_FAILED',
  /** An argument is out of range or not allowed (for example a host other than 127.0.0.1). */
  BadArgument: 'BAD_ARGUMENT',
} as const
export type HarnessErrorCode = (typeof HarnessErrorCode)[keyof typeof HarnessErrorCode]

const codes: ReadonlySet<unknown> = new Set<unknown>(Object.values(HarnessErrorCode))

/** The one error class of this package; `code` says which failure it is. */
export class HarnessError extends Error {
  override name = 'HarnessError'
  readonly code: HarnessErrorCode
  constructor(code: HarnessErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
  /** True for a `HarnessError` from any copy of the package; with `code`, for that code only. */
  static is(u: unknown, code?: HarnessErrorCode): u is HarnessError {
    if (!(u instanceof Error)) return false
    const actual = (u as { code?: unknown }).code
    return code === undefined ? codes.has(actual) : actual === code
  }
}

/** A child's `{ ok: false }` reply, turned into a rejection of `request`. */
export class ChildRequestError extends HarnessError {
  override name = 'ChildRequestError'
  /** The child's own message, without the prefix naming the child and the op. */
  readonly childMessage: string
  /** The child's error code, when it sent one. */
  readonly childCode: string | undefined
  constructor(child: string, op: string, childMessage: string, childCode: string | undefined) {
    super(HarnessErrorCode.ChildError, `${child}: ${op} failed: ${childMessage}`)
    this.childMessage = childMessage
    this.childCode = childCode
  }
  static override is(u: unknown): u is ChildRequestError {
    return (
      u instanceof Error &&
      (u as { code?: unknown }).code === HarnessErrorCode.ChildError &&
      typeof (u as { childMessage?: unknown }).childMessage === 'string'
    )
  }
}
