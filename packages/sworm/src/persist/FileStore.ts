// `persist: { dir }`: the names a node runs, and their newest state, in a directory on its local
// disk, so that they come back when the whole cluster starts again. Per sworm, an append-only log
// (`<sworm>.log`) and a snapshot (`<sworm>.snap`): each write is a record of the log, and records
// written together are flushed together (one write, one fdatasync: a group commit) before any
// of their promises resolves. When the log has grown past twice what is live (and 1 MiB), the
// live records go to a new snapshot (written aside, synced, renamed over the old one) and the log
// starts again empty.
import { mkdirSync, openSync, closeSync, fsyncSync, renameSync, writeFileSync } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { decodeValue, encodeValue } from '@swormjs/cluster'
import { PersistCorrupt } from '../errors.js'
import { GroupCommit } from './GroupCommit.js'
import { frame, readRecords, truncateAt } from './LogFile.js'

/** What is kept of one name: enough to start it again, with its newest state if it had one. */
export interface StoredName {
  /** The name's key (its child id). */
  readonly key: string
  /** The version of `state` (the replicator's), 0 before the first. */
  readonly v: number
  /** The actor type and init args it was registered with. */
  readonly type: string
  readonly args: unknown
  /** The encoded state and groups (as a replica copy holds them), if any was kept. */
  readonly state?: Uint8Array
}

/**
 * Where a sworm keeps its names for a full restart. `put` and `drop` resolve once what they
 * record would survive a crash of the machine.
 */
export interface SwormStore {
  /** What was kept when the node last stopped (read at start). */
  load(): StoredName[]
  put(name: StoredName): Promise<void>
  /** The name no longer runs on this node (unregistered, moved away, lost a conflict). */
  drop(key: string): Promise<void>
  close(): Promise<void>
  /** A store shared by every node: the names of nodes other than `owners` (node names). */
  orphans?(owners: readonly string[]): Promise<Array<{ key: string; owner: string }>>
  /** A shared store: takes `key` from node `from` for this node; undefined if another did. */
  claim?(key: string, from: string): Promise<StoredName | undefined>
  /** A shared store: what is kept of `key`, whichever node wrote it (an adoption reads it). */
  read?(key: string): Promise<StoredName | undefined>
}

/** A name that runs here (`P`), or one that no longer does (`D`): a record of either store. */
type PutRecord = { o: 'P'; k: string; v: number; t: string; a: unknown; b?: Uint8Array }
type Record = PutRecord | { o: 'D'; k: string }

/** The `P` record of `name`, encoded (the file store's log and the database store's rows). */
export function encodeName(name: StoredName): Buffer {
  const rec: PutRecord = {
    o: 'P',
    k: name.key,
    v: name.v,
    t: name.type,
    a: name.args,
    ...(name.state === undefined ? {} : { b: name.state }),
  }
  return Buffer.from(encodeValue(rec))
}

/** The name of an encoded `P` record. */
export function decodeName(payload: Uint8Array): StoredName {
  const r = decodeValue(payload) as PutRecord
  return { key: r.k, v: r.v, type: r.t, args: r.a, ...(r.b === undefined ? {} : { state: r.b }) }
}

/** The log is compacted into a snapshot once it is past this and twice what is live. */
const SNAPSHOT_MIN_BYTES = 1024 * 1024

export class FileStore implements SwormStore {
  private readonly logPath: string
  private readonly snapPath: string
  private readonly live = new Map<string, Buffer>()
  private liveBytes = 0
  private logBytes = 0
  private handle: FileHandle | undefined
  private pending: Buffer[] = []
  private readonly commits = new GroupCommit(() => this.writeBatch())
  private readonly loaded: StoredName[]

  private constructor(dir: string, sworm: string) {
    mkdirSync(dir, { recursive: true })
    this.logPath = join(dir, `${sworm}.log`)
    this.snapPath = join(dir, `${sworm}.snap`)
    this.loaded = this.readFiles()
  }

