// A local supervisor, OTP's: it starts children in order, restarts them by strategy and policy,
// gives up (exits with `shutdown`) past its restart intensity, and stops children newest first.
import { actorDefaults } from './defaults.js'
import { Actor, NoReply } from './Actor.js'
import { BadArgument, NotFound, describeReason } from './errors.js'
import { isNormalExit, type ExitReason } from './exitReason.js'
import { isExitMessage, type ActorClassLike, type From, type ProcessContext } from './Process.js'
import type { Pid } from './Pid.js'
import type { SpawnOptions } from './options.js'
import type { Runtime } from './Runtime.js'

/** When a child is restarted: always, only after an abnormal exit, or never. */
export type RestartPolicy = 'permanent' | 'transient' | 'temporary'

/** How long a child may take to stop after `shutdown` before it is killed, or kill at once. */
export type Shutdown = number | 'brutal_kill'

/** How a child is started. `start` must return a pid linked to `supervisor` (use `parent`). */
export type ChildStart =
  | {
      /** The actor class to start; the supervisor starts it with `parent` set to itself. */
      actor: ActorClassLike<unknown>
      /** The args its `init` gets. */
      args?: unknown
    }
  | {
      /** Starts the child in `runtime` and resolves with its pid; `parent` is the supervisor. */
      start: (runtime: Runtime, parent: Pid) => Promise<Pid>
    }

/** One child of a `Supervisor`. */
export type ChildSpec = ChildStart & {
  /** Unique among the supervisor's children. */
  id: string
  /** Default `permanent`. */
  restart?: RestartPolicy
  /** Default 5000 ms (`infinity`-like supervisors should pass a large number). */
  shutdownMs?: Shutdown
  /** Default `worker`. Informational, shown by `whichChildren`. */
  type?: 'worker' | 'supervisor'
}

/** Options of a `Supervisor`. */
export interface SupervisorOptions {
  /** `one_for_one` (default): restart the child alone; `one_for_all`: all; `rest_for_one`: it and those started after it. */
  strategy?: 'one_for_one' | 'one_for_all' | 'rest_for_one'
  /** Restarts allowed in `maxSeconds` before the supervisor gives up. Default 3. */
  maxRestarts?: number
  /** The window, in seconds, over which restarts are counted. Default 5. */
  maxSeconds?: number
  /** The children, started in this order and stopped in reverse. */
  children: ChildSpec[]
}

/** A child as `whichChildren` reports it. */
export interface ChildInfo {
  /** The child's id from its spec. */
  id: string
  /** Its running process, or `undefined` while it is stopped or being restarted. */
  pid: Pid | undefined
  /** The spec's `type` (default `worker`). */
  type: 'worker' | 'supervisor'
  /** The spec's `restart` (default `permanent`). */
  restart: RestartPolicy
}

interface Child {
  spec: ChildSpec
  pid: Pid | undefined
}

/** How many children a supervisor has, by kind (`countChildren`). */
export interface ChildCounts {
  /** Child specs the supervisor holds, running or not (a dynamic one: its children). */
  specs: number
  /** Children running now. */
  active: number
  /** Specs of type `worker`. */
  workers: number
  /** Specs of type `supervisor`. */
  supervisors: number
}

/** The calls a `Supervisor` answers. */
export type SupMsg =
  | {
      /** `whichChildren`. */
      op: 'which'
    }
  | {
      /** `countChildren`. */
      op: 'count'
    }
  | {
      /** `terminateChild`. */
      op: 'terminate'
      /** The child to stop. */
      id: string
    }
  | {
      /** `restartChild`. */
      op: 'restart'
      /** The stopped child to start again. */
      id: string
    }
  | {
      /** `deleteChild`. */
      op: 'delete'
      /** The stopped child whose spec goes. */
      id: string
    }
  | {
      /** `startChild`. */
      op: 'start'
      /** The spec of the child to add and start. */
      spec: ChildSpec
    }

