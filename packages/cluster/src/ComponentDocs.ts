// One component's docs across the cluster (a registry, a supervisor): each node owns one doc,
// `<prefix><node id>/<generation>`, and reads every other node's. This class follows the
// generations: it switches a replica to a newer one only once that one is whole (its `info`
// map says `ready`), tells the component when a node's doc comes, changes or goes, and forgets
// the docs of a node that has been down for `forgetAfterMs`.
import type * as Y from 'yjs'
import type { NodeId, TimerHandle } from '@swormjs/actor'
import { nextTurn } from '@swormjs/actor/internal'
import { nodeDefaults } from './defaults.js'
import type { Node } from './Node.js'

/** What the component does when a node's current doc changes. */
export interface ComponentDocsHandlers {
  /**
   * `doc` is now `owner`'s current doc (`previous` is the older generation it replaces, if
   * any). Called for this node's own doc too.
   */
  attach(owner: NodeId, doc: Y.Doc, previous: Y.Doc | undefined): void
  /**
   * `owner`'s doc is gone: `dropped` by its owner without a successor (the component stopped
   * there), or `forgotten` after the node was down for `forgetAfterMs`.
   */
  detach(owner: NodeId, doc: Y.Doc, why: 'dropped' | 'forgotten'): void
}

export interface ComponentDocsOptions {
  /** Forget (drop) the docs of a node down this long. Default 60,000 ms. */
  forgetAfterMs?: number
}

interface Current {
  doc: Y.Doc
  gen: number
}

/**
 * @example
 * const docs = new ComponentDocs(node, `registry/${name}/`, { attach, detach })
 * docs.start((info) => info.set('server', pid))
 * docs.write((doc) => doc.getMap('names').set(key, value))
 */
export class ComponentDocs {
  private readonly node: Node
  private readonly prefix: string
  private readonly handlers: ComponentDocsHandlers
  private readonly forgetAfterMs: number
  private readonly current = new Map<NodeId, Current>()
  /** Generations announced but not whole yet: doc name → owner, generation, stop watching. */
  private readonly incoming = new Map<string, { owner: NodeId; gen: number; detach: () => void }>()
  private readonly forgetTimers = new Map<NodeId, TimerHandle>()
  /** The new generation of a compaction under way (`compactInSteps`), not yet published. */
  private compacting: Y.Doc | undefined
  private readonly unsubscribe: Array<() => void> = []
  private stopped = false

  constructor(
    node: Node,
    prefix: string,
    handlers: ComponentDocsHandlers,
    options: ComponentDocsOptions = {},
  ) {
    this.node = node
    this.prefix = prefix
    this.handlers = handlers
    this.forgetAfterMs = options.forgetAfterMs ?? nodeDefaults.forgetAfterMs
  }

  /** Creates this node's doc (generation 0, its `info` filled by `init` and marked ready) and starts following the others. */
  start(init: (info: Y.Map<unknown>) => void): Y.Doc {
    const doc = this.node.docs.create(this.docName(this.node.id, 0))
    this.node.docs.write(doc.guid, (d) => {
      const info = d.getMap<unknown>('info')
      init(info)
      info.set('ready', true)
    })
    this.setCurrent(this.node.id, doc, 0)
    for (const name of this.node.docs.names()) this.onReplica(name)
    const docs = this.node.docs
    this.unsubscribe.push(
      docs.on('replica', (name) => this.onReplica(name)),
      docs.on('drop', (name, owner) => this.onDrop(name, owner)),
      this.node.on('nodeDown', (info) => this.onNodeDown(info.id)),
      this.node.on('nodeUp', (info) => this.onNodeUp(info.id)),
    )
    return doc
  }

  /** This node's current doc. */
  get own(): Y.Doc {
    const c = this.current.get(this.node.id)
    if (c === undefined) throw new Error(`${this.prefix} is not started`)
    return c.doc
  }

  /** This node's current generation. */
  get generation(): number {
    return this.current.get(this.node.id)?.gen ?? -1
  }

  /** The current doc of `owner`, if this node follows one. */
  docOf(owner: NodeId): Y.Doc | undefined {
    return this.current.get(owner)?.doc
  }

  /** Every node whose doc this node follows (up or not), this node included. */
  owners(): NodeId[] {
    return [...this.current.keys()]
  }

