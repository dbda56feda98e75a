// The peer table and the members: the peers connected now (one per node, the other of two
// duplicate connections dropped), every node heard of with its status, the gossip of members,
// and a peer's way from connected through caught up (`nodeUp`), perhaps unreachable for a while
// (`unreachable`, `reachable`), to down (`nodeDown`).
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import type { RawData, WebSocket } from 'ws'
import {
  actorDefaults,
  nodeOf,
  type Clock,
  type Emitter,
  type Logger,
  type NodeId,
  type Pid,
} from '@swormjs/actor'
import { dispatchFrames, type FrameTargets } from './dispatch.js'
import { nodeDefaults } from './defaults.js'
import { Frame, writeMembers, type HelloFrame, type MemberEntry } from './frames.js'
import { Inbox } from './Inbox.js'
import { Peer } from './Peer.js'
import { logSocketError, normalizeUrl, toBytes } from './sockets.js'
import type { DownReason, NodeEvents, NodeInfo } from './types.js'

/** Pids whose peer `Membership.peerOfPid` keeps at most (then it starts again). */
const PEER_CACHE_MAX = 1024

/** What the peer table needs of its node. */
export interface MembershipHost {
  readonly id: NodeId
  readonly name: string
  readonly url: string
  readonly clock: Clock
  readonly logger: Logger
  readonly events: Pick<Emitter<NodeEvents>, 'emit'>
  /** False once the node began to stop: no peer is taken up, none is redialed. */
  running(): boolean
  /** Where the frames of a peer go, besides the peer table's own. */
  readonly route: FrameTargets['route'] & { peerGone(peer: Peer): void }
  /** The replicated docs: announced to each new peer, and sent before any other frame. */
  readonly docs: FrameTargets['docs'] & {
    peerUp(peer: Peer): void
    peerGone(peer: Peer): void
    readonly dirty: boolean
    flushPending(): void
  }
  /** The runtime hears of a node gone (its links and monitors fire). */
  nodeDown(node: NodeId): void
  /**
   * Failure detection: told of each peer that joins, each heartbeat and each other message it
   * sends, and each peer that goes.
   */
  readonly detector: {
    watch(peer: Peer): void
    beat(peer: Peer): void
    heard(peer: Peer): void
    forget(peer: Peer): void
    /** Tells a pause of this node, if it was paused, before anything it reads is acted on. */
    checkPause(): void
  }
  /** Dials a member heard of through gossip. */
  dial(url: string): void
  /** A peer is up at these URLs (their dials stop). */
  connected(urls: ReadonlyArray<string | undefined>): void
  /** A peer at these URLs went down, not by leaving (dial them again if still wanted). */
  lost(urls: ReadonlyArray<string | undefined>): void
}

export class Membership {
  private readonly host: MembershipHost
  private readonly maxFrameBytes: number
  private readonly forgetAfterMs: number
  private readonly peers = new Map<NodeId, Peer>()
  /**
   * The peer of each pid messages went to lately: a pid names its node inside its string, so
   * finding the peer otherwise slices a new node id out of it and hashes that on every message,
   * where a pid a process keeps sending to is one string whose hash V8 keeps. Emptied whenever
   * a peer comes or goes, and when it reaches `PEER_CACHE_MAX` pids.
   */
  private readonly peerOfPids = new Map<Pid, Peer>()
  private readonly known = new Map<NodeId, NodeInfo>()
  /** Gossiped members ignored because `maxMembers` were known already. */
  membersIgnored = 0
  private readonly frames: FrameTargets
  /** Messages read from peers, handled a bounded amount per turn. */
  private readonly inbox: Inbox<Peer>

  constructor(host: MembershipHost, options: { maxFrameBytes: number; forgetAfterMs: number }) {
    this.host = host
    this.maxFrameBytes = options.maxFrameBytes
    this.forgetAfterMs = options.forgetAfterMs
    this.inbox = new Inbox<Peer>(
      { handle: (peer, ws, bytes) => this.handle(peer, ws, bytes) },
      {
        turnBytes: nodeDefaults.turnReadBytes,
        sliceMs: actorDefaults.sliceMs,
        pauseBytes: nodeDefaults.inboxPauseBytes,
      },
    )
    this.frames = {
      heartbeat: (peer) => host.detector.beat(peer),
      heard: (peer) => host.detector.heard(peer),
      route: host.route,
      docs: host.docs,
      leaving: (peer) => this.leaving(peer),
      members: (list) => this.onMembers(list),
      synced: (peer) => this.synced(peer),
    }
  }

