// Typed errors of @swormjs/actor: each has a stable `name`, a `code`, and a static `is` guard
// that works across copies of the package (it tests a `Symbol.for` brand and the code, not the
// prototype, so a Node system error with a `code` such as `ENOENT` is never taken for ours).

/** Every error code this package raises. */
export const ActorErrorCode = {
  CallTimeout: 'CALL_TIMEOUT',
  NoProc: 'NO_PROC',
  Exited: 'EXITED',
  NoConnection: 'NO_CONNECTION',
  UnknownNode: 'UNKNOWN_NODE',
  InitFailed: 'INIT_FAILED',
  AlreadyRegistered: 'ALREADY_REGISTERED',
  InvalidPid: 'INVALID_PID',
  MaxChildren: 'MAX_CHILDREN',
  NotFound: 'NOT_FOUND',
  RuntimeStopped: 'RUNTIME_STOPPED',
  BadArgument: 'BAD_ARGUMENT',
  RemoteError: 'REMOTE_ERROR',
  Aborted: 'ABORT_ERR',
} as const
export type ActorErrorCode = (typeof ActorErrorCode)[keyof typeof ActorErrorCode]

/** The brand every Sworm error carries: one symbol for all copies of the package. */
const kSwormError: unique symbol = Symbol.for('sworm.error') as never

/** Base class of the errors of every Sworm package: a `code` and an optional `cause`. */
export class SwormError extends Error {
  override name = 'SwormError'
  readonly code: string
  /** @internal The brand `is` tests. */
  readonly [kSwormError] = true
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
  /** True for any Sworm error, from any copy of the package. */
  static is(u: unknown): u is SwormError {
    return (
      typeof u === 'object' &&
      u !== null &&
      (u as { [kSwormError]?: unknown })[kSwormError] === true &&
      typeof (u as { code?: unknown }).code === 'string'
    )
  }
}

/** True when `u` is a Sworm error carrying `code`: the guard behind every `is`, across package copies. */
export function hasErrorCode(u: unknown, code: string): boolean {
  return SwormError.is(u) && u.code === code
}

/**
 * What was waited for was given up because its `signal` aborted: named `AbortError`, as Node's
 * own are, with code `ABORT_ERR`; its `cause` is the signal's reason.
 */
export class AbortError extends SwormError {
  override name = 'AbortError'
  constructor(what: string, signal: AbortSignal) {
    super(ActorErrorCode.Aborted, `${what} aborted`, { cause: signal.reason })
  }
  static override is(u: unknown): u is AbortError {
    return hasErrorCode(u, ActorErrorCode.Aborted)
  }
}

/**
 * `p`, or an `AbortError` (naming `what`) as soon as `signal` aborts: the work `p` stands for
 * goes on, only the wait is given up. `p` itself when there is no signal.
 */
export function abortable<T>(
  p: Promise<T>,
  signal: AbortSignal | undefined,
  what: string,
): Promise<T> {
  if (signal === undefined) return p
  if (signal.aborted) {
    // What `p` ends with is nobody's concern now, but must not go unhandled.
    p.catch(() => undefined)
    return Promise.reject(new AbortError(what, signal))
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new AbortError(what, signal))
    signal.addEventListener('abort', onAbort, { once: true })
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort)
        resolve(v)
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort)
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passed on as it came
        reject(e)
      },
    )
  })
}

/** A `call` got no reply within its timeout. */
export class CallTimeout extends SwormError {
  readonly target: string
  readonly timeoutMs: number
  override name = 'CallTimeout'
  constructor(target: string, timeoutMs: number) {
    super(ActorErrorCode.CallTimeout, `call to ${target} timed out after ${timeoutMs} ms`)
    this.target = target
    this.timeoutMs = timeoutMs
  }
  static override is(u: unknown): u is CallTimeout {
    return hasErrorCode(u, ActorErrorCode.CallTimeout)
  }
}

/** The target process does not exist (never did, or has exited). */
export class NoProc extends SwormError {
  readonly target: string
  override name = 'NoProc'
  readonly reason = 'noproc'
  constructor(target: string) {
    super(ActorErrorCode.NoProc, `no process ${target}`)
    this.target = target
  }
  static override is(u: unknown): u is NoProc {
    return hasErrorCode(u, ActorErrorCode.NoProc)
  }
}

/** The target process exited before it replied; `reason` is its exit reason. */
export class Exited extends SwormError {
  readonly target: string
  readonly reason: unknown
  override name = 'Exited'
  constructor(target: string, reason: unknown) {
    super(ActorErrorCode.Exited, `process ${target} exited: ${describeReason(reason)}`, {
      cause: reason instanceof Error ? reason : undefined,
    })
    this.target = target
    this.reason = reason
  }
  static override is(u: unknown): u is Exited {
    return hasErrorCode(u, ActorErrorCode.Exited)
  }
}

