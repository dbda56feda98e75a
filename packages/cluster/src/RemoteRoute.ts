// Remote processes: the runtime's route to pids of other nodes (send, call replies, links,
// monitors, exit signals as frames), and the reading of those frames when they arrive.
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import {
  describeReason,
  nodeOf,
  nodeOfRef,
  reasonFromWire,
  reasonToWire,
  serialOf,
  type ExitReason,
  type Logger,
  type NodeId,
  type Pid,
  type Ref,
  type Route,
  type Runtime,
} from '@swormjs/actor'
import { prepareValue, preparedBytes, readPayload, writePrepared, type Prepared } from './codec.js'
import { nodeDefaults } from './defaults.js'
import { PeerTally } from './PeerTally.js'
import { NotSerializable } from './errors.js'
import { Frame } from './frames.js'
import type { Peer } from './Peer.js'

/** What `readMessage` gives for a payload that does not decode: why. */
class Undecodable {
  readonly error: NotSerializable
  constructor(error: NotSerializable) {
    this.error = error
  }
}

/** A `Send` frame: `bytes` (a prepared payload) for process `to`. */
function writeSend(peer: Peer, to: Pid, bytes: Prepared): void {
  if (peer.protocol >= 4) {
    // The connection says the node: the serial names the process.
    const serial = serialOf(to)
    peer.write((enc) => {
      encoding.writeVarUint(enc, Frame.SendLocal)
      encoding.writeVarUint(enc, serial)
      writePrepared(enc, bytes)
    })
    return
  }
  peer.write((enc) => {
    encoding.writeVarUint(enc, Frame.Send)
    encoding.writeVarString(enc, to)
    writePrepared(enc, bytes)
  })
}

/** The connected peers, by node and by a pid of the node (see `Membership.peerOfPid`). */
export interface PeerLookup {
  peer(node: NodeId): Peer | undefined
  peerOfPid(pid: Pid): Peer | undefined
}

export class RemoteRoute implements Route {
  private readonly runtime: Runtime
  private readonly peers: PeerLookup
  private readonly logger: Logger
  private readonly maxPayloadBytes: number
  messagesOut = 0
  messagesIn = 0
  dropped = 0
  /** Messages whose payload could not be decoded here, dropped (see `readMessage`). */
  undecodable = 0
  /** Frames dropped because a peer spoke for another node's process or ref. */
  readonly forged = new PeerTally()
  /** Monitors and links refused to a peer past `maxMonitorsPerPeer` or `maxLinksPerPeer`. */
  readonly overLimit = new PeerTally()

  constructor(runtime: Runtime, peers: PeerLookup, logger: Logger, maxPayloadBytes: number) {
    this.runtime = runtime
    this.peers = peers
    this.logger = logger
    this.maxPayloadBytes = maxPayloadBytes
  }

  send(to: Pid, msg: unknown): void {
    const peer = this.peers.peerOfPid(to)
    if (peer === undefined) {
      // As in Erlang, a send to an unreachable node is dropped (the runtime asked its dead-letter
      // handlers before routing it); check serialisability first so a bad message fails the
      // same way whether or not the node is up.
      this.encode(msg)
      this.dropped++
      this.logger.debug({ to }, 'message to an unreachable node dropped')
      return
    }
    const bytes = this.encode(msg)
    this.messagesOut++
    writeSend(peer, to, bytes)
  }

  call(to: Pid, ref: Ref, envelope: unknown): boolean {
    const bytes = this.encode(envelope)
    const peer = this.peers.peerOfPid(to)
    if (peer === undefined) return false
    this.messagesOut++
    if (peer.protocol < 3) {
      // A version 2 peer knows no `Call` frame: a monitor under the call's ref, then the
      // envelope; the caller drops the monitor with a `Demonitor` when the reply comes.
      peer.write((enc) => {
        encoding.writeVarUint(enc, Frame.Monitor)
        encoding.writeVarString(enc, to)
        encoding.writeVarString(enc, ref)
      })
      writeSend(peer, to, bytes)
      return true
    }
    peer.write((enc) => {
      encoding.writeVarUint(enc, Frame.Call)
      encoding.writeVarString(enc, to)
      encoding.writeVarString(enc, ref)
      writePrepared(enc, bytes)
    })
    return true
  }