  /** Writes this node's doc in one transaction. */
  write<T>(fn: (doc: Y.Doc) => T): T {
    return this.node.docs.write(this.own.guid, fn)
  }

  /**
   * Publishes generation g+1 holding, of each map named in `keep`, the entries its predicate
   * accepts, and `info` (copied, marked ready); then drops generation g everywhere. The copy
   * runs in steps of `compactStepEntries`, one transaction and one turn each, so that neither this
   * node nor a replica applying a step stalls for long (a doc of 10,000 entries copied in one
   * transaction held both for 0.5 s and more). Replicas keep reading g until the last step marks
   * g+1 ready. What is written to g meanwhile is tracked from the start and carried over in the
   * last step. Resolves with the entries that last step overwrote or deleted in g+1 (its dead
   * weight), or undefined when nothing was published (a compaction is under way, or this stops).
   */
  async compactInSteps(
    keep: Readonly<Record<string, (value: unknown) => boolean>>,
  ): Promise<number | undefined> {
    const old = this.current.get(this.node.id)
    if (old === undefined || this.stopped || this.compacting !== undefined) return undefined
    const gen = old.gen + 1
    const doc = this.node.docs.create(this.docName(this.node.id, gen))
    this.compacting = doc
    const written = trackWrites(old.doc, Object.keys(keep))
    let published = false
    try {
      for (const [map, accept] of Object.entries(keep)) {
        const from = old.doc.getMap<unknown>(map)
        const keys = [...from.keys()]
        for (let i = 0; i < keys.length;) {
          this.node.docs.write(doc.guid, (d) => {
            const to = d.getMap<unknown>(map)
            const end = Math.min(keys.length, i + nodeDefaults.compactStepEntries)
            for (; i < end; i++) {
              const key = keys[i]!
              const v = from.get(key)
              if (v !== undefined && accept(v)) to.set(key, v)
            }
          })
          await nextTurn()
          if (this.compacting !== doc || this.current.get(this.node.id) !== old) return undefined
        }
      }
      let dead = 0
      this.node.docs.write(doc.guid, (d) => {
        for (const [map, keys] of written.keys) {
          const accept = keep[map]!
          const from = old.doc.getMap<unknown>(map)
          const to = d.getMap<unknown>(map)
          for (const key of keys) {
            const v = from.get(key)
            const now = to.get(key)
            if (v !== undefined && accept(v)) {
              if (now === v) continue
              if (now !== undefined) dead++
              to.set(key, v)
            } else if (now !== undefined) {
              dead++
              to.delete(key)
            }
          }
        }
        const info = d.getMap<unknown>('info')
        for (const [k, v] of old.doc.getMap<unknown>('info')) info.set(k, v)
        info.set('ready', true)
      })
      this.compacting = undefined
      published = true
      written.stop()
      this.setCurrent(this.node.id, doc, gen)
      this.node.docs.drop(old.doc.guid)
      return dead
    } finally {
      written.stop()
      if (this.compacting === doc) this.compacting = undefined
      // Given up (this stopped): the half-filled generation goes, here and on the replicas.
      if (!published && !this.node.isStopping) this.node.docs.drop(doc.guid)
    }
  }

  /** Stops following; with `dropOwn`, this node's doc is dropped everywhere. */
  stop(dropOwn: boolean): void {
    if (this.stopped) return
    this.stopped = true
    for (const u of this.unsubscribe) u()
    for (const t of this.forgetTimers.values()) this.node.clock.clearTimeout(t)
    for (const inc of this.incoming.values()) inc.detach()
    this.incoming.clear()
    // A compaction under way sees that it stopped and drops its new generation.
    this.compacting = undefined
    const own = this.current.get(this.node.id)
    this.current.clear()
    if (dropOwn && own !== undefined && !this.node.isStopping) this.node.docs.drop(own.doc.guid)
  }

  private docName(owner: NodeId, gen: number): string {
    return `${this.prefix}${owner}/${gen}`
  }

  private parse(name: string): { owner: NodeId; gen: number } | undefined {
    if (!name.startsWith(this.prefix)) return undefined
    const rest = name.slice(this.prefix.length)
    const slash = rest.lastIndexOf('/')
    if (slash <= 0) return undefined
    const gen = Number(rest.slice(slash + 1))
    if (!Number.isInteger(gen) || gen < 0) return undefined
    return { owner: rest.slice(0, slash) as NodeId, gen }
  }