  /**
   * Opens (and reads) the store of sworm `sworm` in `dir`.
   * @throws PersistCorrupt when a file is damaged anywhere but in its last record.
   */
  static async open(dir: string, sworm: string): Promise<FileStore> {
    const store = new FileStore(dir, sworm)
    store.handle = await open(store.logPath, 'a')
    return store
  }

  load(): StoredName[] {
    return this.loaded
  }

  put(name: StoredName): Promise<void> {
    return this.append(name.key, encodeName(name))
  }

  drop(key: string): Promise<void> {
    if (!this.live.has(key)) return Promise.resolve()
    return this.append(key, undefined)
  }

  /** Closes the log once what is pending is written (again: nothing). */
  async close(): Promise<void> {
    await this.commits.settled()
    const handle = this.handle
    this.handle = undefined
    await handle?.close()
  }

  /** Reads the snapshot, then the log (cutting off a torn tail), into `live`. */
  private readFiles(): StoredName[] {
    const snap = readRecords(this.snapPath)
    // A snapshot is renamed into place whole: any damage in it is damage.
    if (snap.tornBytes > 0)
      throw new PersistCorrupt(this.snapPath, snap.end, 'a snapshot cut short')
    for (const [i, payload] of snap.records.entries()) {
      this.apply(payload, this.snapPath, snap.offsets[i]!)
    }
    const log = readRecords(this.logPath)
    if (log.tornBytes > 0) truncateAt(this.logPath, log.end)
    for (const [i, payload] of log.records.entries()) {
      this.apply(payload, this.logPath, log.offsets[i]!)
    }
    this.logBytes = log.end
    const out: StoredName[] = []
    for (const payload of this.live.values()) out.push(decodeName(payload))
    return out
  }

  private apply(payload: Buffer, path: string, offset: number): void {
    let r: Record
    try {
      r = decodeValue(payload) as Record
    } catch (e) {
      throw new PersistCorrupt(path, offset, `a record that cannot be decoded (${String(e)})`)
    }
    if (typeof r !== 'object' || r === null || typeof r.k !== 'string') {
      throw new PersistCorrupt(path, offset, 'a record of an unknown shape')
    }
    const old = this.live.get(r.k)
    if (old !== undefined) this.liveBytes -= old.length
    if (r.o === 'D') {
      this.live.delete(r.k)
      return
    }
    const kept = Buffer.from(payload)
    this.live.set(r.k, kept)
    this.liveBytes += kept.length
  }

  /** Logs `put` (an encoded `P` record) for `key`, or, `undefined`, its drop. */
  private append(key: string, put: Buffer | undefined): Promise<void> {
    const old = this.live.get(key)
    if (old !== undefined) this.liveBytes -= old.length
    let payload: Buffer
    if (put === undefined) {
      const drop: Record = { o: 'D', k: key }
      payload = Buffer.from(encodeValue(drop))
      this.live.delete(key)
    } else {
      payload = put
      this.live.set(key, put)
      this.liveBytes += put.length
    }
    this.pending.push(frame(payload))
    return this.commits.commit()
  }

  /** Writes what is pending and syncs it (one `GroupCommit` batch). */
  private async writeBatch(): Promise<void> {
    const batch = Buffer.concat(this.pending)
    this.pending = []
    const handle = this.handle
    if (handle === undefined) throw new Error('the store is closed')
    await handle.write(batch)
    await handle.datasync()
    this.logBytes += batch.length
    if (this.logBytes > Math.max(SNAPSHOT_MIN_BYTES, 2 * this.liveBytes)) await this.snapshot()
  }

  /** Writes every live record to a new snapshot, then empties the log. */
  private async snapshot(): Promise<void> {
    const tmp = `${this.snapPath}.tmp`
    const parts: Buffer[] = []
    for (const payload of this.live.values()) parts.push(frame(payload))
    writeFileSync(tmp, Buffer.concat(parts))
    const fd = openSync(tmp, 'r+')
    try {
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, this.snapPath)
    await this.handle?.truncate(0)
    await this.handle?.datasync()
    this.logBytes = 0
  }
}
