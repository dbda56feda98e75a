// A sworm on one node: its registry (names and groups) and its distributed supervisor (one
// delegate per name), both named after the sworm, and the parts of a move (`moves/`) wired to
// them. Every static of a `Sworm` class is a method here, bound to the node the call runs in.
import {
  BadArgument,
  Emitter,
  Listenable,
  NotFound,
  AlreadyRegistered,
  actorDefaults,
  isCallEnvelope,
  isDownMessage,
  isExitMessage,
  reasonFromWire,
  describeReason,
  nodeOf,
  type ActorClassLike,
  type CallOptions,
  type NodeId,
  type Pid,
} from '@swormjs/actor'
import type { Node, NodeInfo } from '@swormjs/cluster'
import {
  Registry,
  decodeName,
  describeName,
  encodeName,
  type MultiCallOptions,
  type MultiCallResult,
  type Name,
} from '@swormjs/registry'
import { SliceGate } from '@swormjs/actor/internal'
import { DistributedSupervisor, type ExecFn } from '@swormjs/supervisor'
import type { PersistOptions, ResolvedSwormOptions } from './config.js'
import { delegateClass, targetOf, type FirstMessage, type FirstReply } from './Delegate.js'
import type { SwormEvents } from './events.js'
import { InstanceTable } from './InstanceTable.js'
import { beforeMoveMs, holdConfirmMs, holdMs, prepareAnswerMs } from './moves/bounds.js'
import { Fence } from './moves/Fence.js'
import { Barriers, isFlushMarker } from './moves/Barriers.js'
import { isHandoffMessage } from './handoff.js'
import { Holds, Router } from './moves/Holds.js'
import { Names } from './Names.js'
import { SwormNotRunning } from './errors.js'
import { COPY_STORE_INFO, Replicas } from './replicas/Replicas.js'
import { GONE_MS, GoneWorkers } from './moves/GoneWorkers.js'
import { FileStore, type SwormStore } from './persist/FileStore.js'
import {
  swormRef,
  type ArgsParam,
  type RegisterOptions,
  type SwormRef,
  type WorkerClass,
  type Activate,
  type ExecFunction,
} from './typed.js'
import {
  mergeConflict,
  mergeMovedCopy,
  mergeState,
  prepareMove,
  type MoveHost,
  type PrepareHost,
} from './moves/prepare.js'

/** The actor types a sworm's workers may have, by stable name (the same on every node). */
export type ActorTypes = Record<string, ActorClassLike<never>>

/** What the constructor is given: the parts `start` made. */
interface Parts {
  name: string
  node: Node
  options: ResolvedSwormOptions
  types: ReadonlyMap<string, ActorClassLike<never>>
  events: Emitter<SwormEvents>
  holds: Holds
  router: Pid
  registry: Registry
  supervisor: DistributedSupervisor
  replicas: Replicas | undefined
  unsubscribe: () => void
  activate: Activate | undefined
  client: boolean
  execFns: ReadonlyMap<string, ExecFn>
  gone: GoneWorkers
  barriers: Barriers
}

/** What a message to a name started on demand waits for (see `SwormInstance.activation`). */
type Activation =
  /** A start under way here, which a message sent earlier made: this one goes after it. */
  | { behind: Promise<void> }
  /** The start this message made: it rode it (`delivered`), or goes the usual way after. */
  | { started: Promise<Started> }

/** How the start of a name on demand went, once this node resolves the name. */
interface Started {
  pid: Pid
  delivered: boolean
  reply?: FirstReply
}

/** How a sworm runs on a node, beside its options: from its class and `startNode`. */
export interface StartHow {
  /** With `onDemand` activation: what a name nobody holds runs (`Sworm.activate`). */
  activate?: Activate | undefined
  /** This node uses the sworm without running its workers (`startNode({ clients })`). */
  client?: boolean
  /** The functions `exec` runs, by name (`Sworm.functions`). */
  functions?: Record<string, ExecFunction>
}

/**
 * A sworm running on one node: its registry of names and groups, and its distributed supervisor
 * (one delegate per name). Every static of a `Sworm` class has its twin here; get the instance
 * with `Rooms.on(node)` when a process holds several nodes (tests), or from `runSworm`.
 * @example
 * const rooms = Rooms.on(node)
 * const pid = await rooms.registerName('room:42', ChatRoom, { topic: 'tea' })
 * rooms.on('handoff', (name, withState) => console.log('moved', name, withState))
 */