function isRetry(m: unknown): m is { $restart: string[] } {
  return (
    typeof m === 'object' && m !== null && Array.isArray((m as { $restart?: unknown }).$restart)
  )
}

/**
 * Runs a supervisor's call so that its failures (an unknown id, a child whose init failed, a
 * full supervisor) go to the caller as a rejection instead of crashing the supervisor.
 */
export async function answerCall(
  self: ProcessContext,
  from: From,
  work: () => Promise<unknown>,
): Promise<unknown> {
  try {
    return await work()
  } catch (e) {
    self.replyError(from, e)
    return NoReply
  }
}

/** Starts one child from its spec, linked to `parent`. */
export async function startChildProcess(
  runtime: Runtime,
  parent: Pid,
  spec: ChildStart,
): Promise<Pid> {
  if ('start' in spec) {
    const pid = await spec.start(runtime, parent)
    if (runtime.isAlive(pid)) runtime.link(parent, pid)
    return pid
  }
  const options: SpawnOptions = { parent }
  return runtime.start(spec.actor, spec.args, options)
}

/** Keeps the restart timestamps of a supervisor and says when intensity is exceeded. */
export class RestartIntensity {
  private readonly maxRestarts: number
  private readonly maxSeconds: number
  private stamps: number[] = []
  constructor(maxRestarts: number, maxSeconds: number) {
    this.maxRestarts = maxRestarts
    this.maxSeconds = maxSeconds
  }
  /** Records a restart at `now` (ms); true if that exceeds the limit. */
  exceeded(now: number): boolean {
    this.stamps.push(now)
    const since = now - this.maxSeconds * 1000
    this.stamps = this.stamps.filter((t) => t > since)
    return this.stamps.length > this.maxRestarts
  }
}

/** The restart intensity of a supervisor's options, with the defaults of `actorDefaults`. */
export function restartIntensityOf(options: {
  maxRestarts?: number
  maxSeconds?: number
}): RestartIntensity {
  return new RestartIntensity(
    options.maxRestarts ?? actorDefaults.maxRestarts,
    options.maxSeconds ?? actorDefaults.maxSeconds,
  )
}

/** Ends a supervisor's child within its own shutdown time (default `actorDefaults.shutdownMs`). */
export function shutdownChild(
  runtime: Runtime,
  parent: Pid,
  pid: Pid,
  shutdownMs: Shutdown | undefined,
): Promise<ExitReason> {
  return runtime.shutdownProcess(pid, shutdownMs ?? actorDefaults.shutdownMs, parent)
}

/** Whether `policy` restarts a child that ended with `reason`. */
export function shouldRestart(policy: RestartPolicy, reason: ExitReason): boolean {
  if (policy === 'permanent') return true
  if (policy === 'temporary') return false
  return !isNormalExit(reason)
}

export function validateChildSpec(spec: ChildSpec): void {
  if (typeof spec.id !== 'string' || spec.id === '') throw new BadArgument('child spec needs an id')
  const shape = spec as Partial<Record<'actor' | 'start', unknown>>
  if (typeof shape.actor !== 'function' && typeof shape.start !== 'function') {
    throw new BadArgument(`child ${spec.id} needs an actor class or a start function`)
  }
  const r = spec.restart
  if (r !== undefined && r !== 'permanent' && r !== 'transient' && r !== 'temporary') {
    throw new BadArgument(`child ${spec.id}: restart must be permanent, transient or temporary`)
  }
  const s = spec.shutdownMs
  if (s !== undefined && s !== 'brutal_kill' && !(typeof s === 'number' && s >= 0)) {
    throw new BadArgument(`child ${spec.id}: shutdownMs must be a number ≥ 0 or 'brutal_kill'`)
  }
}