  /** The connected peer of `node`. */
  peer(node: NodeId): Peer | undefined {
    return this.peers.get(node)
  }

  /** The connected peer of the node of `pid` (`peer(nodeOf(pid))`, kept per pid). */
  peerOfPid(pid: Pid): Peer | undefined {
    const kept = this.peerOfPids.get(pid)
    if (kept !== undefined) return kept
    const peer = this.peers.get(nodeOf(pid))
    if (peer === undefined) return undefined
    if (this.peerOfPids.size >= PEER_CACHE_MAX) this.peerOfPids.clear()
    this.peerOfPids.set(pid, peer)
    return peer
  }

  /** Every connected peer. */
  connectedPeers(): IterableIterator<Peer> {
    return this.peers.values()
  }

  /** The members that are up now (connected and caught up), unreachable ones included. */
  nodes(): NodeInfo[] {
    const out: NodeInfo[] = []
    for (const [id, peer] of this.peers) {
      const m = this.known.get(id)
      if (m !== undefined && peer.synced) out.push({ ...m })
    }
    return out
  }

  /** True for a node this one has met or heard of from a member. */
  isMember(id: string): boolean {
    return this.known.has(id as NodeId)
  }

  /** Every member heard of, with its status. */
  members(): NodeInfo[] {
    return [...this.known.values()].map((m) => ({ ...m }))
  }

  isUp(node: NodeId): boolean {
    return this.peers.get(node)?.synced === true
  }

  /** How many peers are connected, and the bytes sent to and received from them. */
  stats(): {
    peers: number
    bytesOut: number
    bytesIn: number
    framesOut: number
    framesIn: number
    watchesForPeers: number
  } {
    let bytesOut = 0
    let bytesIn = 0
    let framesOut = 0
    let framesIn = 0
    let watchesForPeers = 0
    for (const p of this.peers.values()) {
      bytesOut += p.bytesOut
      bytesIn += p.bytesIn
      framesOut += p.framesOut
      framesIn += p.framesIn
      watchesForPeers += p.monitorsFromPeer.size
    }
    return { peers: this.peers.size, bytesOut, bytesIn, framesOut, framesIn, watchesForPeers }
  }

  /** True when a connected peer is reached at `url` (advertised, or dialed). */
  peerAt(url: string): boolean {
    for (const p of this.peers.values()) if (p.url === url || p.dialedUrl === url) return true
    return false
  }

  /** True when a member at `url` is down or only heard of, and this node is the one to dial it. */
  memberToDial(url: string): boolean {
    for (const m of this.known.values()) {
      // Of two nodes that lost each other, the one with the smaller id dials: one connection.
      if (m.url === url && (m.status === 'down' || m.status === 'known') && this.host.id < m.id)
        return true
    }
    return false
  }

  /** A handshake is done: `ws` joins this node to `ident`, dialed by `dialerId` at `dialedUrl`. */
  up(
    ws: WebSocket,
    ident: HelloFrame,
    dialerId: string,
    protocol: number,
    dialedUrl?: string,
  ): void {
    const id = ident.nodeId as NodeId
    if (!this.host.running()) {
      ws.close(1000)
      return
    }
    const existing = this.peers.get(id)
    if (existing !== undefined) {
      // Two connections to one peer (both dialed at once): keep the one the smaller id dialed,
      // or the newer of two alike. Both sides apply the same rule.
      const min = id < this.host.id ? id : this.host.id
      const newPreferred = dialerId === min
      const oldPreferred = existing.dialerId === min
      if (oldPreferred && !newPreferred) {
        ws.close(4001, 'duplicate connection')
        return
      }
      const old = existing.ws
      existing.replaceSocket(ws)
      existing.dialerId = dialerId
      if (dialedUrl !== undefined && dialedUrl !== existing.url) existing.dialedUrl = dialedUrl
      this.attach(existing, ws)
      old.close(4001, 'duplicate connection')
      // Frames the peer sent on the old connection after it chose it may be lost with it:
      // announce our docs and members again on the one kept (both are idempotent).
      this.announce(existing)
      const list = this.memberList()
      existing.write((enc) => writeMembers(enc, list))
      return
    }
    const peer = new Peer(
      id,
      ident.name,
      ident.url,
      ws,
      dialerId,
      this.host.clock,
      this.beforeSeal,
      this.maxFrameBytes,
    )
    if (dialedUrl !== undefined && dialedUrl !== ident.url) peer.dialedUrl = dialedUrl
    peer.protocol = protocol
    this.peers.set(id, peer)
    this.peerOfPids.clear()
    this.host.detector.watch(peer)
    this.known.set(id, { id, name: ident.name, url: ident.url, status: 'known' })
    this.host.connected([ident.url, peer.dialedUrl])
    this.attach(peer, ws)
    this.host.logger.debug(
      { peer: ident.name, url: ident.url },
      'connected; catching up on its docs',
    )
    this.announce(peer)
    const list = this.memberList()
    for (const p of this.peers.values()) p.write((enc) => writeMembers(enc, list))
  }

