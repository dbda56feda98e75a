// The copies of workers' state this node keeps for other nodes (`replicas: k`): per name, the
// newest encoded state its owner sent, with the version (a hybrid clock) that orders them. The
// owner puts a copy on each of the next `k` nodes in the name's placement order; the first of
// them is the node that adopts the name if the owner dies, and it starts the worker from its
// copy (`take`). A `CopyStore` process is the door other nodes put copies through.
import { Actor, nodeOf, type From, type NodeId } from '@sworm/actor'

/** One copy: its version, the encoded state (see `Replicator`), and the node that sent it. */
export interface Copy {
  readonly v: number
  readonly bytes: Uint8Array
  readonly owner: NodeId
}

/** What is kept per name: the bytes as a one-byte string (a fraction of a typed array's heap). */
interface Kept {
  v: number
  s: string
  owner: NodeId
}

export class Copies {
  private readonly table = new Map<string, Kept>()
  private heldBytes = 0

  /** Keeps `bytes` for `key` unless a copy as new or newer is here; true when kept. */
  put(key: string, v: number, bytes: Uint8Array, owner: NodeId): boolean {
    const old = this.table.get(key)
    if (old !== undefined && old.v >= v) return false
    const s = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')
    this.heldBytes += s.length - (old?.s.length ?? 0)
    this.table.set(key, { v, s, owner })
    return true
  }

  /** Drops the copy of `key` if it is no newer than `v` (a newer owner's copy stays). */
  drop(key: string, v: number): void {
    const old = this.table.get(key)
    if (old === undefined || old.v > v) return
    this.table.delete(key)
    this.heldBytes -= old.s.length
  }

  get(key: string): Copy | undefined {
    const k = this.table.get(key)
    return k === undefined
      ? undefined
      : { v: k.v, bytes: Buffer.from(k.s, 'latin1'), owner: k.owner }
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

  /** Bytes of encoded state held, over every copy. */
  get bytes(): number {
    return this.heldBytes
  }

  clear(): void {
    this.table.clear()
    this.heldBytes = 0
  }
}

/** A copy put by an owner (a call: the answer is the acknowledgement). */
export interface PutCopy {
  readonly put: string
  readonly v: number
  readonly b: Uint8Array
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
export class CopyStore extends Actor<Copies> {
  private copies!: Copies

  override init(copies: Copies): void {
    this.copies = copies
  }

  override handleCall(msg: PutCopy | GetCopy, from: From): unknown {
    if ('put' in msg) {
      if (!(msg.b instanceof Uint8Array) || typeof msg.v !== 'number') return false
      if (from.pid !== undefined) this.copies.put(msg.put, msg.v, msg.b, nodeOf(from.pid))
      return true
    }
    if ('get' in msg) {
      const copy = this.copies.get(msg.get)
      return copy === undefined ? null : { v: copy.v, b: copy.bytes }
    }
    return false
  }

  override handleCast(msg: DropCopy): void {
    if (typeof msg.drop === 'string' && typeof msg.v === 'number') this.copies.drop(msg.drop, msg.v)
  }
}
