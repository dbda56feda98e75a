// The local name table: at most one process per name and one name per process, held until the
// process ends or the name is unregistered.
import { AlreadyRegistered, BadArgument, NoProc } from './errors.js'
import type { Pid } from './Pid.js'
import type { Proc } from './Process.js'

/** The names of one runtime's processes. */
export class LocalNames {
  private readonly names = new Map<string, Proc>()

  /** Throws `AlreadyRegistered` if `name` is taken (a spawn under it is refused). */
  assertFree(name: string): void {
    const holder = this.names.get(name)
    if (holder !== undefined) throw new AlreadyRegistered(name, holder.pid)
  }

  /** Gives `name` to `proc`, which has none; the caller has checked that it is free. */
  claim(name: string, proc: Proc): void {
    this.names.set(name, proc)
    proc.name = name
  }

  /** Registers `proc` (the process of `pid`, if alive) under `name`. */
  register(name: string, pid: Pid, proc: Proc | undefined): void {
    if (proc === undefined || proc.status === 'exiting') throw new NoProc(pid)
    const holder = this.names.get(name)
    if (holder !== undefined && holder !== proc) throw new AlreadyRegistered(name, holder.pid)
    if (proc.name !== undefined && proc.name !== name) {
      throw new BadArgument(`${pid} is already registered as ${proc.name}`)
    }
    this.claim(name, proc)
  }

  /** Removes a name; false if it was not registered. */
  unregister(name: string): boolean {
    const proc = this.names.get(name)
    if (proc === undefined) return false
    this.names.delete(name)
    proc.name = undefined
    return true
  }

  /** Frees the name of `proc`, which has ended (if the name is still its own). */
  release(proc: Proc): void {
    const name = proc.name
    if (name !== undefined && this.names.get(name) === proc) this.names.delete(name)
  }

  whereis(name: string): Pid | undefined {
    return this.names.get(name)?.pid
  }

  registered(): string[] {
    return [...this.names.keys()]
  }
}