  /** `peer` is down for `reason`: out of the table, its member marked, everyone told. */
  down(peer: Peer, reason: DownReason): void {
    if (this.peers.get(peer.nodeId) !== peer) return
    this.peers.delete(peer.nodeId)
    this.peerOfPids.clear()
    this.inbox.forget(peer)
    this.host.detector.forget(peer)
    this.host.route.peerGone(peer)
    this.host.docs.peerGone(peer)
    const m = this.known.get(peer.nodeId)
    if (m !== undefined) m.status = reason === 'leave' ? 'left' : 'down'
    if (reason === 'timeout') peer.ws.terminate()
    const { logger } = this.host
    const log = reason === 'leave' ? logger.info.bind(logger) : logger.warn.bind(logger)
    log({ peer: peer.name, url: peer.url, reason }, 'node down')
    this.host.nodeDown(peer.nodeId)
    // A peer that never caught up was never reported up: it is not reported down either.
    if (peer.synced) this.host.events.emit('nodeDown', { ...(m ?? infoOf(peer)) }, reason)
    if (reason !== 'leave') this.host.lost([peer.url, peer.dialedUrl])
  }

  /**
   * `peer` is suspected (`why` says how silent it is): it is marked, logged and reported, and
   * nothing else: it stays connected and up, its names and children stay where they are.
   */
  unreachable(peer: Peer, why: { silentMs: number; phi: number }): void {
    if (this.peers.get(peer.nodeId) !== peer) return
    const m = this.known.get(peer.nodeId)
    if (m?.status === 'up') m.status = 'unreachable'
    this.host.logger.warn(
      {
        peer: peer.name,
        url: peer.url,
        silentMs: Math.round(why.silentMs),
        phi: Math.round(why.phi * 10) / 10,
      },
      'node unreachable: suspected, not down yet',
    )
    if (peer.synced) this.host.events.emit('unreachable', { ...(m ?? infoOf(peer, 'unreachable')) })
  }

  /** `peer`, unreachable for `afterMs`, was heard from again: as if nothing happened. */
  reachable(peer: Peer, afterMs: number): void {
    if (this.peers.get(peer.nodeId) !== peer) return
    const m = this.known.get(peer.nodeId)
    if (m?.status === 'unreachable') m.status = 'up'
    this.host.logger.warn(
      { peer: peer.name, url: peer.url, afterMs: Math.round(afterMs) },
      'node reachable again',
    )
    if (peer.synced) this.host.events.emit('reachable', { ...(m ?? infoOf(peer, 'up')) })
  }

  /** Tells every peer this node is leaving, at once. */
  sayLeaving(): void {
    for (const p of this.peers.values()) p.write((enc) => encoding.writeVarUint(enc, Frame.Leaving))
    for (const p of this.peers.values()) p.flush()
  }

  /** Resolves once every peer's socket has sent what was queued (or `timeoutMs` passed). */
  async drain(timeoutMs: number): Promise<void> {
    await Promise.all([...this.peers.values()].map((p) => p.drain(timeoutMs)))
  }

  /** Closes every peer's socket (`leave`: with a goodbye; `cut`: as a crash would). */
  close(how: 'leave' | 'cut'): void {
    for (const p of [...this.peers.values()]) {
      if (how === 'leave') p.ws.close(1000, 'leave')
      else p.ws.terminate()
    }
    this.peers.clear()
  }

  /** A peer's batch is about to be sealed: the docs' pending updates go in first. */
  private readonly beforeSeal = (): void => {
    if (this.host.docs.dirty) this.host.docs.flushPending()
  }