export class SwormInstance extends Listenable<SwormEvents> implements AsyncDisposable {
  /** The sworm's name (its class name): the same on every node that runs it. */
  readonly name: string
  /** The node this instance runs on. */
  readonly node: Node
  /** The sworm's options with every default filled in (the config file's over the class's). */
  readonly options: ResolvedSwormOptions
  /** The sworm's registry, named `sworm.<name>`: its names and groups. */
  readonly registry: Registry
  /** The sworm's supervisor, named `sworm.<name>`: it runs one delegate per name. */
  readonly supervisor: DistributedSupervisor
  /** The actor types by name: a `Map`, so `constructor` or `toString` is never taken for one. */
  private readonly types: ReadonlyMap<string, ActorClassLike<never>>
  private readonly names: Names
  protected readonly events: Emitter<SwormEvents>
  private readonly holds: Holds
  private readonly router: Pid
  /** With `onDemand` activation: what a name nobody holds runs (see `Sworm.activate`). */
  private readonly activate: Activate | undefined
  /** The functions `exec` runs, wrapped to be given the worker. */
  private readonly execFns: ReadonlyMap<string, ExecFn>
  /** Names being started by their first message here, by key: later messages wait behind. */
  private readonly activating = new Map<string, Promise<void>>()
  /** Set once this node stopped running the sworm: a message sent through it is an error. */
  private stopped = false
  /** Stops forwarding messages sent to moved workers' pids. */
  private readonly offDeadLetters: () => void
  /** Messages to moved workers' pids held until their old path drained (`Barriers`). */
  private readonly barriers: Barriers
  /** The workers whose names moved on lately, for a while (`GoneWorkers`). */
  private readonly gone: GoneWorkers
  /** Removes this sworm's condition from its node's readiness. */
  private readonly unready: () => void
  /** @internal With `replicas`: the copies kept here, and this node's delegates' replicators. */
  readonly replicas: Replicas | undefined
  private readonly unsubscribe: () => void
  private stopping: Promise<void> | undefined

  private constructor(parts: Parts) {
    super()
    this.name = parts.name
    this.node = parts.node
    this.options = parts.options
    this.types = parts.types
    this.events = parts.events
    this.holds = parts.holds
    this.router = parts.router
    this.registry = parts.registry
    this.supervisor = parts.supervisor
    this.replicas = parts.replicas
    this.unsubscribe = parts.unsubscribe
    this.names = new Names({
      sworm: parts.name,
      registry: parts.registry,
      supervisor: parts.supervisor,
      clock: parts.node.clock,
      types: parts.types,
      restart: parts.options.restart,
      callTimeoutMs: parts.options.callTimeoutMs,
      // A name is placed only once the node is ready (`minNodes`): a placement made on a part of
      // the cluster would start a second copy of a name the others place elsewhere.
      untilReady: (signal) =>
        parts.node.isReady() ? undefined : parts.node.ready(signal ? { signal } : {}),
    })
    this.activate = parts.activate
    // A message sent to the pid of a worker whose name moved on (a cached pid, a group) goes
    // to the name, so to its next process, in order; a call is not forwarded (its caller
    // already heard the pid is gone: `NoProc`), so it never runs twice.
    const { gone, barriers } = parts
    this.barriers = barriers
    this.gone = gone
    const runtime = parts.node.runtime
    this.offDeadLetters = runtime.onDeadLetter((to, msg) => {
      // Asked for every message to another node's process, so the usual case comes first.
      const key = gone.keyOf(to)
      if (key === undefined) {
        if (!barriers.active || isCallEnvelope(msg) || isFlushMarker(msg)) return false
        // A name's new worker, reached by its pid (a publish) while what this node sent to the
        // old one may be on its way through the old node: it waits behind that.
        return barriers.holdForWorker(to, msg)
      }
      // A barrier's marker goes to the old pid's node, as any message to that pid (`Barriers`).
      if (isCallEnvelope(msg) || (isFlushMarker(msg) && !runtime.isLocal(to))) return false
      // What a moved delegate or worker never read may hold signals and the handoff's own
      // messages: only what was sent to the name goes on.
      if (isExitMessage(msg) || isDownMessage(msg)) return false
      if (isHandoffMessage(msg) && !isFlushMarker(msg)) return false
      // The old pid's node is up: what this node sent it before the move may still be on its
      // way through it, so this waits behind a barrier (see `Barriers`).
      if (!runtime.isLocal(to) && parts.node.isUp(nodeOf(to)) && barriers.hold(key, to, msg)) {
        return true
      }
      this.forward(key, msg)
      return true
    })
    this.execFns = parts.execFns
    this.unready = parts.node.addReadyCheck(
      `sworm ${parts.name}`,
      // A client needs one node that runs the sworm; a host, `minNodes` of them.
      (min) => this.supervisor.members().length >= (parts.client ? 1 : min),
    )
  }

