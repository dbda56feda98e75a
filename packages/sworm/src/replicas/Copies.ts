// The copies of workers' state this node keeps for other nodes (`replicas: k`): per name, the
// newest encoded state its owner sent, with the version (a hybrid clock) that orders them. The
// owner puts a copy on each of the next `k` nodes in the name's placement order; the first of
// them is the node that adopts the name if the owner dies, and it starts the worker from its
// copy (`take`). A `CopyStore` process is the door other nodes put copies through.
import {
  Actor,
  NoReply,
  nodeOf,
  type From,
  type NodeId,
  type Pid,
  type Runtime,
} from '@swormjs/actor'
import { decodeValue, encodeValue } from '@swormjs/cluster'
import type { Name } from '@swormjs/registry'

/** One copy: its version and the encoded state (see `Replicator`). */
export interface Copy {
  readonly v: number
  readonly bytes: Uint8Array
}

/**
 * Each copy is kept as one one-byte string: its version's 8 bytes, then the state's bytes. A
 * string costs its length and a small header; an object, a boxed number and a typed array per
 * copy cost some 250 bytes more (`durable.replica_bytes_per_name`).
 */
const V_BYTES = 8
const scratch = Buffer.alloc(V_BYTES)

function pack(v: number, bytes: Uint8Array): string {
  scratch.writeDoubleLE(v, 0)
  return (
    scratch.toString('latin1') +
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')
  )
}

function versionOf(s: string): number {
  scratch.write(s.slice(0, V_BYTES), 'latin1')
  return scratch.readDoubleLE(0)
}

export class Copies {
  private readonly table = new Map<string, string>()
  private heldBytes = 0

  /** Keeps `bytes` for `key` unless a copy as new or newer is here; true when kept. */
  put(key: string, v: number, bytes: Uint8Array): boolean {
    const old = this.table.get(key)
    if (old !== undefined && versionOf(old) >= v) return false
    const s = pack(v, bytes)
    this.heldBytes += s.length - (old?.length ?? 0)
    this.table.set(key, s)
    return true
  }

  /** Drops the copy of `key` if it is no newer than `v` (a newer owner's copy stays). */
  drop(key: string, v: number): void {
    const old = this.table.get(key)
    if (old === undefined || versionOf(old) > v) return
    this.table.delete(key)
    this.heldBytes -= old.length
  }

  /** The version of the copy of `key`, if one is here. */
  version(key: string): number | undefined {
    const s = this.table.get(key)
    return s === undefined ? undefined : versionOf(s)
  }

  get(key: string): Copy | undefined {
    const s = this.table.get(key)
    if (s === undefined) return undefined
    return { v: versionOf(s), bytes: Buffer.from(s.slice(V_BYTES), 'latin1') }
  }

  /** The copy of `key`, removed: this node now runs the name and keeps no copy of its own. */
  take(key: string): Copy | undefined {
    const copy = this.get(key)
    if (copy !== undefined) this.drop(key, copy.v)
    return copy
  }

  keys(): IterableIterator<string> {
    return this.table.keys()
  }

  get size(): number {
    return this.table.size
  }

  /** Bytes held (versions and encoded states), over every copy. */
  get bytes(): number {
    return this.heldBytes
  }

  clear(): void {
    this.table.clear()
    this.heldBytes = 0
  }
}

/** An answer held for the copy: sent to its caller by the last node of the chain. */
export interface HeldReply {
  readonly from: From
  readonly ok: boolean
  readonly value: unknown
  /**
   * Instead of a reply to `from`: told here, on the owner's node, once the state is kept
   * (`undefined`) or could not be (the error). Never crosses the wire.
   */
  readonly done?: (error?: unknown) => void
}

/** Sends held answers to their callers (a reply, or an error). */
export function answerHeld(runtime: Runtime, held: readonly HeldReply[]): void {
  for (const h of held) {
    if (h.done !== undefined) h.done()
    else if (h.ok) runtime.reply(h.from, h.value)
    else runtime.replyError(h.from, h.value)
  }
}

/** A copy's bytes as they came (`PutCopy.b`): base64, or bytes from a previous release. */
export function bytesOf(b: unknown): Uint8Array | undefined {
  if (typeof b === 'string') return Buffer.from(b, 'base64')
  return b instanceof Uint8Array ? b : undefined
}

/** `bytes` in base64 (how a copy's bytes cross the wire: see `PutCopy.b`). */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
}

/**
 * What a copy (and a record on disk) holds: the worker's state and its groups, encoded. A copy
 * of its own (`encodeValue` may hand out a view of a shared slab, which a kept state would pin).
 */
export function encodeState(state: unknown, groups: readonly Name[]): Uint8Array {
  return new Uint8Array(encodeValue({ s: state, g: groups }))
}

