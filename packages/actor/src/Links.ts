// Links and monitors, local and remote: who hears of whose end. It owns the monitor tables and
// the processes' `links`, `monitoring` and `monitoredBy`, and tells them all when a process ends.
import { NoProc } from './errors.js'
import type { ExitReason } from './exitReason.js'
import { isPid, nodeOf, type NodeId, type Pid, type Ref } from './Pid.js'
import type { Proc, Watcher } from './Process.js'
import type { ProcLookup } from './ProcessTable.js'
import { routeTo, type Route } from './Route.js'

/** What links and monitors need from their runtime. */
export interface LinksHost {
  route(): Route | undefined
  readonly procs: ProcLookup
  makeRef(): Ref
  enqueue(proc: Proc, msg: unknown): void
  /** Delivers an exit signal to a local process (Erlang's rules: it may trap it or end). */
  signal(proc: Proc, from: Pid, reason: ExitReason, viaLink: boolean): void
}

/** The links and monitors of one runtime's processes. */
export class Links {
  private readonly host: LinksHost
  /** Monitors on remote pids (by `monitor()` and by calls): ref → what to do when the DOWN comes. */
  private readonly remoteMonitors = new Map<Ref, { target: Pid; watcher: Watcher }>()
  /** Monitors made with `monitor()`, local or remote: ref → target and watcher. */
  private readonly monitors = new Map<Ref, { target: Pid; watcher: Watcher }>()
  /** Local processes that hold links to remote pids. */
  private readonly remoteLinked = new Set<Proc>()

  constructor(host: LinksHost) {
    this.host = host
  }

  // ---------------------------------------------------------------- links

  link(a: Pid, b: Pid): void {
    const pa = this.host.procs.get(a)
    if (pa === undefined) throw new NoProc(a)
    if (a === b || pa.links?.has(b)) return
    const pb = this.host.procs.get(b)
    if (pb !== undefined) {
      ;(pa.links ??= new Set()).add(b)
      ;(pb.links ??= new Set()).add(a)
      return
    }
    if (this.host.procs.isLocal(b) || !isPid(b)) {
      this.host.signal(pa, b, 'noproc', true)
      return
    }
    ;(pa.links ??= new Set()).add(b)
    this.remoteLinked.add(pa)
    let ok = false
    try {
      ok = routeTo(this.host.route(), b).link(a, b)
    } catch {
      ok = false
    }
    if (!ok) {
      pa.links.delete(b)
      this.noteRemoteLinks(pa)
      this.host.signal(pa, b, 'noconnection', true)
    }
  }

  unlink(a: Pid, b: Pid): void {
    const pa = this.host.procs.get(a)
    if (pa === undefined || !pa.links?.delete(b)) return
    const pb = this.host.procs.get(b)
    if (pb !== undefined) pb.links?.delete(a)
    else if (!this.host.procs.isLocal(b)) {
      this.noteRemoteLinks(pa)
      this.host.route()?.unlink(a, b)
    }
  }

  linkFromRemote(local: Pid, remote: Pid): boolean {
    const p = this.host.procs.get(local)
    if (p === undefined || p.status === 'exiting') return false
    ;(p.links ??= new Set()).add(remote)
    this.remoteLinked.add(p)
    return true
  }

  /** Drops `proc`'s link to a remote pid (its node unlinked, or the link fired); false: none. */
  dropRemoteLink(proc: Proc, remote: Pid): boolean {
    if (!proc.links?.delete(remote)) return false
    this.noteRemoteLinks(proc)
    return true
  }

  private noteRemoteLinks(p: Proc): void {
    if (p.links === undefined) return
    for (const l of p.links) if (!this.host.procs.isLocal(l)) return
    this.remoteLinked.delete(p)
  }

  // ---------------------------------------------------------------- monitors

  monitor(watcher: Watcher, target: Pid): Ref {
    const ref = this.host.makeRef()
    const wp = typeof watcher === 'string' ? this.host.procs.get(watcher) : undefined
    if (typeof watcher === 'string' && wp === undefined) throw new NoProc(watcher)
    if (wp !== undefined) (wp.monitoring ??= new Map()).set(ref, target)
    this.monitors.set(ref, { target, watcher })
    const tp = this.host.procs.get(target)
    if (tp !== undefined) {
      // An exiting target is still in the table: the monitor fires when it has ended.
      this.watch(tp, ref, watcher)
      return ref
    }
    if (this.host.procs.isLocal(target) || !isPid(target)) {
      queueMicrotask(() => {
        if (this.monitors.has(ref)) this.fireWatcher(watcher, ref, target, 'noproc')
      })
      return ref
    }
    this.remoteMonitors.set(ref, { target, watcher })
    let ok = false
    try {
      ok = routeTo(this.host.route(), target).monitor(target, ref)
    } catch {
      ok = false
    }
    if (!ok) this.deliverDown(ref, 'noconnection')
    return ref
  }