  /** Starts sworm `name` on `node`: its registry and supervisor, under the sworm's name. */
  static async start(
    node: Node,
    name: string,
    actors: ActorTypes,
    options: ResolvedSwormOptions,
    how: StartHow = {},
  ): Promise<SwormInstance> {
    const { activate, client = false, functions = {} } = how
    // Each runs with the worker of the name (the child is its delegate): `exec`'s promise.
    const execFns = new Map<string, ExecFn>()
    for (const [fnName, fn] of Object.entries(functions)) {
      execFns.set(fnName, (child, args) => {
        const name = decodeName(child.id)
        return fn({ name, pid: registry.whereis(name) ?? child.pid }, args)
      })
    }
    const table = InstanceTable.of<SwormInstance>(node)
    if (table.has(name)) throw new BadArgument(`sworm ${name} already runs on this node`)
    const runtime = node.runtime
    const types = new Map(Object.entries(actors))
    const events = new Emitter<SwormEvents>((e, ev) =>
      node.logger.error({ err: e, event: ev, sworm: name }, 'sworm listener threw'),
    )
    // The name may resolve to another delegate than a moving one: what is sent goes there.
    // (Called only once the registry runs: holds are asked for by delegates and by other nodes,
    // which find this node's router through the registry.)
    const targetNow = (key: string): Pid | undefined => {
      const entry = registry.resolve(decodeName(key))
      return entry === undefined ? undefined : targetOf(entry)
    }
    const holds = new Holds({ sworm: name, runtime, holdMs: holdMs(options), targetNow })
    const gone = new GoneWorkers()
    const barriers: Barriers = new Barriers({
      runtime,
      waitMs: holdMs(options),
      clearedMs: GONE_MS,
      router: () => router,
      isUp: (n) => node.isUp(n),
      workerOf: (key) => registry.whereis(decodeName(key)),
      // The instance is made last, once every part exists; no barrier lets go before then.
      deliver: (key, msg) => inst.release(key, msg),
    })
    const router = await runtime.start(Router, {
      hold: (key, delegate) => holds.hold(key, delegate),
      flushed: (key, id) => barriers.flushed(key, id),
    })
    const prepare: PrepareHost = {
      sworm: name,
      runtime,
      handoff: options.handoff,
      answerMs: prepareAnswerMs(options),
      events,
    }
    // A client runs no worker: it keeps no copies and writes nothing to disk.
    const persist = client ? undefined : options.persist
    const store = persist === undefined ? undefined : await openStore(persist, name, node.name)
    // Closed once the node's other stop steps (the supervisor's leave among them, registered
    // after this one) have run: the names that moved are written by then.
    if (store !== undefined) node.onStop(`persist ${name}`, () => store.close())
    const replicas =
      (options.replicas > 0 && !client) || store !== undefined
        ? await Replicas.start({
            sworm: name,
            node,
            k: options.replicas,
            maxStateBytes: options.maxStateBytes,
            callTimeoutMs: options.callTimeoutMs,
            restart: options.restart,
            orphanAfterMs:
              persist !== undefined && 'postgres' in persist
                ? (persist.orphanAfterMs ?? DEFAULT_ORPHAN_AFTER_MS)
                : undefined,
            ...(store === undefined ? {} : { store }),
          })
        : undefined
    const registry = await Registry.start(node, `sworm.${name}`, {
      info: replicas === undefined ? { router } : { router, [COPY_STORE_INFO]: replicas.store },
      beforeConflictExit: (n, loser, winner, meta) =>
        mergeConflict(prepare, n, loser, winner, meta),
      ...defined(options, ['compactMinDead', 'forgetAfterMs', 'callTimeoutMs']),
    })
    const offRegister = registry.on('register', (n, pid, meta) => {
      holds.release(n, pid, meta)
      // Every name of the cluster comes by here: with no barrier waiting and no worker moved
      // lately (the usual case), there is nothing to tell.
      if (!barriers.active && gone.size === 0) return
      const key = encodeName(n)
      barriers.registered(key, pid)
      const old = gone.lastOf(key)
      if (old !== undefined) barriers.moved(key, old, pid)
    })
    const offDown = node.on('nodeDown', (info) => barriers.nodeDown(info.id))
    // A name's former process, on any node: what is sent to its pid from now on (a cached pid,
    // one of its node if that node is gone) goes to the name, wherever it runs next.
    const offUnregister = registry.on('unregister', (n, pid, reason) => {
      if (reason === 'unregister') return
      const key = encodeName(n)
      gone.add(pid, key)
      // Its next worker may have been seen first.
      const now = registry.whereis(n)
      if (now !== undefined) barriers.moved(key, pid, now)
    })
    const unsubscribe = (): void => {
      offRegister()
      offUnregister()
      offDown()
    }
    const fence = new Fence({
      sworm: name,
      runtime,
      hold: (key, delegate) => holds.hold(key, delegate),
      routers: () => otherRouters(node, registry),
      confirmMs: holdConfirmMs(options),
    })
    const move: MoveHost = { ...prepare, fence: (key, delegate) => fence.raise(key, delegate) }
    const Delegate = delegateClass({
      sworm: name,
      registry,
      actorType: (typeName) => types.get(typeName),
      holdLate: (key, delegate, raw) => holds.holdLate(key, delegate, raw),
      mergeIntoRunning: (key, state) => {
        const running = targetNow(key)
        if (running !== undefined) mergeState(prepare, key, running, state)
      },
      handoffTimeoutMs: options.handoffTimeoutMs,
      idleTimeoutMs: options.idleTimeoutMs,
      passivations: new SliceGate({ clock: node.runtime.clock }),
      keepsState: options.handoff,
      // A stateless passivation ends the name as `unregisterName` does (the supervisor made
      // below terminates the delegate; the delegate asks from one of its turns, never before).
      end: (key) => {
        supervisor.terminateChild(key).catch((e: unknown) => {
          node.logger.warn({ sworm: name, name: key.slice(1), err: e }, 'passivation failed')
        })
      },
      gone: (worker, key) => gone.add(worker, key),
      ...(replicas === undefined ? {} : { replicas: replicas.delegateHost() }),
    })
    const supervisor: DistributedSupervisor = await DistributedSupervisor.start(
      node,
      `sworm.${name}`,
      {
        // Each worker type is a name of the delegate class, so that a name is placed only on the
        // nodes whose sworm has its type (a node of an older release may not); `Delegate` stays
        // for names placed by a release that placed every name by it.
        actors: { Delegate, ...Object.fromEntries([...types.keys()].map((t) => [t, Delegate])) },
        hosts: !client,
        // `temporary` names move with a graceful leave when they carry state (see `restart`).
        moveTemporary: options.handoff,
        functions: Object.fromEntries(execFns),
        distribution: options.distribution,
        redistribution: options.redistribution,
        rebalance: options.rebalance,
        // The registry's verdict decides between two copies of a name, not the start clocks.
        duplicates: 'keep',
        // The hold round and the worker's answer both fit in the supervisor's bound.
        handoffTimeoutMs: beforeMoveMs(options),
        hooks: {
          beforeMove: (id, delegate) => prepareMove(move, id, delegate),
          movedOntoRunning: (id, delegate, handoff) =>
            mergeMovedCopy(prepare, id, delegate, handoff),
          moved: (id) => {
            replicas?.moved(id)
            // Its next worker has joined its groups: the old one leaves them now.
            const old = gone.lastOf(id)
            if (old !== undefined) registry.releaseGroups(old)
          },
        },
        ...defined(options, [
          'maxRestarts',
          'maxSeconds',
          'maxChildren',
          'shutdownMs',
          'callTimeoutMs',
          'quorumAdoptDelayMs',
          'quorumSize',
          'compactMinDead',
          'forgetAfterMs',
        ]),
      },
    )
    replicas?.attach(registry, supervisor)
    if (store !== undefined) {
      const back = await replicas!.restore()
      if (back > 0)
        node.logger.info({ sworm: name, names: back }, 'names kept on disk started again')
    }
    const inst = new SwormInstance({
      name,
      node,
      options,
      types,
      events,
      holds,
      router,
      registry,
      supervisor,
      replicas,
      unsubscribe,
      activate,
      client,
      execFns,
      gone,
      barriers,
    })
    table.add(inst)
    return inst
  }

