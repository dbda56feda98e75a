// What the compiler knows of a worker type: the args its `init` takes, and the messages and
// replies of its `handleCall`, `handleCast` and `handleInfo`, for `registerName` and `ref`.
import type { ActorClassLike, CallOptions, NoReply, Pid } from '@swormjs/actor'
import type { Name } from '@swormjs/registry'

/** Any worker class. */
export type WorkerClass = ActorClassLike<never>

/** The instance of worker class `T`. */
export type InstanceOf<T> = T extends new () => infer I ? I : never

/** The args the `init` of worker class `T` takes (`void` when it declares none). */
export type InitArgs<T> =
  InstanceOf<T> extends {
    /** The worker's `init`, whose first parameter is inferred. */
    init?: (args: infer A, ...rest: never[]) => unknown
  }
    ? A
    : void

/** Options of `registerName` and `whereisOrRegisterName`. */
export interface RegisterOptions {
  /**
   * Gives the wait up: it rejects with `AbortError`. A start not sent yet never is; one sent
   * already may still register the name (as after a timeout): `whereis` tells.
   */
  signal?: AbortSignal
}

/**
 * The parameters after the type in `registerName(name, T, args, options)`: `args` required when
 * `T`'s `init` needs them, optional when it takes none (or may take `undefined`).
 */
export type ArgsParam<T> =
  undefined extends InitArgs<T>
    ? [args?: InitArgs<T>, options?: RegisterOptions]
    : void extends InitArgs<T>
      ? [args?: undefined, options?: RegisterOptions]
      : [args: InitArgs<T>, options?: RegisterOptions]

/** The first parameter of method `K` of `T`'s instance (`never` when it has no such method). */
export type MsgOf<T, K extends string> =
  InstanceOf<T> extends Record<K, ((msg: infer M, ...rest: never[]) => unknown) | undefined>
    ? M
    : never

/** The messages `T`'s `handleCall` takes. */
export type CallMsg<T> = MsgOf<T, 'handleCall'>
/** What `T`'s `handleCall` answers (its result, awaited, `NoReply` aside). */
export type CallReply<T> =
  InstanceOf<T> extends Record<'handleCall', ((...a: never[]) => infer R) | undefined>
    ? Exclude<Awaited<R>, NoReply>
    : never
/** The messages `T`'s `handleCast` takes. */
export type CastMsg<T> = MsgOf<T, 'handleCast'>
/** The messages `T`'s `handleInfo` takes. */
export type InfoMsg<T> = MsgOf<T, 'handleInfo'>

/**
 * A name of a sworm, typed by the worker class it runs: a call, a cast or a message the worker
 * does not take, or a reply read as what it is not, is a compile error. It holds the name, not
 * a pid: each use resolves the name at that moment, as `Rooms.call(name, ...)` does.
 * @example
 * const room = Rooms.ref('room:42', ChatRoom)
 * const n: number = await room.call({ post: 'hi' })
 */
export interface SwormRef<T extends WorkerClass> {
  /** The name this handle stands for. */
  readonly name: Name
  /** The worker's pid now, or undefined (see `whereis`). */
  whereis(): Pid | undefined
  /** Calls the worker (see `call`): the message and the reply typed by its `handleCall`. */
  call(msg: CallMsg<T>, options?: CallOptions): Promise<CallReply<T>>
  /** Casts to the worker (see `cast`): the message typed by its `handleCast`. */
  cast(msg: CastMsg<T>): void
  /** Sends to the worker (see `send`): the message typed by its `handleInfo`. */
  send(msg: InfoMsg<T>): void
}

/** What a `SwormRef` needs: the untyped operations by name. */
export interface ByName {
  whereis(name: Name): Pid | undefined
  call<R>(name: Name, msg: unknown, options?: CallOptions): Promise<R>
  cast(name: Name, msg: unknown): void
  send(name: Name, msg: unknown): void
}

/** A `SwormRef` for `name` over `ops` (resolved at each use). */
export function swormRef<T extends WorkerClass>(ops: () => ByName, name: Name): SwormRef<T> {
  return {
    name,
    whereis: () => ops().whereis(name),
    call: (msg, options) => ops().call<CallReply<T>>(name, msg, options),
    cast: (msg) => ops().cast(name, msg),
    send: (msg) => ops().send(name, msg),
  }
}

/**
 * What a name started by its first message runs (`Sworm.activate`): a worker class of the sworm
 * and the args its `init` takes.
 */
export interface Activation<T extends WorkerClass = WorkerClass> {
  /** The worker class, one of the sworm's `actors`. */
  type: T
  /**
   * What its `init` takes (left out when it takes none). Checked against `T`'s `init` when `T`
   * is named (`Activation<typeof ChatRoom>`); any value for a plain `Activation`.
   */
  args?: WorkerClass extends T ? unknown : InitArgs<T>
}

/** Says what a name nobody holds runs when a message comes to it; undefined: `NotFound`. */
export type Activate = (name: Name) => Activation | undefined

/**
 * A function `exec` runs on the node that runs a name, with its worker (supervisorring's
 * `exec`): registered in the sworm's `static functions` under the same name on every node.
 */
export type ExecFunction = (worker: { name: Name; pid: Pid }, args: unknown) => unknown
