// Helpers shared by the registry tests: registries started on every node of a cluster (and seen
// by each other), small actors to register, exit reasons, and recorded registry events.
import { Actor, type ExitReason, type Pid } from '@swormjs/actor'
import type { Node, NodeOptions } from '@swormjs/cluster'
import { Registry, type Name, type RegistryOptions, type UnregisterReason } from '@swormjs/registry'
import { fastFailureDetection, waitUntil } from '../../src/index.js'

/** Failure detection fast enough for tests that wait on it. */
export const FAST: NodeOptions = fastFailureDetection(100, 400)

/** Bound of waits for replication and convergence: generous, the machine is shared. */
export const CONVERGE_MS = 5000

/** A process that does nothing: something to register. */
export class Idle extends Actor {}

/** Answers every call with `{ echo: msg, node }`; keeps plain messages for `'inbox'`. */
export class Echo extends Actor {
  readonly got: unknown[] = []
  override handleInfo(msg: unknown): void {
    this.got.push(msg)
  }
  override handleCall(msg: unknown): unknown {
    if (msg === 'inbox') return this.got
    return { echo: msg, node: this.runtime.nodeId }
  }
}

/** Crashes on any call. */
export class Crasher extends Actor {
  override handleCall(): never {
    throw new Error('boom')
  }
}

/** Starts the registry `name` on every node, and waits until each sees all the others. */
export async function startRegistries(
  nodes: readonly Node[],
  name = 'r',
  options: RegistryOptions = {},
): Promise<Registry[]> {
  const regs = await Promise.all(nodes.map((n) => Registry.start(n, name, options)))
  await waitUntil(
    () => regs.every((r) => r.stats().nodes === nodes.length),
    CONVERGE_MS,
    'every registry to see the others',
  )
  return regs
}

/** Spawns an idle process on `node`. */
export function idle(node: Node): Pid {
  return node.runtime.spawn(Idle, undefined)
}

/** Resolves with the reason `pid` (a process of `node`) ends with. */
export function exitOf(node: Node, pid: Pid): Promise<ExitReason> {
  return new Promise((resolve) => node.runtime.monitor((reason) => resolve(reason), pid))
}

/** What `fn` throws; fails the test if it returns. */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn()
  } catch (e) {
    return e
  }
  throw new Error('expected the call to throw, but it returned')
}

/** One registry event as a listener saw it. */
export type RegistryEvent =
  | { event: 'register'; name: Name; pid: Pid; meta: unknown }
  | { event: 'unregister'; name: Name; pid: Pid; reason: UnregisterReason }

/** Keeps every event `reg` emits from now on. */
export function recordEvents(reg: Registry): RegistryEvent[] {
  const events: RegistryEvent[] = []
  reg.on('register', (name, pid, meta) => events.push({ event: 'register', name, pid, meta }))
  reg.on('unregister', (name, pid, reason) =>
    events.push({ event: 'unregister', name, pid, reason }),
  )
  return events
}

/** Every registry's `registered()`, sorted, so that views compare with `toEqual`. */
export function views(regs: readonly Registry[]): Array<Array<[Name, Pid]>> {
  return regs.map((r) =>
    r.registered().sort((x, y) => (JSON.stringify(x[0]) < JSON.stringify(y[0]) ? -1 : 1)),
  )
}

/** True when every registry resolves `name` to the same defined pid. */
export function agreeOn(regs: readonly Registry[], name: Name): boolean {
  const first = regs[0]?.whereis(name)
  return first !== undefined && regs.every((r) => r.whereis(name) === first)
}