/** The node of the target went down (or was never connected) before a reply came. */
export class NoConnection extends SwormError {
  readonly target: string
  override name = 'NoConnection'
  readonly reason = 'noconnection'
  constructor(target: string) {
    super(ActorErrorCode.NoConnection, `lost the connection to the node of ${target}`)
    this.target = target
  }
  static override is(u: unknown): u is NoConnection {
    return hasErrorCode(u, ActorErrorCode.NoConnection)
  }
}

/** A pid of another node, and this runtime has no route to it. */
export class UnknownNode extends SwormError {
  readonly node: string
  override name = 'UnknownNode'
  constructor(node: string) {
    super(ActorErrorCode.UnknownNode, `no route to node ${node}`)
    this.node = node
  }
  static override is(u: unknown): u is UnknownNode {
    return hasErrorCode(u, ActorErrorCode.UnknownNode)
  }
}

/** A process's `init` threw or rejected; `cause` is what it threw. */
export class InitFailed extends SwormError {
  readonly pid: string
  readonly reason: unknown
  override name = 'InitFailed'
  constructor(pid: string, reason: unknown) {
    super(ActorErrorCode.InitFailed, `init of ${pid} failed: ${describeReason(reason)}`, {
      cause: reason,
    })
    this.pid = pid
    this.reason = reason
  }
  static override is(u: unknown): u is InitFailed {
    return hasErrorCode(u, ActorErrorCode.InitFailed)
  }
}

/** A name is already held; `pid` is the holder. */
export class AlreadyRegistered extends SwormError {
  readonly registeredName: string
  readonly pid: string
  override name = 'AlreadyRegistered'
  constructor(registeredName: string, pid: string) {
    super(ActorErrorCode.AlreadyRegistered, `${registeredName} is already registered to ${pid}`)
    this.registeredName = registeredName
    this.pid = pid
  }
  static override is(u: unknown): u is AlreadyRegistered {
    return hasErrorCode(u, ActorErrorCode.AlreadyRegistered)
  }
}

/** A string that is not a pid (or ref) was given where one was required. */
export class InvalidPid extends SwormError {
  readonly value: unknown
  override name = 'InvalidPid'
  constructor(value: unknown) {
    super(ActorErrorCode.InvalidPid, `not a pid: ${String(value)}`)
    this.value = value
  }
  static override is(u: unknown): u is InvalidPid {
    return hasErrorCode(u, ActorErrorCode.InvalidPid)
  }
}

/** A dynamic supervisor is at its `maxChildren`. */
export class MaxChildren extends SwormError {
  readonly max: number
  override name = 'MaxChildren'
  constructor(max: number) {
    super(ActorErrorCode.MaxChildren, `the supervisor already runs its maximum of ${max} children`)
    this.max = max
  }
  static override is(u: unknown): u is MaxChildren {
    return hasErrorCode(u, ActorErrorCode.MaxChildren)
  }
}

/** Something looked up by id or name is not there. */
export class NotFound extends SwormError {
  readonly what: string
  override name = 'NotFound'
  constructor(what: string) {
    super(ActorErrorCode.NotFound, `not found: ${what}`)
    this.what = what
  }
  static override is(u: unknown): u is NotFound {
    return hasErrorCode(u, ActorErrorCode.NotFound)
  }
}

/** The runtime was shut down; no new process may start. */
export class RuntimeStopped extends SwormError {
  override name = 'RuntimeStopped'
  constructor() {
    super(ActorErrorCode.RuntimeStopped, 'the runtime is stopped')
  }
  static override is(u: unknown): u is RuntimeStopped {
    return hasErrorCode(u, ActorErrorCode.RuntimeStopped)
  }
}

/** An argument of the wrong shape (a bad option, a bad spec). */
export class BadArgument extends SwormError {
  override name = 'BadArgument'
  constructor(message: string) {
    super(ActorErrorCode.BadArgument, message)
  }
  static override is(u: unknown): u is BadArgument {
    return hasErrorCode(u, ActorErrorCode.BadArgument)
  }
}

/**
 * An error that happened on another node and crossed the wire as `{ code, message }`
 * (never a stack). `remoteName` is the class name it had there.
 */
export class RemoteError extends SwormError {
  readonly remoteCode: string
  readonly remoteName: string
  override name = 'RemoteError'
  constructor(remoteCode: string, message: string, remoteName: string) {
    super(remoteCode || ActorErrorCode.RemoteError, message)
    this.remoteCode = remoteCode
    this.remoteName = remoteName
  }
  static override is(u: unknown): u is RemoteError {
    return u instanceof Error && u.name === 'RemoteError'
  }
}

/** A short human description of an exit reason, for messages and logs. */
export function describeReason(reason: unknown): string {
  if (reason instanceof Error) return `${reason.name}: ${reason.message}`
  if (typeof reason === 'string') return reason
  try {
    return JSON.stringify(reason) ?? String(reason)
  } catch {
    return String(reason)
  }
}