/** The state and groups of `encodeState`. */
export function decodeState(bytes: Uint8Array): { state: unknown; groups: Name[] } {
  const { s, g } = decodeValue(bytes) as { s: unknown; g: Name[] }
  return { state: s, groups: g }
}

/**
 * A copy put by an owner (a call: the answer, `true`, says every node of the chain keeps it).
 * It goes down a chain: each node keeps it and puts it on the next (`next`); the last one sends
 * the held answers (`r`) to their callers, so that an answer takes one hop after the last copy
 * is kept rather than two (back to the owner, then to the caller).
 */
export interface PutCopy {
  readonly put: string
  readonly v: number
  /**
   * The encoded state, in base64: a message of plain data crosses the wire on the codec's JSON
   * path, where a byte array would take the whole message through the v8 serializer (several
   * times slower at this size). The bytes themselves when a node of the chain speaks protocol
   * version 2 (the previous release, which takes only those): both are read. Absent: the
   * answers of a state equal to version `v`, put before on the same socket (a node without
   * it answers `false`, and gets the state).
   */
  readonly b?: string | Uint8Array
  readonly next?: readonly Pid[]
  readonly r?: readonly HeldReply[]
  /**
   * The acknowledgement may come late, with the next frames to the owner's node (`Runtime.reply`
   * with `later`): the owner does not wait for it before its next put, since the answers go
   * from the chain. A node of an earlier release acknowledges at once, which is as good.
   */
  readonly late?: boolean
}
/** The owner no longer needs this copy (a cast). */
export interface DropCopy {
  readonly drop: string
  readonly v: number
}
/** An adopter that holds no copy asks the others (a call: the copy, or null). */
export interface GetCopy {
  readonly get: string
}

/** The door of a node's `Copies`: puts and gets are calls, drops casts. */
/** What a `CopyStore` is started with. */
export interface CopyStoreArgs {
  copies: Copies
  /** How long a put down the chain may take (the sworm's `callTimeoutMs`). */
  timeoutMs: number
  /** The protocol version spoken with a node (`Node.protocolOf`). */
  protocolOf: (node: NodeId) => number | undefined
}

/**
 * Whether a node that speaks `protocol` with this one reads a copy's bytes in base64: a node of
 * the previous release (version 2) reads only bytes. Unknown (not connected): this release's.
 */
export function readsBase64(protocol: number | undefined): boolean {
  return (protocol ?? 3) >= 3
}

export class CopyStore extends Actor<CopyStoreArgs> {
  private copies!: Copies
  /** The protocol version spoken with a node (`Node.protocolOf`). */
  private protocolOf: (node: NodeId) => number | undefined = () => undefined
  /** How long a put down the chain may take (the sworm's `callTimeoutMs`). */
  private timeoutMs = 0

  override init({ copies, timeoutMs, protocolOf }: CopyStoreArgs): void {
    this.copies = copies
    this.timeoutMs = timeoutMs
    this.protocolOf = protocolOf
  }

  override handleCall(msg: PutCopy | GetCopy, from: From): unknown {
    if ('put' in msg) {
      if (typeof msg.v !== 'number') return false
      if (msg.b === undefined) {
        // Answers only: they follow a put of version `v` that came before, on this socket. A
        // node without it (a new backup) says so, and gets the state.
        const has = this.copies.version(msg.put)
        if (has === undefined || has < msg.v) return false
      } else {
        const bytes = bytesOf(msg.b)
        if (bytes === undefined) return false
        this.copies.put(msg.put, msg.v, bytes)
      }
      const [next, ...rest] = msg.next ?? []
      if (next === undefined) {
        answerHeld(this.runtime, msg.r ?? [])
        if (msg.late !== true) return true
        this.runtime.reply(from, true, true)
        return NoReply
      }
      // Not awaited: the next put of another name need not wait for this chain.
      const onward: PutCopy = {
        put: msg.put,
        v: msg.v,
        ...(msg.b === undefined ? {} : { b: msg.b }),
        next: rest,
        r: msg.r ?? [],
        ...(msg.late === true ? { late: true } : {}),
      }
      this.runtime
        .call(next, onward, { from: from.pid ?? this.self, timeoutMs: this.timeoutMs })
        .then(
          (ok) => this.runtime.reply(from, ok, msg.late === true),
          (e: unknown) => this.runtime.replyError(from, e),
        )
      return NoReply
    }
    if ('get' in msg) {
      const copy = this.copies.get(msg.get)
      if (copy === undefined) return null
      // The asker's node may be of the previous release, which reads only bytes.
      const asker = from.pid === undefined ? undefined : nodeOf(from.pid)
      const base64 = asker === undefined || readsBase64(this.protocolOf(asker))
      return { v: copy.v, b: base64 ? toBase64(copy.bytes) : copy.bytes }
    }
    return false
  }

  override handleCast(msg: DropCopy): void {
    if (typeof msg.drop === 'string' && typeof msg.v === 'number') this.copies.drop(msg.drop, msg.v)
  }
}