/**
 * A supervisor process. Start it with `Supervisor.start(runtime, options)`; talk to it with the
 * static helpers (`whichChildren`, `terminateChild`, …), which are calls.
 * @example
 * const sup = await Supervisor.start(rt, {
 *   strategy: 'one_for_one',
 *   children: [{ id: 'cache', actor: Cache, args: { size: 100 } }],
 * })
 */
export class Supervisor extends Actor<SupervisorOptions> {
  private children: Child[] = []
  private strategy: NonNullable<SupervisorOptions['strategy']> = 'one_for_one'
  private intensity!: RestartIntensity

  /** Starts a supervisor and its children; rejects with `InitFailed` if a child fails to start. */
  static start(runtime: Runtime, options: SupervisorOptions, spawn?: SpawnOptions): Promise<Pid> {
    return runtime.start(Supervisor, options, spawn)
  }

  /** Every child of `sup`, in start order, running or not. */
  static whichChildren(runtime: Runtime, sup: Pid): Promise<ChildInfo[]> {
    return runtime.call<ChildInfo[]>(sup, { op: 'which' } satisfies SupMsg)
  }

  /** How many children `sup` has, by kind. */
  static countChildren(runtime: Runtime, sup: Pid): Promise<ChildCounts> {
    return runtime.call(sup, { op: 'count' } satisfies SupMsg)
  }

  /** Stops a child and keeps its spec (it can be restarted with `restartChild`). */
  static terminateChild(runtime: Runtime, sup: Pid, id: string): Promise<void> {
    return runtime.call(sup, { op: 'terminate', id } satisfies SupMsg)
  }

  /**
   * Starts again a child stopped with `terminateChild`; resolves with its new pid. Rejects with
   * `NotFound` for an unknown id, `BadArgument` if it is running.
   */
  static restartChild(runtime: Runtime, sup: Pid, id: string): Promise<Pid> {
    return runtime.call(sup, { op: 'restart', id } satisfies SupMsg)
  }

  /** Removes the spec of a stopped child. */
  static deleteChild(runtime: Runtime, sup: Pid, id: string): Promise<void> {
    return runtime.call(sup, { op: 'delete', id } satisfies SupMsg)
  }

  /** Adds and starts a child. */
  static startChild(runtime: Runtime, sup: Pid, spec: ChildSpec): Promise<Pid> {
    return runtime.call(sup, { op: 'start', spec } satisfies SupMsg)
  }

  override async init(options: SupervisorOptions): Promise<void> {
    this.trapExit = true
    this.strategy = options.strategy ?? 'one_for_one'
    this.intensity = restartIntensityOf(options)
    const ids = new Set<string>()
    for (const spec of options.children) {
      validateChildSpec(spec)
      if (ids.has(spec.id)) throw new BadArgument(`duplicate child id ${spec.id}`)
      ids.add(spec.id)
    }
    for (const spec of options.children) {
      try {
        const pid = await startChildProcess(this.runtime, this.self, spec)
        this.children.push({ spec, pid })
      } catch (e) {
        await this.stopChildren(this.children)
        throw e
      }
    }
  }

  /** Answers the `SupMsg` calls of the static helpers; a failure rejects the caller only. */
  override handleCall(msg: SupMsg, from: From): Promise<unknown> {
    return answerCall(this, from, () => this.dispatch(msg))
  }