  /** Every sworm instance running on `node`. */
  static all(node: Node): SwormInstance[] {
    return InstanceTable.of<SwormInstance>(node).all()
  }

  /** The instance of sworm `name` on `node`, if it runs there. */
  static of(node: Node, name: string): SwormInstance | undefined {
    return InstanceTable.of<SwormInstance>(node).get(name)
  }

  /**
   * Listens to the sworms that start on `node` from now on (`all(node)` lists those running);
   * each tells of its own stop (`on('stop')`). Returns the function that stops listening.
   * @example
   * for (const s of SwormInstance.all(node)) follow(s)
   * SwormInstance.onStart(node, follow)
   */
  static onStart(node: Node, listener: (sworm: SwormInstance) => void): () => void {
    return InstanceTable.of<SwormInstance>(node).onStart(listener)
  }

  /** The actor class registered under `typeName`: one of the sworm's own `actors`, else undefined. */
  actorType(typeName: string): ActorClassLike<never> | undefined {
    return this.types.get(typeName)
  }

  // ------------------------------------------------------------------ names

  /**
   * Starts a worker of `Type` under `name` on the node the name hashes to and resolves with its
   * pid; with a pid instead of a type, registers that running process (not moved, not
   * restarted). Rejects with `AlreadyRegistered` (carrying the holder) when the name is taken.
   */
  registerName<T extends WorkerClass>(name: Name, Type: T, ...args: ArgsParam<T>): Promise<Pid>
  registerName(name: Name, pid: Pid): Promise<Pid>
  registerName(
    name: Name,
    typeOrPid: WorkerClass | Pid,
    args?: unknown,
    options?: RegisterOptions,
  ): Promise<Pid> {
    return this.names.register(name, typeOrPid, args, options)
  }

