// Process groups: the members of each group on the live nodes, and the groups each local process
// joined. A process of another node joins and leaves through its own node, the writer of its
// memberships; publish and multiCall reach every member.
import { NoProc, abortable, nodeOf, type NodeId, type Pid, type Runtime } from '@swormjs/actor'
import type { ServerRequest } from './RegistryServer.js'
import type { MultiCallResult } from './types.js'

const SEP = '\u0000'

/** A membership's key in its node's doc: the group's key and the member's pid. */
export function memberKey(groupKey: string, pid: Pid): string {
  return groupKey + SEP + pid
}

/** What the groups need from their registry. */
export interface GroupsHost {
  readonly runtime: Pick<Runtime, 'isLocal' | 'isAlive' | 'send' | 'call'>
  /** Writes the membership `memberKey` of a local process into this node's doc. */
  writeJoin(memberKey: string): void
  /** Deletes it there. */
  writeLeave(memberKey: string): void
  /** Calls the registry server of `node`; undefined when that node cannot be asked. */
  callServer(node: NodeId, request: ServerRequest): Promise<unknown> | undefined
}

export class Groups {
  private readonly host: GroupsHost
  /** Group key → members (live nodes only). */
  private readonly members = new Map<string, Set<Pid>>()
  /** Groups each local process joined. */
  private readonly local = new Map<Pid, Set<string>>()

  constructor(host: GroupsHost) {
    this.host = host
  }

  /** Adds `pid` to the group (idempotent). A process of another node is added by its node. */
  async join(groupKey: string, pid: Pid): Promise<void> {
    const rt = this.host.runtime
    if (rt.isLocal(pid)) {
      if (!rt.isAlive(pid)) throw new NoProc(pid)
      this.joinLocal(groupKey, pid)
      return
    }
    await this.askOwner(pid, { op: 'join', group: groupKey, pid })
  }

  /** Removes `pid` from the group (idempotent). */
  async leave(groupKey: string, pid: Pid): Promise<void> {
    if (this.host.runtime.isLocal(pid)) {
      this.leaveLocal(groupKey, pid)
      return
    }
    await this.askOwner(pid, { op: 'leave', group: groupKey, pid })
  }

  joinLocal(groupKey: string, pid: Pid): void {
    if (!this.host.runtime.isAlive(pid)) throw new NoProc(pid)
    const mine = this.local.get(pid)
    if (mine?.has(groupKey)) return
    this.host.writeJoin(memberKey(groupKey, pid))
    if (mine === undefined) this.local.set(pid, new Set([groupKey]))
    else mine.add(groupKey)
    this.addMember(groupKey, pid)
  }

  leaveLocal(groupKey: string, pid: Pid): void {
    const mine = this.local.get(pid)
    if (mine === undefined || !mine.delete(groupKey)) return
    if (mine.size === 0) this.local.delete(pid)
    this.host.writeLeave(memberKey(groupKey, pid))
    this.removeMember(groupKey, pid)
  }

  /** The members of the group on live nodes. */
  membersOf(groupKey: string): Pid[] {
    return [...(this.members.get(groupKey) ?? [])]
  }

  /** The keys of the groups `pid`, a local process, joined. */
  joinedBy(pid: Pid): string[] {
    return [...(this.local.get(pid) ?? [])]
  }

  /** Sends `msg` to every member; returns how many it was sent to. */
  publish(groupKey: string, msg: unknown): number {
    const members = this.membersOf(groupKey)
    for (const pid of members) this.host.runtime.send(pid, msg)
    return members.length
  }

  /** Calls every member at once; each member's reply or failure, none dropped. */
  async multiCall(
    groupKey: string,
    msg: unknown,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<MultiCallResult[]> {
    const members = this.membersOf(groupKey)
    const calls = Promise.all(
      members.map((pid) =>
        this.host.runtime
          .call(pid, msg, signal === undefined ? { timeoutMs } : { timeoutMs, signal })
          .then(
            (value): MultiCallResult => ({ pid, ok: true, value }),
            (error: unknown): MultiCallResult => ({ pid, ok: false, error }),
          ),
      ),
    )
    return abortable(calls, signal, 'multiCall')
  }

  /** A membership entry (`memberKey`) is in, or gone from, the doc of a live node. */
  apply(memberKey: string, present: boolean): void {
    const sep = memberKey.lastIndexOf(SEP)
    if (sep < 0) return
    const groupKey = memberKey.slice(0, sep)
    const pid = memberKey.slice(sep + 1) as Pid
    if (present) this.addMember(groupKey, pid)
    else this.removeMember(groupKey, pid)
  }

  /** Forgets the groups of `pid`, a local process that exited, and returns them. */
  takeLocal(pid: Pid): Set<string> | undefined {
    const groups = this.local.get(pid)
    this.local.delete(pid)
    return groups
  }

  /** `pid` is no longer a member of any of `groupKeys` (its memberships are deleted). */
  removeMemberships(pid: Pid, groupKeys: Iterable<string>): void {
    for (const g of groupKeys) this.removeMember(g, pid)
  }

  /** The registry stopped: no group has members any more. */
  clear(): void {
    this.members.clear()
  }

  private async askOwner(pid: Pid, request: ServerRequest): Promise<void> {
    const call = this.host.callServer(nodeOf(pid), request)
    if (call === undefined) throw new NoProc(pid)
    await call
  }

  private addMember(groupKey: string, pid: Pid): void {
    let set = this.members.get(groupKey)
    if (set === undefined) {
      set = new Set()
      this.members.set(groupKey, set)
    }
    set.add(pid)
  }

  private removeMember(groupKey: string, pid: Pid): void {
    const set = this.members.get(groupKey)
    if (set === undefined) return
    set.delete(pid)
    if (set.size === 0) this.members.delete(groupKey)
  }
}
