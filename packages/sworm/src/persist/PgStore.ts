// `persist: { postgres }`: the names of every node in one PostgreSQL table, so that a name comes
// back after a full restart on any node, even when its old node (and its disk) is gone. A row
// per name: `(sworm, key, owner, rec)`, `owner` the name of the node that runs it (stable across
// restarts, where a node id is not), `rec` the same `P` record the file store writes. Writes made
// together go in one transaction (a group commit); a node's names come back with it, and the
// names of a node that does not come back are claimed by the node their hash picks among the
// live ones (`claimOrphans`), each claim one conditional update, so that two nodes never both
// take one name.
import pg from 'pg'
import { decodeName, encodeName, type StoredName, type SwormStore } from './FileStore.js'
import { GroupCommit } from './GroupCommit.js'

type Row = { key: string; rec: Buffer }

/** Where the table is: a connection string (`postgres://user:pass@host:5432/db`). */
export interface PgStoreOptions {
  readonly connectionString: string
  /** The table's name. Default `sworm_names`. */
  readonly table?: string
}

export class PgStore implements SwormStore {
  private readonly client: pg.Client
  private readonly table: string
  private readonly sworm: string
  private readonly owner: string
  private loaded: StoredName[] = []
  /** Pending writes by key: the last one of each key wins (`undefined`: a drop). */
  private pending = new Map<string, Buffer | undefined>()
  private readonly commits = new GroupCommit(() => this.writeBatch())
  private closing: Promise<void> | undefined

  private constructor(options: PgStoreOptions, sworm: string, owner: string) {
    this.client = new pg.Client({ connectionString: options.connectionString })
    const table = options.table ?? 'sworm_names'
    if (!/^[a-z_][a-z0-9_]*$/.test(table)) throw new Error(`not a table name: ${table}`)
    this.table = table
    this.sworm = sworm
    this.owner = owner
  }

  /** Connects, makes the table if it is missing, and reads the names node `owner` ran. */
  static async open(options: PgStoreOptions, sworm: string, owner: string): Promise<PgStore> {
    const store = new PgStore(options, sworm, owner)
    await store.client.connect()
    try {
      await store.client.query(
        `CREATE TABLE IF NOT EXISTS ${store.table} (sworm text NOT NULL, key text NOT NULL, owner text NOT NULL, rec bytea NOT NULL, PRIMARY KEY (sworm, key))`,
      )
      const { rows } = await store.client.query<Row>(
        `SELECT key, rec FROM ${store.table} WHERE sworm = $1 AND owner = $2`,
        [sworm, owner],
      )
      store.loaded = rows.map((r) => decodeName(r.rec))
    } catch (e) {
      await store.client.end()
      throw e
    }
    return store
  }

  load(): StoredName[] {
    return this.loaded
  }

  put(name: StoredName): Promise<void> {
    return this.write(name.key, encodeName(name))
  }

  drop(key: string): Promise<void> {
    return this.write(key, undefined)
  }

  /**
   * The names whose owner is none of `owners` (node names), read now: a node that did not come
   * back (yet). `claim` then takes one.
   */
  async orphans(owners: readonly string[]): Promise<Array<{ key: string; owner: string }>> {
    const { rows } = await this.client.query<{ key: string; owner: string }>(
      `SELECT key, owner FROM ${this.table} WHERE sworm = $1 AND NOT (owner = ANY($2))`,
      [this.sworm, [...owners]],
    )
    return rows
  }

  /** What is kept of `key`, whichever node wrote it. */
  async read(key: string): Promise<StoredName | undefined> {
    const { rows } = await this.client.query<Row>(
      `SELECT key, rec FROM ${this.table} WHERE sworm = $1 AND key = $2`,
      [this.sworm, key],
    )
    const row = rows[0]
    return row === undefined ? undefined : decodeName(row.rec)
  }

  /** Takes name `key` from node `from` for this node: undefined if another node took it first. */
  async claim(key: string, from: string): Promise<StoredName | undefined> {
    const { rows } = await this.client.query<Row>(
      `UPDATE ${this.table} SET owner = $4 WHERE sworm = $1 AND key = $2 AND owner = $3 RETURNING key, rec`,
      [this.sworm, key, from, this.owner],
    )
    const row = rows[0]
    return row === undefined ? undefined : decodeName(row.rec)
  }

  /** Ends the connection once what is pending is written (again: nothing). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.commits.settled()
      await this.client.end()
    })()
    return this.closing
  }

  private write(key: string, rec: Buffer | undefined): Promise<void> {
    this.pending.set(key, rec)
    return this.commits.commit()
  }

  /** One transaction per batch: upserts of this node's names, deletes of those it no longer runs. */
  private async writeBatch(): Promise<void> {
    const batch = this.pending
    this.pending = new Map()
    const puts: Array<[string, Buffer]> = []
    const drops: string[] = []
    for (const [key, rec] of batch) {
      if (rec === undefined) drops.push(key)
      else puts.push([key, rec])
    }
    await this.client.query('BEGIN')
    try {
      if (drops.length > 0) {
        // Only rows still this node's: a name that moved is another node's row by now.
        await this.client.query(
          `DELETE FROM ${this.table} WHERE sworm = $1 AND owner = $2 AND key = ANY($3)`,
          [this.sworm, this.owner, drops],
        )
      }
      if (puts.length > 0) {
        await this.client.query(
          `INSERT INTO ${this.table} (sworm, key, owner, rec) SELECT $1, k, $2, r FROM unnest($3::text[], $4::bytea[]) AS t(k, r) ON CONFLICT (sworm, key) DO UPDATE SET owner = EXCLUDED.owner, rec = EXCLUDED.rec`,
          [this.sworm, this.owner, puts.map((p) => p[0]), puts.map((p) => p[1])],
        )
      }
      await this.client.query('COMMIT')
    } catch (e) {
      await this.client.query('ROLLBACK').catch(() => undefined)
      throw e
    }
  }
}