  /**
   * Announces our docs to a peer and starts the catch-up handshake: the peer counts as up
   * (`nodeUp`, `isUp`, `nodes()`) only once our replicas of its docs have caught up, so that
   * nothing above (a registry's conflict rule, a supervisor's duplicate rule) ever decides on a
   * stale replica of a node that has just come back.
   */
  private announce(peer: Peer): void {
    this.host.docs.peerUp(peer)
    peer.write((enc) => encoding.writeVarUint(enc, Frame.AnnounceEnd))
  }

  private attach(peer: Peer, ws: WebSocket): void {
    ws.on('message', (data: RawData) => this.received(peer, ws, data))
    ws.on('close', () => {
      // After a pause, the pause is told before the peers it lost are.
      this.host.detector.checkPause()
      if (peer.ws === ws) this.down(peer, peer.leaving ? 'leave' : 'closed')
    })
    ws.on('error', (e) => logSocketError(this.host.logger, e, { peer: peer.name }, 'peer'))
  }

  private received(peer: Peer, ws: WebSocket, data: RawData): void {
    if (this.peers.get(peer.nodeId) !== peer) return
    this.host.detector.checkPause()
    const bytes = toBytes(data)
    peer.bytesIn += bytes.length
    this.inbox.received(peer, ws, bytes)
  }

  /** Handles one message of `peer` (now, or in a later turn when it had to wait). */
  private handle(peer: Peer, ws: WebSocket, bytes: Uint8Array): void {
    if (this.peers.get(peer.nodeId) !== peer) return
    try {
      dispatchFrames(peer, decoding.createDecoder(bytes), this.frames)
    } catch (e) {
      this.host.logger.warn(
        { peer: peer.name, err: e },
        'malformed frame from peer; closing the connection',
      )
      ws.close(1002, 'malformed frame')
      if (peer.ws === ws) this.down(peer, 'protocol')
    }
  }

  private leaving(peer: Peer): void {
    peer.leaving = true
    const m = this.known.get(peer.nodeId)
    if (m !== undefined) m.status = 'leaving'
  }

  private synced(peer: Peer): void {
    if (peer.synced || this.peers.get(peer.nodeId) !== peer) return
    peer.synced = true
    const m = this.known.get(peer.nodeId)
    if (m === undefined) return
    if (m.status !== 'leaving') m.status = 'up'
    this.host.logger.info({ peer: peer.name, url: peer.url }, 'node up')
    this.host.events.emit('nodeUp', { ...m })
  }

  /**
   * Members a peer tells of. At most `maxMembers` are known at once: a peer that gossips
   * thousands of made-up members has the rest ignored (logged once). A member heard of and never
   * reached is forgotten after `forgetAfterMs` (its dials stop; a later word of it starts over).
   */
  private onMembers(list: MemberEntry[]): void {
    for (const m of list) {
      const id = m.nodeId as NodeId
      if (id === this.host.id || this.peers.has(id)) continue
      const known = this.known.get(id)
      if (known === undefined) {
        if (this.known.size >= nodeDefaults.maxMembers) {
          this.membersIgnored++
          if (this.membersIgnored === 1) {
            this.host.logger.warn(
              { max: nodeDefaults.maxMembers },
              'gossiped members past maxMembers ignored',
            )
          }
          continue
        }
        this.known.set(id, { id, name: m.name, url: normalizeUrl(m.url), status: 'known' })
        this.forgetIfNeverReached(id)
      } else if (known.status === 'left') {
        continue
      }
      if (this.host.id < id) this.host.dial(normalizeUrl(m.url))
    }
  }

  /** Forgets `id` after `forgetAfterMs` unless it was reached meanwhile. */
  private forgetIfNeverReached(id: NodeId): void {
    const heard = this.known.get(id)
    this.host.clock.setTimeout(() => {
      const now = this.known.get(id)
      if (now === heard && now?.status === 'known' && !this.peers.has(id)) this.known.delete(id)
    }, this.forgetAfterMs)
  }

  private memberList(): MemberEntry[] {
    const { id, name, url } = this.host
    const list: MemberEntry[] = [{ nodeId: id, name, url }]
    for (const p of this.peers.values()) {
      if (!p.leaving) list.push({ nodeId: p.nodeId, name: p.name, url: p.url })
    }
    return list
  }
}

function infoOf(peer: Peer, status: NodeInfo['status'] = 'down'): NodeInfo {
  return { id: peer.nodeId, name: peer.name, url: peer.url, status }
}
