// How a runtime's parts are wired together: one host object serves them all, and each part sees
// it only through its own narrow interface, so that no part holds another's state.
import { Calls, type CallsHost } from './Calls.js'
import { ExitSignals, type ExitSignalsHost } from './ExitSignals.js'
import { Links, type LinksHost } from './Links.js'
import { LocalNames } from './LocalNames.js'
import type { Proc } from './Process.js'
import { ProcessTable, type ProcessTableHost } from './ProcessTable.js'
import type { Route } from './Route.js'
import { Scheduler, type SchedulerHost } from './Scheduler.js'
import { Timers, type TimersHost } from './Timers.js'

/** The parts of one runtime, each the owner of its own state. */
export interface RuntimeParts {
  readonly table: ProcessTable
  readonly scheduler: Scheduler
  readonly calls: Calls
  readonly exits: ExitSignals
  readonly links: Links
  readonly names: LocalNames
  readonly timers: Timers
}

/** What the runtime keeps for itself and its parts read: its route and whether it has stopped. */
export interface RuntimeState {
  readonly route: () => Route | undefined
  readonly stopped: () => boolean
}

type Host = ProcessTableHost & SchedulerHost & CallsHost & ExitSignalsHost & LinksHost & TimersHost

/** Makes the parts of `runtime`, which reads its own route and stop through `state`. */
export function assembleParts(
  runtime: Proc['runtime'],
  state: RuntimeState,
  reductions: number,
): RuntimeParts {
  // The arrows reach parts made below: they run only once every part exists.
  const host: Host = {
    runtime,
    nodeId: runtime.nodeId,
    clock: runtime.clock,
    logger: runtime.logger,
    route: state.route,
    stopped: state.stopped,
    makeRef: () => runtime.makeRef(),
    send: (to, msg) => runtime.send(to, msg),
    proc: (pid) => table.get(pid),
    isLocal: (pid) => table.isLocal(pid),
    forget: (proc) => {
      table.remove(proc)
      names.release(proc)
    },
    assertNameFree: (name) => names.assertFree(name),
    claimName: (name, proc) => names.claim(name, proc),
    schedule: (proc) => scheduler.schedule(proc),
    enqueue: (proc, msg) => scheduler.enqueue(proc, msg),
    terminate: (proc, why, initFailed) => exits.terminate(proc, why, initFailed),
    signal: (proc, from, reason, viaLink) => exits.signal(proc, from, reason, viaLink),
    link: (a, b) => links.link(a, b),
    unlink: (a, b) => links.unlink(a, b),
    dropRemoteLink: (proc, remote) => links.dropRemoteLink(proc, remote),
    processEnded: (proc, reason) => links.processEnded(proc, reason),
    watch: (proc, ref, watcher) => links.watch(proc, ref, watcher),
    watchRemote: (ref, target, watcher) => links.watchRemote(ref, target, watcher),
    unwatchRemote: (ref) => links.unwatchRemote(ref),
    unwatch: (ref, target) => links.unwatch(ref, target),
    cancelTimers: (proc) => timers.cancelOwned(proc),
  }
  const table = new ProcessTable(host, runtime.nodeId)
  const names = new LocalNames()
  const scheduler = new Scheduler(host, reductions)
  const calls = new Calls(host)
  const exits = new ExitSignals(host)
  const links = new Links(host)
  const timers = new Timers(host)
  return { table, scheduler, calls, exits, links, names, timers }
}