  reply(ref: Ref, ok: boolean, value: unknown, later = false): void {
    const peer = this.peers.peer(nodeOfRef(ref))
    if (peer === undefined) return
    // The call's watch (see `Frame.Call`) ends with its reply: the caller takes back its half
    // without a frame, since the reply came from the target's node.
    const watched = peer.monitorsFromPeer.get(ref)
    if (watched !== undefined) {
      peer.monitorsFromPeer.delete(ref)
      this.runtime.demonitorFromRemote(watched, ref)
    }
    let bytes: Prepared
    let okFlag = ok
    try {
      bytes = this.encode(ok ? value : reasonToWire(value))
    } catch (e) {
      this.logger.warn({ ref, err: e }, 'reply could not be serialised; the caller gets the error')
      okFlag = false
      bytes = this.encode(reasonToWire(e))
    }
    peer.write((enc) => {
      encoding.writeVarUint(enc, Frame.Reply)
      encoding.writeVarString(enc, ref)
      encoding.writeUint8(enc, okFlag ? 1 : 0)
      writePrepared(enc, bytes)
    }, later)
  }

  exit(to: Pid, from: Pid, reason: ExitReason, viaLink: boolean): void {
    const peer = this.peers.peerOfPid(to)
    if (peer === undefined) return
    const bytes = this.encodeReason(reason)
    peer.write((enc) => {
      encoding.writeVarUint(enc, Frame.Exit)
      encoding.writeVarString(enc, to)
      encoding.writeVarString(enc, from)
      encoding.writeUint8(enc, viaLink ? 1 : 0)
      writePrepared(enc, bytes)
    })
  }

  link(local: Pid, remote: Pid): boolean {
    return this.pair(Frame.Link, local, remote)
  }

  unlink(local: Pid, remote: Pid): void {
    this.pair(Frame.Unlink, local, remote)
  }

  monitor(target: Pid, ref: Ref): boolean {
    return this.pair(Frame.Monitor, target, ref)
  }

  demonitor(target: Pid, ref: Ref, later = false): void {
    this.pair(Frame.Demonitor, target, ref, later)
  }

  /**
   * Writes a frame of two strings to the node of the second-named pid (`later`: with its next
   * frames, see `Peer.write`); false if it is not up.
   */
  private pair(type: number, a: string, b: string, later = false): boolean {
    const node = type === Frame.Link || type === Frame.Unlink ? nodeOf(b as Pid) : nodeOf(a as Pid)
    const peer = this.peers.peer(node)
    if (peer === undefined) return false
    peer.write((enc) => {
      encoding.writeVarUint(enc, type)
      encoding.writeVarString(enc, a)
      encoding.writeVarString(enc, b)
    }, later)
    return true
  }

  /**
   * A message's payload, or an `Undecodable` when its bytes were read whole but do not decode
   * (another Node's v8 format in a rolling upgrade, say): the message is dropped and logged, the
   * connection and the frames after it kept. Bytes it cannot delimit still throw.
   */
  private readMessage(peer: Peer, dec: decoding.Decoder, to: Pid | Ref | number): unknown {
    try {
      return readPayload(dec)
    } catch (e) {
      if (!NotSerializable.is(e)) throw e
      this.undecodable++
      this.logger.warn(
        { from: peer.nodeId, to, err: e },
        'a message that could not be decoded was dropped',
      )
      return new Undecodable(e)
    }
  }

