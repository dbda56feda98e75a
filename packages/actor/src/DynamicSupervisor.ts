// A local dynamic supervisor: children are added at run time, each restarted alone under its
// own policy, within a shared restart intensity and an optional `maxChildren` limit.
import { Actor } from './Actor.js'
import { MaxChildren, NotFound, describeReason } from './errors.js'
import { isExitMessage, type From } from './Process.js'
import type { Pid } from './Pid.js'
import type { SpawnOptions } from './options.js'
import type { Runtime } from './Runtime.js'
import {
  answerCall,
  type RestartIntensity,
  restartIntensityOf,
  shouldRestart,
  shutdownChild,
  startChildProcess,
  validateChildSpec,
  type ChildCounts,
  type ChildInfo,
  type ChildStart,
  type RestartPolicy,
  type Shutdown,
} from './Supervisor.js'

/** A child of a `DynamicSupervisor`: like a `ChildSpec`, the id optional. */
export type DynamicChildSpec = ChildStart & {
  /** A label for logs and `whichChildren`; default: the child's pid. Need not be unique. */
  id?: string
  /** Default `permanent`. */
  restart?: RestartPolicy
  /** How long the child may take to stop, in ms, or `'brutal_kill'`. Default 5000. */
  shutdownMs?: Shutdown
  /** Default `worker`. Informational, shown by `whichChildren`. */
  type?: 'worker' | 'supervisor'
}

/** Options of a `DynamicSupervisor`. */
export interface DynamicSupervisorOptions {
  /** Restarts allowed in `maxSeconds` before it gives up (exits with `shutdown`). Default 3. */
  maxRestarts?: number
  /** The window, in seconds, over which restarts are counted. Default 5. */
  maxSeconds?: number
  /** Children it runs at most; past it `startChild` rejects with `MaxChildren`. Default: none. */
  maxChildren?: number
}

/** The calls a `DynamicSupervisor` answers. */
export type DynMsg =
  | {
      /** `startChild`. */
      op: 'start'
      /** The spec of the child to start. */
      spec: DynamicChildSpec
    }
  | {
      /** `terminateChild`. */
      op: 'terminate'
      /** The child to stop. */
      pid: Pid
    }
  | {
      /** `whichChildren`. */
      op: 'which'
    }
  | {
      /** `countChildren`. */
      op: 'count'
    }

interface DynChild {
  spec: DynamicChildSpec
  pid: Pid
}

/**
 * A dynamic supervisor process.
 * @example
 * const sup = await DynamicSupervisor.start(rt, { maxChildren: 1000 })
 * const pid = await DynamicSupervisor.startChild(rt, sup, { actor: Room, args: 'lobby' })
 */
export class DynamicSupervisor extends Actor<DynamicSupervisorOptions> {
  /** Children by their current pid, in start order. */
  private readonly children = new Map<Pid, DynChild>()
  private intensity!: RestartIntensity
  private maxChildren = Infinity

  /** Starts a dynamic supervisor with no children; resolves with its pid. */
  static start(
    runtime: Runtime,
    options: DynamicSupervisorOptions = {},
    spawn?: SpawnOptions,
  ): Promise<Pid> {
    return runtime.start(DynamicSupervisor, options, spawn)
  }

  /** Starts a child; rejects with `MaxChildren`, or `InitFailed` with the child's error. */
  static startChild(runtime: Runtime, sup: Pid, spec: DynamicChildSpec): Promise<Pid> {
    try {
      validateChildSpec({ id: spec.id ?? 'child', ...spec })
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)))
    }
    return runtime.call<Pid>(sup, { op: 'start', spec } satisfies DynMsg)
  }

  /** Stops a child for good (it is not restarted); rejects with `NotFound` if it is not a child. */
  static terminateChild(runtime: Runtime, sup: Pid, pid: Pid): Promise<void> {
    return runtime.call(sup, { op: 'terminate', pid } satisfies DynMsg)
  }

  /** Every running child of `sup`, in start order. */
  static whichChildren(runtime: Runtime, sup: Pid): Promise<ChildInfo[]> {
    return runtime.call<ChildInfo[]>(sup, { op: 'which' } satisfies DynMsg)
  }

  /** How many children `sup` runs, by kind (`specs` and `active` are equal here). */
  static countChildren(runtime: Runtime, sup: Pid): Promise<ChildCounts> {
    return runtime.call(sup, { op: 'count' } satisfies DynMsg)
  }

  override init(options: DynamicSupervisorOptions): void {
    this.trapExit = true
    this.intensity = restartIntensityOf(options)
    this.maxChildren = options.maxChildren ?? Infinity
  }

  /** Answers the `DynMsg` calls of the static helpers; a failure rejects the caller only. */
  override handleCall(msg: DynMsg, from: From): Promise<unknown> {
    return answerCall(this, from, () => this.dispatch(msg))
  }

  private async dispatch(msg: DynMsg): Promise<unknown> {
    switch (msg.op) {
      case 'start': {
        if (this.children.size >= this.maxChildren) throw new MaxChildren(this.maxChildren)
        const pid = await startChildProcess(this.runtime, this.self, msg.spec)
        this.children.set(pid, { spec: msg.spec, pid })
        return pid
      }
      case 'terminate': {
        const child = this.children.get(msg.pid)
        if (child === undefined) throw new NotFound(`child ${msg.pid}`)
        this.children.delete(msg.pid)
        await shutdownChild(this.runtime, this.self, msg.pid, child.spec.shutdownMs)
        return undefined
      }
      case 'which':
        return [...this.children.values()].map((c) => ({
          id: c.spec.id ?? c.pid,
          pid: c.pid,
          type: c.spec.type ?? 'worker',
          restart: c.spec.restart ?? 'permanent',
        }))
      case 'count': {
        let sups = 0
        for (const c of this.children.values()) if (c.spec.type === 'supervisor') sups++
        const n = this.children.size
        return { specs: n, active: n, workers: n - sups, supervisors: sups }
      }
    }
  }

  /** Handles a child's `EXIT`: restarts it alone, per its policy, or drops it. */
  override async handleInfo(msg: unknown): Promise<void> {
    if (!isExitMessage(msg)) return
    const child = this.children.get(msg.from)
    if (child === undefined) return
    this.children.delete(msg.from)
    if (!shouldRestart(child.spec.restart ?? 'permanent', msg.reason)) return
    this.runtime.logger.warn(
      {
        supervisor: this.self,
        child: child.spec.id ?? msg.from,
        reason: describeReason(msg.reason),
      },
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
    try {
      const pid = await startChildProcess(this.runtime, this.self, child.spec)
      this.children.set(pid, { spec: child.spec, pid })
    } catch (e) {
      this.runtime.logger.error({ supervisor: this.self, err: e }, 'restart failed; child dropped')
    }
  }

  /** Stops every child, newest first, each within its `shutdownMs`. */
  override async terminate(): Promise<void> {
    for (const c of [...this.children.values()].reverse()) {
      await shutdownChild(this.runtime, this.self, c.pid, c.spec.shutdownMs)
    }
    this.children.clear()
  }
}
