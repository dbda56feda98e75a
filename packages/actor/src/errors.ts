// Typed errors of @swormjs/actor: each has a stable `name`, a `code`, and a static `is` guard
// that works across copies of the package (it tests a `Symbol.for` brand and the code, not the
// prototype, so a Node system error with a `code` such as `ENOENT` is never taken for ours).

/** Every error code this package raises. */
export const ActorErrorCode = {
  /** A call got no reply within its timeout (`CallTimeout`). */
  CallTimeout: 'CALL_TIMEOUT',
  /** The target process is not alive (`NoProc`). */
  NoProc: 'NO_PROC',
  /** The target process exited before it replied (`Exited`). */
  Exited: 'EXITED',
  /** The target's node went down or was never connected (`NoConnection`). */
  NoConnection: 'NO_CONNECTION',
  /** A pid of another node, and the runtime has no route to it (`UnknownNode`). */
  UnknownNode: 'UNKNOWN_NODE',
  /** A process's `init` threw or rejected (`InitFailed`). */
  InitFailed: 'INIT_FAILED',
  /** A name is already held by another process (`AlreadyRegistered`). */
  AlreadyRegistered: 'ALREADY_REGISTERED',
  /** A string that is not a pid or ref was given where one was required (`InvalidPid`). */
  InvalidPid: 'INVALID_PID',
  /** A supervisor already runs its `maxChildren` (`MaxChildren`). */
  MaxChildren: 'MAX_CHILDREN',
  /** A child id or name that was looked up is not there (`NotFound`). */
  NotFound: 'NOT_FOUND',
  /** The runtime is shut down and starts nothing new (`RuntimeStopped`). */
  RuntimeStopped: 'RUNTIME_STOPPED',
  /** An option, spec or argument has the wrong shape (`BadArgument`). */
  BadArgument: 'BAD_ARGUMENT',
  /** An error from another node that carried no code of its own (`RemoteError`). */
  RemoteError: 'REMOTE_ERROR',
  /** A wait was given up because its `AbortSignal` aborted (`AbortError`). */
  Aborted: 'ABORT_ERR',
} as const
/** One of the `ActorErrorCode` values. */
export type ActorErrorCode = (typeof ActorErrorCode)[keyof typeof ActorErrorCode]

/** The brand every Sworm error carries: one symbol for all copies of the package. */
const kSwormError: unique symbol = Symbol.for('sworm.error') as never

/** Base class of the errors of every Sworm package: a `code` and an optional `cause`. */
export class SwormError extends Error {
  /** The class name, stable across minification: test it, or use the class's `is`. */
  override name = 'SwormError'
  /** A stable, upper-case code such as `NO_PROC`: what to branch on. */
  readonly code: string
  /** @internal The brand `is` tests. */
  readonly [kSwormError] = true
  /** An error with `code` and `message`; `options.cause` becomes `cause`. */
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
  /** Always `'AbortError'`. */
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
  /** The pid (or name) that was called. */
  readonly target: string
  /** The timeout that passed, in ms. */
  readonly timeoutMs: number
  /** Always `'CallTimeout'`. */
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
  /** The pid (or name) that is not alive. */
  readonly target: string
  /** Always `'NoProc'`. */
  override name = 'NoProc'
  /** Always `'noproc'`, the matching exit reason. */
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
  /** The pid of the process that exited. */
  readonly target: string
  /** Its exit reason. */
  readonly reason: unknown
  /** Always `'Exited'`. */
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
  /** The pid whose node was lost. */
  readonly target: string
  /** Always `'NoConnection'`. */
  override name = 'NoConnection'
  /** Always `'noconnection'`, the matching exit reason. */
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
  /** The node id there is no route to. */
  readonly node: string
  /** Always `'UnknownNode'`. */
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
  /** The pid of the process whose `init` failed; it is gone. */
  readonly pid: string
  /** What `init` threw or rejected with (also the `cause`). */
  readonly reason: unknown
  /** Always `'InitFailed'`. */
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
  /** The name that is taken. */
  readonly registeredName: string
  /** The pid that holds it. */
  readonly pid: string
  /** Always `'AlreadyRegistered'`. */
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
  /** The value that is not a pid. */
  readonly value: unknown
  /** Always `'InvalidPid'`. */
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
  /** The supervisor's `maxChildren`. */
  readonly max: number
  /** Always `'MaxChildren'`. */
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
  /** What was looked up, as the message names it. */
  readonly what: string
  /** Always `'NotFound'`. */
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
  /** Always `'RuntimeStopped'`. */
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
  /** Always `'BadArgument'`. */
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
  /** The `code` the error had on its node (`''` if it had none). */
  readonly remoteCode: string
  /** The class name the error had on its node. */
  readonly remoteName: string
  /** Always `'RemoteError'`. */
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