  /** The pid under `name`, or starts one: never two. */
  whereisOrRegisterName<T extends WorkerClass>(
    name: Name,
    Type: T,
    ...args: ArgsParam<T>
  ): Promise<Pid> {
    return this.names.whereisOrRegister(name, Type, args[0], args[1])
  }

  /** See `Sworm.startSingleton`. */
  startSingleton<T extends WorkerClass>(Type: T, ...args: ArgsParam<T>): Promise<Pid> {
    try {
      return this.names.whereisOrRegister(this.names.singletonName(Type), Type, args[0], args[1])
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)))
    }
  }

  /** See `Sworm.singleton`. */
  singleton<T extends WorkerClass>(Type: T): SwormRef<T> {
    return swormRef<T>(() => this, this.names.singletonName(Type))
  }

  /** A handle on `name` typed by its worker class (see `Sworm.ref`). */
  ref<T extends WorkerClass>(name: Name, _Type: T): SwormRef<T> {
    return swormRef<T>(() => this, name)
  }

  /** Stops the worker under `name` (or removes a plain registration); `NotFound` when absent. */
  unregisterName(name: Name): Promise<void> {
    return this.names.unregister(name)
  }

  /** The pid registered under `name` now, as this node sees it, or undefined. */
  whereis(name: Name): Pid | undefined {
    return this.registry.whereis(name)
  }

  /** The node that runs `name` now, as this node sees it, or undefined (see `Sworm.find`). */
  find(name: Name): NodeInfo | undefined {
    const pid = this.registry.whereis(name)
    if (pid === undefined) return undefined
    const id = nodeOf(pid)
    return this.node.members().find((m) => m.id === id)
  }

  /**
   * Runs function `fnName` of the sworm's `functions` on the node that runs `name`, with its
   * worker, and resolves with what it returns (see `Sworm.exec`).
   */
  exec<T = unknown>(
    name: Name,
    fnName: string,
    args?: unknown,
    options: { timeoutMs?: number } = {},
  ): Promise<T> {
    const fn = this.execFns.get(fnName)
    if (fn === undefined) {
      return Promise.reject(
        new BadArgument(
          `sworm ${this.name} has no function ${fnName} (its static functions: ${[...this.execFns.keys()].join(', ') || 'none'})`,
        ),
      )
    }
    return this.supervisor.exec<T>(encodeName(name), fn, args, options)
  }

  /** Every name of this sworm with its pid, as this node sees them. */
  registered(): Array<[Name, Pid]> {
    return this.registry.registered()
  }

  /** The sworm's directory: the live nodes that run it and take names now, sorted by id. */
  nodes(): NodeId[] {
    return this.supervisor.members()
  }

  // ------------------------------------------------------------------ messages

  /** Where a message to `name` goes now; `NotFound` when nobody holds it. */
  private target(name: Name): Pid {
    const entry = this.registry.resolve(name)
    if (entry === undefined) throw new NotFound(`no process is registered as ${describeName(name)}`)
    return targetOf(entry)
  }

  /**
   * Sends to the process under `name`; a name nobody holds is a `NotFound` error, not a silent
   * drop. While the name moves, the message waits and goes to the name's next process, in order.
   */
  send(name: Name, msg: unknown): void {
    this.assertRunning()
    // Without `onDemand` nothing is made for the start that never comes (a hot path).
    const a = this.activate === undefined ? undefined : this.activation(name, { raw: msg })
    if (a !== undefined) {
      const after =
        'behind' in a
          ? a.behind.then(() => this.send(name, msg))
          : a.started.then((r) => {
              if (!r.delivered) this.deliver(name, msg)
            })
      after.catch((e: unknown) =>
        this.node.logger.warn(
          { sworm: this.name, name: describeName(name), err: e },
          'a message to a name started on demand was dropped: the start failed',
        ),
      )
      return
    }
    this.deliver(name, msg)
  }

  /**
   * A message a barrier held (sent by pid: to a moved worker, or published to its group), as the
   * barrier lets go: to the name's worker by its pid, the way the sender's later messages by pid
   * and publishes go, so that none of those overtakes it on the worker's node (through the
   * delegate it would take one step more). To the name while the name is held (it moves again).
   * (A replicated worker tells its replicator of every message it handles, by any way.)
   */
  release(key: string, msg: unknown): void {
    const name = decodeName(key)
    const worker = this.holds.has(name) ? undefined : this.registry.whereis(name)
    if (worker === undefined) this.forward(key, msg)
    else this.node.runtime.send(worker, msg)
  }

  /** A message to a moved worker's pid, forwarded to its name; dropped if the name is gone. */
  private forward(key: string, msg: unknown): void {
    try {
      // Not `send`: a node in its last moments (its runtime shutting down) still forwards.
      this.deliver(decodeName(key), msg)
    } catch {
      // The name is gone too: the message is dropped, as one to a dead process is.
    }
  }

  private deliver(name: Name, msg: unknown): void {
    if (this.holds.send(name, msg)) return
    this.node.runtime.send(this.target(name), msg)
  }

  /** Calls the process under `name`; during a move, the call is answered by the name's next process. */
  call<R = unknown>(name: Name, msg: unknown, options?: CallOptions): Promise<R> {
    try {
      this.assertRunning()
      if (this.activate === undefined) return this.callNow<R>(name, msg, options)
      // The call that starts a name rides its start, as its worker's first message (with
      // `replicas` or `persist`, answered once its effect is kept), unless it can be given up
      // (`signal`).
      const rides = options?.signal === undefined
      const a = this.activation(
        name,
        rides
          ? { call: msg, timeoutMs: options?.timeoutMs ?? actorDefaults.callTimeoutMs }
          : undefined,
      )
      if (a !== undefined) {
        if ('behind' in a) return a.behind.then(() => this.call<R>(name, msg, options))
        return a.started.then((r) => {
          // Not `call`: the messages queued behind this start come after this one.
          if (r.reply === undefined) return this.callNow<R>(name, msg, options)
          if (r.reply.ok) return r.reply.value as R
          const error = reasonFromWire(r.reply.error)
          throw error instanceof Error ? error : new Error(describeReason(error))
        })
      }
      return this.callNow<R>(name, msg, options)
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)))
    }
  }

  /** Throws `SwormNotRunning` once this node stopped running the sworm (or stopped). */
  private assertRunning(): void {
    if (this.stopped || this.node.runtime.isShutDown) {
      throw new SwormNotRunning(this.name, this.node.name)
    }
  }

  /** Calls the process under `name` now: held during a move, `NotFound` when nobody holds it. */
  private callNow<R>(name: Name, msg: unknown, options: CallOptions | undefined): Promise<R> {
    const held = this.holds.call<R>(name, msg, options)
    if (held !== undefined) return held
    return this.node.runtime.call<R>(this.target(name), msg, options)
  }

  /**
   * With `onDemand` activation, the start of `name` that a message to it must wait for: one under
   * way here (so that messages keep their order), or a new one when nobody holds the name.
   * Undefined when the message can go now (or the sworm does not start names on demand).
   */
  private activation(name: Name, first: FirstMessage | undefined): Activation | undefined {
    if (this.activate === undefined) return undefined
    if (this.activating.size === 0 && this.registry.whereis(name) !== undefined) return undefined
    const key = encodeName(name)
    const under = this.activating.get(key)
    if (under !== undefined) return { behind: under }
    if (this.registry.whereis(name) !== undefined) return undefined
    const what = this.activate(name)
    if (what === undefined) return undefined
    const started: Promise<Started> =
      first === undefined
        ? this.names
            .whereisOrRegister(name, what.type, what.args, {})
            .then((pid) => ({ delivered: false, pid }))
        : this.names.registerFirst(name, what.type, what.args, first).then(
            (r) => ({ delivered: true, ...r }),
            (e: unknown) => {
              // Another node started it first: this message goes the usual way, after.
              if (AlreadyRegistered.is(e)) return { delivered: false, pid: e.pid as Pid }
              throw e
            },
          )
    const seen = started.then(async (r) => {
      await this.seen(name, r.pid)
      return r
    })
    const gate = seen.then(() => undefined)
    const done = (): void => {
      if (this.activating.get(key) === gate) this.activating.delete(key)
    }
    gate.then(done, done)
    this.activating.set(key, gate)
    return { started: seen }
  }

  /**
   * Resolves once this node resolves `name` (to `pid` or a successor): a name another node
   * started reaches this node's registry a moment after its start answered.
   */
  private seen(name: Name, pid: Pid): Promise<void> {
    if (this.registry.whereis(name) !== undefined) return Promise.resolve()
    return new Promise<void>((resolve, reject) => {
      const key = encodeName(name)
      const timer = this.node.clock.setTimeout(() => {
        off()
        reject(new NotFound(`${describeName(name)} (started as ${pid}, not seen here in time)`))
      }, this.options.callTimeoutMs)
      const off = this.registry.on('register', (n) => {
        if (encodeName(n) !== key) return
        this.node.clock.clearTimeout(timer)
        off()
        resolve()
      })
    })
  }

  /** Casts `msg` to the process under `name` (its `handleCast`); `NotFound` as for `send`. */
  cast(name: Name, msg: unknown): void {
    this.send(name, { $cast: msg })
  }

  // ------------------------------------------------------------------ groups

  /** Adds `pid` to `group` (idempotent), cluster-wide. */
  join(group: Name, pid: Pid): Promise<void> {
    return this.registry.join(group, pid)
  }

  /** Removes `pid` from `group` (idempotent). */
  leave(group: Name, pid: Pid): Promise<void> {
    return this.registry.leave(group, pid)
  }

  /** The members of `group` on live nodes, as this node sees them. */
  members(group: Name): Pid[] {
    return this.registry.members(group)
  }

  /** Sends `msg` to every member of `group`; returns how many it went to. */
  publish(group: Name, msg: unknown): number {
    if (this.gone.size === 0) return this.registry.publish(group, msg)
    const members = this.registry.members(group)
    const listed = new Set(members)
    const runtime = this.node.runtime
    let sent = 0
    for (const pid of members) {
      // A name that just moved may be listed under its old and its new worker for a moment: a
      // message to the old one goes to the name, so it would arrive twice. Once, to the new one.
      const key = this.gone.keyOf(pid)
      if (key !== undefined) {
        const now = this.registry.whereis(decodeName(key))
        if (now !== undefined && now !== pid && listed.has(now)) continue
      }
      sent++
      // The new worker may be on this node, where a send asks no dead-letter handler: what this
      // node sent to the old one may still be on its way, and this waits behind it (`Barriers`).
      if (this.barriers.active && this.barriers.holdForWorker(pid, msg)) continue
      runtime.send(pid, msg)
    }
    return sent
  }

  /** Calls every member of `group` at once: one result per member, a reply or its error. */
  multiCall(group: Name, msg: unknown, options?: MultiCallOptions): Promise<MultiCallResult[]> {
    return this.registry.multiCall(group, msg, options)
  }

  // ------------------------------------------------------------------ stop

  /**
   * This node stops running the sworm: it leaves the sworm's directory, and its names move to
   * the nodes that still run it (with handoff when it is on), as on a graceful node stop.
   * Idempotent; `await using sworm = await runSworm(node, Rooms)` calls it.
   */
  stop(): Promise<void> {
    this.stopping ??= this.doStop()
    return this.stopping
  }

  /** `stop()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop()
  }

  private async doStop(): Promise<void> {
    this.replicas?.markStopping()
    await this.supervisor.leaveAndStop()
    this.unsubscribe()
    this.unready()
    this.barriers.releaseAll()
    this.offDeadLetters()
    await this.registry.stop()
    const runtime = this.node.runtime
    if (runtime.isAlive(this.router)) await runtime.stop(this.router, 'shutdown')
    if (this.replicas !== undefined) {
      await this.replicas.stop()
      if (runtime.isAlive(this.replicas.store)) await runtime.stop(this.replicas.store, 'shutdown')
    }
    InstanceTable.of<SwormInstance>(this.node).delete(this)
    this.stopped = true
    this.events.emit('stop')
  }
}

/** `persist.orphanAfterMs` by default: a node gone this long is not coming back soon. */
const DEFAULT_ORPHAN_AFTER_MS = 30_000

