// How a runtime's parts are wired together: each part gets what it needs of the others through
// its own narrow host interface, so that no part holds another's state.
import { Calls } from './Calls.js'
import { ExitSignals, type ExitSignalsHost } from './ExitSignals.js'
import { Links, type LinksHost } from './Links.js'
import { LocalNames } from './LocalNames.js'
import type { Pid } from './Pid.js'
import type { Proc } from './Process.js'
import { ProcessTable } from './ProcessTable.js'
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
  /** Offers a message to a process that is gone to the runtime's dead-letter handlers. */
  readonly deadLetter: (to: Pid, msg: unknown) => boolean
}

/** Makes the parts of `runtime`, which reads its own route and stop through `state`. */
export function assembleParts(
  runtime: Proc['runtime'],
  state: RuntimeState,
  reductions: number,
): RuntimeParts {
  // A part made before another gets it as such; the arrows reach parts made further down (the
  // scheduler, links and exit signals need each other), and run only once every part exists.
  const names = new LocalNames()
  const table = new ProcessTable(
    {
      runtime,
      stopped: state.stopped,
      assertNameFree: (name) => names.assertFree(name),
      claimName: (name, proc) => names.claim(name, proc),
      link: (a, b) => links.link(a, b),
      schedule: (proc) => scheduler.schedule(proc),
    },
    runtime.nodeId,
  )
  const host: SchedulerHost & ExitSignalsHost & LinksHost & TimersHost = {
    clock: runtime.clock,
    logger: runtime.logger,
    route: state.route,
    procs: table,
    makeRef: () => runtime.makeRef(),
    send: (to, msg) => runtime.send(to, msg),
    forget: (proc) => {
      table.remove(proc)
      names.release(proc)
    },
    enqueue: (proc, msg) => scheduler.enqueue(proc, msg),
    terminate: (proc, why, initFailed) => exits.terminate(proc, why, initFailed),
    signal: (proc, from, reason, viaLink) => exits.signal(proc, from, reason, viaLink),
    unlink: (a, b) => links.unlink(a, b),
    dropRemoteLink: (proc, remote) => links.dropRemoteLink(proc, remote),
    processEnded: (proc, reason) => links.processEnded(proc, reason),
    watch: (proc, ref, watcher) => links.watch(proc, ref, watcher),
    cancelTimers: (proc) => timers.cancelOwned(proc),
    deadLetter: (to, msg) => state.deadLetter(to, msg),
  }
  const scheduler = new Scheduler(host, reductions)
  const links = new Links(host)
  const exits = new ExitSignals(host)
  const timers = new Timers(host)
  const calls = new Calls({
    nodeId: runtime.nodeId,
    clock: runtime.clock,
    logger: runtime.logger,
    route: state.route,
    stopped: state.stopped,
    makeRef: () => runtime.makeRef(),
    procs: table,
    scheduler,
    watches: links,
  })
  return { table, scheduler, calls, exits, links, names, timers }
}