  /** A payload ready to write into a frame (see `writePrepared`), within `maxFrameBytes`. */
  private encode(value: unknown): Prepared {
    const prepared = prepareValue(value)
    const size = preparedBytes(prepared)
    if (size > this.maxPayloadBytes) {
      throw new NotSerializable(
        `${size} bytes is over the limit of ${this.maxPayloadBytes} (maxFrameBytes)`,
      )
    }
    return prepared
  }

  private encodeReason(reason: ExitReason): Prepared {
    try {
      return this.encode(reasonToWire(reason))
    } catch {
      return this.encode(describeReason(reason))
    }
  }

  /** Reads one process frame of type `type` from `peer`. False: not a process frame. */
  handle(peer: Peer, type: number, dec: decoding.Decoder): boolean {
    const rt = this.runtime
    switch (type) {
      case Frame.Send: {
        const to = decoding.readVarString(dec) as Pid
        const msg = this.readMessage(peer, dec, to)
        this.messagesIn++
        if (!(msg instanceof Undecodable) && rt.isLocal(to)) rt.send(to, msg)
        return true
      }
      case Frame.SendLocal: {
        const serial = decoding.readVarUint(dec)
        const msg = this.readMessage(peer, dec, serial)
        this.messagesIn++
        if (!(msg instanceof Undecodable)) rt.sendLocal(serial, msg)
        return true
      }
      case Frame.Call: {
        const to = decoding.readVarString(dec) as Pid
        const ref = decoding.readVarString(dec) as Ref
        const envelope = this.readMessage(peer, dec, to)
        this.messagesIn++
        if (!this.ownedBy(peer, nodeOfRef(ref), 'Call')) return true
        if (envelope instanceof Undecodable) {
          // The caller learns at once why, rather than after its timeout.
          this.reply(ref, false, envelope.error)
          return true
        }
        if (this.watchFor(peer, to, ref)) rt.send(to, envelope)
        return true
      }
      case Frame.Reply: {
        const ref = decoding.readVarString(dec) as Ref
        const ok = decoding.readUint8(dec) === 1
        const value = this.readMessage(peer, dec, ref)
        // A version 2 peer keeps the call's monitor after its reply: no `from`, so the caller
        // takes it back with a `Demonitor`.
        const from = peer.protocol >= 3 ? peer.nodeId : undefined
        // A reply that does not decode fails the call with the reason, at once.
        if (value instanceof Undecodable) rt.deliverReply(ref, false, value.error, from)
        else rt.deliverReply(ref, ok, ok ? value : reasonFromWire(value), from)
        return true
      }
      case Frame.Exit: {
        const to = decoding.readVarString(dec) as Pid
        const from = decoding.readVarString(dec) as Pid
        const viaLink = decoding.readUint8(dec) === 1
        const reason = reasonFromWire(readPayload(dec))
        // A peer speaks for its own processes only.
        if (!this.ownedBy(peer, nodeOf(from), 'Exit')) return true
        if (rt.isLocal(to)) rt.deliverExit(to, from, reason, viaLink)
        return true
      }
      case Frame.Link: {
        const remote = decoding.readVarString(dec) as Pid
        const local = decoding.readVarString(dec) as Pid
        if (!this.ownedBy(peer, nodeOf(remote), 'Link')) return true
        const key = `${local}\0${remote}`
        if (!peer.linksFromPeer.has(key) && !this.roomForLink(peer)) {
          this.refuse(peer, 'links')
          this.exit(remote, local, 'system_limit', true)
          return true
        }
        if (!rt.isLocal(local) || !rt.linkFromRemote(local, remote)) {
          this.exit(remote, local, 'noproc', true)
        } else peer.linksFromPeer.add(key)
        return true
      }
      case Frame.Unlink: {
        const remote = decoding.readVarString(dec) as Pid
        const local = decoding.readVarString(dec) as Pid
        if (!this.ownedBy(peer, nodeOf(remote), 'Unlink')) return true
        peer.linksFromPeer.delete(`${local}\0${remote}`)
        rt.unlinkFromRemote(local, remote)
        return true
      }
      case Frame.Monitor: {
        const target = decoding.readVarString(dec) as Pid
        const ref = decoding.readVarString(dec) as Ref
        if (!this.ownedBy(peer, nodeOfRef(ref), 'Monitor')) return true
        this.watchFor(peer, target, ref)
        return true
      }
      case Frame.Demonitor: {
        const target = decoding.readVarString(dec) as Pid
        const ref = decoding.readVarString(dec) as Ref
        peer.monitorsFromPeer.delete(ref)
        rt.demonitorFromRemote(target, ref)
        return true
      }
      case Frame.Down: {
        const ref = decoding.readVarString(dec) as Ref
        const reason = reasonFromWire(readPayload(dec))
        // Only for a monitor this node placed on a process of that peer.
        rt.deliverDown(ref, reason, peer.nodeId)
        return true
      }
      default:
        return false
    }
  }