/** The routers of the other nodes up that run the sworm, from the registry's `info`. */
function otherRouters(node: Node, registry: Registry): Array<[NodeId, Pid]> {
  const out: Array<[NodeId, Pid]> = []
  for (const [id, router] of registry.infoOf('router')) {
    if (id === node.id || typeof router !== 'string') continue
    // A node that is leaving sends nothing more worth holding (and may not answer). One that is
    // unreachable is only suspected: it may still send, so it is asked like any node up.
    const status = node.nodes().find((n) => n.id === id)?.status
    if (status !== 'up' && status !== 'unreachable') continue
    out.push([id, router as Pid])
  }
  return out
}

/** The fields of `o` named in `keys` that are set (so that `exactOptionalPropertyTypes` holds). */
function defined<T extends object, K extends keyof T>(
  o: T,
  keys: readonly K[],
): { [P in K]?: Exclude<T[P], undefined> } {
  const out: { [P in K]?: Exclude<T[P], undefined> } = {}
  for (const k of keys) {
    const v = o[k]
    if (v !== undefined) out[k] = v as Exclude<T[K], undefined>
  }
  return out
}

/** The store of `persist`, opened for sworm `sworm` on the node named `nodeName`. */
async function openStore(
  persist: PersistOptions,
  sworm: string,
  nodeName: string,
): Promise<SwormStore> {
  // `{node}` in the directory is the node's name: several nodes of one machine (or one
  // process) keep their names apart.
  if ('dir' in persist) return FileStore.open(persist.dir.replaceAll('{node}', nodeName), sworm)
  // Loaded only here: `pg` takes some 100-200 ms to load, which a node without a database
  // store should not pay at every start.
  const { PgStore } = await import('./persist/PgStore.js')
  return PgStore.open(
    {
      connectionString: persist.postgres,
      ...(persist.table === undefined ? {} : { table: persist.table }),
    },
    sworm,
    nodeName,
  )
}