  demonitor(ref: Ref): void {
    const m = this.monitors.get(ref)
    if (m === undefined) return
    this.monitors.delete(ref)
    if (typeof m.watcher === 'string') this.host.procs.get(m.watcher)?.monitoring?.delete(ref)
    this.dropMonitor(ref, m.target)
  }

  private dropMonitor(ref: Ref, target: Pid): void {
    this.monitors.delete(ref)
    this.unwatch(ref, target)
  }

  monitorFromRemote(target: Pid, ref: Ref, onDown: (reason: ExitReason) => void): boolean {
    const p = this.host.procs.get(target)
    if (p === undefined || p.status === 'exiting') return false
    this.watch(p, ref, onDown)
    return true
  }

  demonitorFromRemote(target: Pid, ref: Ref): void {
    this.host.procs.get(target)?.monitoredBy?.delete(ref)
  }

  /** A remote monitor fired; with `from`, only if its target is a process of node `from`. */
  deliverDown(ref: Ref, reason: ExitReason, from?: NodeId): void {
    const rm = this.remoteMonitors.get(ref)
    if (rm === undefined) return
    if (from !== undefined && nodeOf(rm.target) !== from) return
    this.remoteMonitors.delete(ref)
    this.fireWatcher(rm.watcher, ref, rm.target, reason)
  }

  nodeDown(node: NodeId): void {
    const prefix = `<${node}.`
    for (const [ref, rm] of [...this.remoteMonitors]) {
      if (rm.target.startsWith(prefix)) this.deliverDown(ref, 'noconnection')
    }
    for (const p of [...this.remoteLinked]) {
      if (p.links === undefined) continue
      for (const l of [...p.links]) {
        if (l.startsWith(prefix)) {
          p.links.delete(l)
          this.host.signal(p, l, 'noconnection', true)
        }
      }
      this.noteRemoteLinks(p)
    }
  }

  // ---------------------------------------------------------------- watchers (monitors, calls, stops)

  /** `watcher` hears of `proc`'s end under `ref`. */
  watch(proc: Proc, ref: Ref, watcher: Watcher): void {
    ;(proc.monitoredBy ??= new Map()).set(ref, watcher)
  }

  /** `watcher` hears of remote `target`'s end under `ref`, once its node reports it. */
  watchRemote(ref: Ref, target: Pid, watcher: Watcher): void {
    this.remoteMonitors.set(ref, { target, watcher })
  }

  /** Forgets a remote watch without telling the remote node; false if there was none. */
  unwatchRemote(ref: Ref): boolean {
    return this.remoteMonitors.delete(ref)
  }

  /** Removes the watch `ref` on `target`, local or remote (then the remote node is told). */
  unwatch(ref: Ref, target: Pid, later = false): void {
    const tp = this.host.procs.get(target)
    if (tp !== undefined) {
      tp.monitoredBy?.delete(ref)
      return
    }
    if (this.remoteMonitors.delete(ref)) this.host.route()?.demonitor(target, ref, later)
  }

  private fireWatcher(watcher: Watcher, ref: Ref, pid: Pid, reason: ExitReason): void {
    this.monitors.delete(ref)
    if (typeof watcher === 'function') {
      watcher(reason, pid)
      return
    }
    const w = this.host.procs.get(watcher)
    if (w === undefined) return
    w.monitoring?.delete(ref)
    this.host.enqueue(w, { type: 'DOWN', ref, pid, reason })
  }

  /**
   * `proc` has ended with `reason`: its links get exit signals, its own monitors go, and those
   * watching it hear of it. True if anyone was told (a crash nobody observes gets logged).
   */
  processEnded(proc: Proc, reason: ExitReason): boolean {
    let observed = false
    if (proc.links !== undefined) {
      for (const other of proc.links) {
        observed = true
        const target = this.host.procs.get(other)
        if (target !== undefined) {
          target.links?.delete(proc.pid)
          this.host.signal(target, proc.pid, reason, true)
        } else if (!this.host.procs.isLocal(other)) {
          this.host.route()?.exit(other, proc.pid, reason, true)
        }
      }
      proc.links = undefined
      this.remoteLinked.delete(proc)
    }
    if (proc.monitoring !== undefined) {
      for (const [ref, target] of proc.monitoring) this.dropMonitor(ref, target)
      proc.monitoring = undefined
    }
    if (proc.monitoredBy !== undefined) {
      for (const [ref, watcher] of proc.monitoredBy) {
        observed = true
        this.fireWatcher(watcher, ref, proc.pid, reason)
      }
      proc.monitoredBy = undefined
    }
    return observed
  }
}
