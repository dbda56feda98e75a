// The process table of one runtime: every local process by pid, from its spawn until it has
// ended, and the pid serial that names the next one.
import { RuntimeStopped } from './errors.js'
import type { SpawnOptions } from './options.js'
import { formatPid, serialIn, serialOf, type NodeId, type Pid } from './Pid.js'
import { kAttach, Proc, type Behavior } from './Process.js'

/** What a spawn needs from the rest of the runtime. */
export interface ProcessTableHost {
  /** The runtime the new processes belong to (what their handle's `runtime` gives). */
  readonly runtime: Proc['runtime']
  /** The runtime has shut down: a spawn throws `RuntimeStopped`. */
  stopped(): boolean
  /** Throws `AlreadyRegistered` if `name` is taken. */
  assertNameFree(name: string): void
  claimName(name: string, proc: Proc): void
  link(a: Pid, b: Pid): void
  schedule(proc: Proc): void
}

/** Where the other parts look a process up. */
export interface ProcLookup {
  /** The live (or exiting) local process of `pid`. */
  get(pid: Pid): Proc | undefined
  /** True when `pid` belongs to this node incarnation, alive or not. */
  isLocal(pid: Pid): boolean
}

/** Every local process of one runtime. */
export class ProcessTable implements ProcLookup {
  private readonly host: ProcessTableHost
  private readonly nodeId: NodeId
  /**
   * Every process by its pid's serial, in spawn order: a peer names a process of this node by
   * its serial alone, and a lookup by pid reads the serial off the pid and compares the pid. One
   * table, keyed by numbers: a table by pid beside it cost every spawn and exit a second insert
   * and delete, hashed each pid that came off the wire afresh, and grew in a step of its own.
   */
  private readonly bySerial = new Map<number, Proc>()
  private readonly localPrefix: string
  private serial = 1
  private spawnedTotal = 0

  constructor(host: ProcessTableHost, nodeId: NodeId) {
    this.host = host
    this.nodeId = nodeId
    this.localPrefix = `<${nodeId}.`
  }

  /** The live (or exiting) local process of `pid`. */
  get(pid: Pid): Proc | undefined {
    const proc = this.bySerial.get(serialIn(pid))
    return proc !== undefined && proc.pid === pid ? proc : undefined
  }

  /** The live (or exiting) local process whose pid has serial `serial`. */
  getBySerial(serial: number): Proc | undefined {
    return this.bySerial.get(serial)
  }

  has(pid: Pid): boolean {
    return this.get(pid) !== undefined
  }

  /** True when `pid` belongs to this node incarnation, alive or not. */
  isLocal(pid: Pid): boolean {
    return pid.startsWith(this.localPrefix)
  }

  get size(): number {
    return this.bySerial.size
  }

  /** Processes spawned since start. */
  get spawned(): number {
    return this.spawnedTotal
  }

  pids(): Pid[] {
    return Array.from(this.bySerial.values(), (p) => p.pid)
  }

  /** Every process, the newest first (the order a shutdown stops them in). */
  newestFirst(): Proc[] {
    return [...this.bySerial.values()].reverse()
  }

  /** Takes an ended process out of the table. */
  remove(proc: Proc): void {
    this.bySerial.delete(serialOf(proc.pid))
  }

  /**
   * Spawns and resolves with `done(pid, info)` straight from the init's end, with no promise hop
   * in between, so what the starter does next runs in the same turn (an extra hop here made the
   * demo double-count increments across moves). Rejects as `spawn`'s waiter does.
   */
  start<T>(
    behavior: Behavior,
    args: unknown,
    options: SpawnOptions,
    done: (pid: Pid, info: unknown) => T,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiter = { resolve: (pid: Pid, info: unknown) => resolve(done(pid, info)), reject }
      const proc = this.spawn(behavior, args, options, waiter)
      if (proc.status === 'alive') resolve(done(proc.pid, undefined))
    })
  }

  /** Makes a process of `behavior` and queues its `init(args)`; `waiter` hears how it went. */
  spawn(
    behavior: Behavior,
    args: unknown,
    options: SpawnOptions,
    waiter?: Proc['initWaiter'],
  ): Proc {
    if (this.host.stopped()) throw new RuntimeStopped()
    // A taken name refuses the spawn before any pid is made or counted.
    if (options.name !== undefined) this.host.assertNameFree(options.name)
    const serial = this.serial++
    const pid = formatPid(this.nodeId, serial)
    const proc = new Proc(pid, this.host.runtime, behavior)
    behavior[kAttach](proc)
    this.bySerial.set(serial, proc)
    this.spawnedTotal++
    if (options.trapExit) proc.trapExit = true
    if (options.name !== undefined) this.host.claimName(options.name, proc)
    const linkTo = options.parent ?? options.link
    if (options.parent !== undefined) proc.parent = options.parent
    proc.status = 'initializing'
    proc.initArgs = args
    if (options.handoff !== undefined || options.adopted === true) {
      proc.initStart = {
        ...(options.handoff === undefined ? {} : { handoff: options.handoff }),
        ...(options.adopted === true ? { adopted: true } : {}),
      }
    }
    proc.initWaiter = waiter
    if (linkTo !== undefined) this.host.link(pid, linkTo)
    if (proc.status === 'initializing') this.host.schedule(proc)
    return proc
  }
}