  /**
   * True when `node` is `peer` itself; otherwise the frame speaks for another node: it is
   * dropped, and the first such frame of a peer is logged.
   */
  private ownedBy(peer: Peer, node: NodeId, frame: string): boolean {
    if (node === peer.nodeId) return true
    if (this.forged.note(peer.nodeId)) {
      this.logger.warn(
        { peer: peer.name, frame },
        'a peer sent a frame for a process or ref of another node; dropped',
      )
    }
    return false
  }

  /**
   * Whether `peer` may make one more link here: under `maxLinksPerPeer`, after dropping from
   * its count the links whose process of ours has ended (at most once a second, so that a peer
   * at the limit cannot make every refused link cost a pass over all of them).
   */
  private roomForLink(peer: Peer): boolean {
    const max = nodeDefaults.maxLinksPerPeer
    if (peer.linksFromPeer.size < max) return true
    const now = this.runtime.clock.now()
    if (now - peer.linksPrunedAt < 1000) return false
    peer.linksPrunedAt = now
    for (const key of peer.linksFromPeer) {
      if (!this.runtime.isAlive(key.slice(0, key.indexOf('\0')) as Pid)) {
        peer.linksFromPeer.delete(key)
      }
    }
    return peer.linksFromPeer.size < max
  }

  /**
   * Watches `target` for `peer` under `ref` (a monitor, or a call's): its end is reported with
   * a `Down`. False, with a `Down` sent at once, when it does not run here (`noproc`) or the
   * peer holds `maxMonitorsPerPeer` already (`system_limit`).
   */
  private watchFor(peer: Peer, target: Pid, ref: Ref): boolean {
    if (peer.monitorsFromPeer.size >= nodeDefaults.maxMonitorsPerPeer) {
      this.refuse(peer, 'monitors')
      this.down(peer, ref, 'system_limit')
      return false
    }
    const rt = this.runtime
    const ok =
      rt.isLocal(target) &&
      rt.monitorFromRemote(target, ref, (reason) => {
        peer.monitorsFromPeer.delete(ref)
        this.down(peer, ref, reason)
      })
    if (ok) peer.monitorsFromPeer.set(ref, target)
    else this.down(peer, ref, 'noproc')
    return ok
  }

  /** A peer went past one of its limits: counted, and logged once per peer. */
  private refuse(peer: Peer, what: string): void {
    if (this.overLimit.note(peer.nodeId)) {
      this.logger.warn({ peer: peer.name, what }, 'a peer went past its limit; refused')
    }
  }

  private down(peer: Peer, ref: Ref, reason: ExitReason): void {
    const bytes = this.encodeReason(reason)
    peer.write((enc) => {
      encoding.writeVarUint(enc, Frame.Down)
      encoding.writeVarString(enc, ref)
      writePrepared(enc, bytes)
    })
  }

  /** The peer went away: forget the monitors it held on our processes. */
  peerGone(peer: Peer): void {
    for (const [ref, target] of peer.monitorsFromPeer) this.runtime.demonitorFromRemote(target, ref)
    peer.monitorsFromPeer.clear()
  }
}