  private async dispatch(msg: SupMsg): Promise<unknown> {
    switch (msg.op) {
      case 'which':
        return this.children.map((c) => ({
          id: c.spec.id,
          pid: c.pid,
          type: c.spec.type ?? 'worker',
          restart: c.spec.restart ?? 'permanent',
        }))
      case 'count': {
        const active = this.children.filter((c) => c.pid !== undefined).length
        const sups = this.children.filter((c) => c.spec.type === 'supervisor').length
        return {
          specs: this.children.length,
          active,
          workers: this.children.length - sups,
          supervisors: sups,
        }
      }
      case 'terminate': {
        const child = this.find(msg.id)
        await this.stopChildren([child])
        // As in OTP: a temporary child's spec goes with it (it could never be restarted).
        if ((child.spec.restart ?? 'permanent') === 'temporary') {
          this.children = this.children.filter((c) => c !== child)
        }
        return undefined
      }
      case 'restart': {
        const child = this.find(msg.id)
        if (child.pid !== undefined) throw new BadArgument(`child ${msg.id} is running`)
        child.pid = await startChildProcess(this.runtime, this.self, child.spec)
        return child.pid
      }
      case 'delete': {
        const child = this.find(msg.id)
        if (child.pid !== undefined) throw new BadArgument(`child ${msg.id} is running`)
        this.children = this.children.filter((c) => c !== child)
        return undefined
      }
      case 'start': {
        validateChildSpec(msg.spec)
        if (this.children.some((c) => c.spec.id === msg.spec.id)) {
          throw new BadArgument(`duplicate child id ${msg.spec.id}`)
        }
        const pid = await startChildProcess(this.runtime, this.self, msg.spec)
        this.children.push({ spec: msg.spec, pid })
        return pid
      }
    }
  }

  /** Handles a child's `EXIT`: restarts it (and others, by strategy) per its policy. */
  override async handleInfo(msg: unknown): Promise<void> {
    if (isRetry(msg)) {
      const pending = this.children.filter(
        (c) => c.pid === undefined && msg.$restart.includes(c.spec.id),
      )
      await this.restartAll(pending)
      return
    }
    if (!isExitMessage(msg)) return
    const index = this.children.findIndex((c) => c.pid === msg.from)
    if (index < 0) return // a child that failed to start, or a stranger: nothing to do
    const child = this.children[index]!
    child.pid = undefined
    const policy = child.spec.restart ?? 'permanent'
    if (!shouldRestart(policy, msg.reason)) {
      if (policy === 'temporary') this.children.splice(index, 1)
      return
    }
    this.runtime.logger.warn(
      { supervisor: this.self, child: child.spec.id, reason: describeReason(msg.reason) },
      'child ended; restarting',
    )
    if (this.intensity.exceeded(this.runtime.clock.now())) {
      this.runtime.logger.error(
        { supervisor: this.self },
        'restart intensity reached; shutting down',
      )
      this.stop('shutdown')
      return
    }
    const affected =
      this.strategy === 'one_for_one'
        ? [child]
        : this.strategy === 'one_for_all'
          ? [...this.children]
          : this.children.slice(index)
    await this.stopChildren(affected.filter((c) => c !== child))
    await this.restartAll(affected)
  }

  /** Starts `children` in order; a failed start is retried through the mailbox, counting against intensity. */
  private async restartAll(children: Child[]): Promise<void> {
    for (let i = 0; i < children.length; i++) {
      const c = children[i]!
      try {
        c.pid = await startChildProcess(this.runtime, this.self, c.spec)
      } catch (e) {
        this.runtime.logger.error(
          { supervisor: this.self, child: c.spec.id, err: e },
          'restart failed',
        )
        if (this.intensity.exceeded(this.runtime.clock.now())) {
          this.stop('shutdown')
          return
        }
        this.send(this.self, { $restart: children.slice(i).map((x) => x.spec.id) })
        return
      }
    }
  }

  /** Stops every child, newest first, each within its `shutdownMs`. */
  override async terminate(): Promise<void> {
    await this.stopChildren(this.children)
  }

  private find(id: string): Child {
    const child = this.children.find((c) => c.spec.id === id)
    if (child === undefined) throw new NotFound(`child ${id}`)
    return child
  }

  /** Stops children newest first, each within its own shutdown time. */
  private async stopChildren(children: Child[]): Promise<void> {
    for (const c of [...children].reverse()) {
      const pid = c.pid
      if (pid === undefined) continue
      c.pid = undefined
      await shutdownChild(this.runtime, this.self, pid, c.spec.shutdownMs)
    }
  }
}