  private onReplica(name: string): void {
    if (this.stopped) return
    const parsed = this.parse(name)
    if (parsed === undefined || parsed.owner === this.node.id) return
    const cur = this.current.get(parsed.owner)
    if ((cur !== undefined && cur.gen >= parsed.gen) || this.incoming.has(name)) return
    const doc = this.node.docs.get(name)
    if (doc === undefined) return
    const info = doc.getMap<unknown>('info')
    if (info.get('ready') === true) {
      this.setCurrent(parsed.owner, doc, parsed.gen)
      return
    }
    // A generation is announced empty and filled by one update: switch once it is whole.
    const onInfo = (): void => {
      if (info.get('ready') !== true) return
      this.incoming.get(name)?.detach()
      this.incoming.delete(name)
      const now = this.current.get(parsed.owner)
      if (now === undefined || now.gen < parsed.gen) this.setCurrent(parsed.owner, doc, parsed.gen)
    }
    info.observe(onInfo)
    this.incoming.set(name, { ...parsed, detach: () => info.unobserve(onInfo) })
  }

  private setCurrent(owner: NodeId, doc: Y.Doc, gen: number): void {
    const previous = this.current.get(owner)
    this.current.set(owner, { doc, gen })
    this.handlers.attach(owner, doc, previous?.doc)
    if (owner === this.node.id) return
    // The owner's drop of the old generation is missed when it compacted while cut off from
    // this node: drop the superseded replica here, or it is kept for ever. So for a generation
    // announced but never filled before a cut (the owner has moved past it since).
    if (previous !== undefined && previous.doc !== doc) this.node.docs.drop(previous.doc.guid)
    for (const [name, inc] of [...this.incoming]) {
      if (inc.owner !== owner || inc.gen >= gen) continue
      inc.detach()
      this.incoming.delete(name)
      this.node.docs.drop(name)
    }
  }

  private onDrop(name: string, owner: NodeId): void {
    const inc = this.incoming.get(name)
    if (inc !== undefined) {
      inc.detach()
      this.incoming.delete(name)
    }
    const cur = this.current.get(owner)
    if (cur === undefined || cur.doc.guid !== name || owner === this.node.id) return
    this.current.delete(owner)
    this.handlers.detach(owner, cur.doc, 'dropped')
  }

  private onNodeDown(owner: NodeId): void {
    if (!this.current.has(owner)) return
    const old = this.forgetTimers.get(owner)
    if (old !== undefined) this.node.clock.clearTimeout(old)
    this.forgetTimers.set(
      owner,
      this.node.clock.setTimeout(() => {
        this.forgetTimers.delete(owner)
        if (this.node.isUp(owner)) return
        const cur = this.current.get(owner)
        if (cur === undefined) return
        this.current.delete(owner)
        this.handlers.detach(owner, cur.doc, 'forgotten')
        this.node.docs.drop(cur.doc.guid)
      }, this.forgetAfterMs),
    )
  }

  private onNodeUp(owner: NodeId): void {
    const timer = this.forgetTimers.get(owner)
    if (timer === undefined) return
    this.node.clock.clearTimeout(timer)
    this.forgetTimers.delete(owner)
  }
}

/**
 * The keys written in `maps` of `doc` from now on, by map, until `stop()`: what a compaction
 * under way carries over to the new generation.
 */
function trackWrites(
  doc: Y.Doc,
  maps: readonly string[],
): { readonly keys: ReadonlyMap<string, ReadonlySet<string>>; stop(): void } {
  const byType = new Map<unknown, Set<string>>()
  const keys = new Map<string, Set<string>>()
  for (const map of maps) {
    const set = new Set<string>()
    keys.set(map, set)
    byType.set(doc.getMap(map), set)
  }
  const onTransaction = (tr: Y.Transaction): void => {
    for (const [type, changed] of tr.changed) {
      const set = byType.get(type)
      if (set === undefined) continue
      for (const key of changed) if (key !== null) set.add(key)
    }
  }
  doc.on('afterTransaction', onTransaction)
  return { keys, stop: () => doc.off('afterTransaction', onTransaction) }
}
