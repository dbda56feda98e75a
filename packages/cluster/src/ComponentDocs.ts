// One component's docs across the cluster (a registry, a supervisor): each node owns one doc,
// `<prefix><node id>/<generation>`, and reads every other node's. This class follows the
// generations: it switches a replica to a newer one only once that one is whole (its `info`
// map says `ready`), tells the component when a node's doc comes, changes or goes, and forgets
// the docs of a node that has been down for `forgetAfterMs`.
import type * as Y from 'yjs'
import type { NodeId, TimerHandle } from '@sworm/actor'
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
   * Publishes generation g+1: `fill` writes the live content into it (one transaction, with
   * `info` copied and marked ready), then generation g is dropped everywhere. Read what `fill`
   * needs out of the current doc before calling: `fill` must not hold the old doc (V8 may keep a
   * closure's context alive for a while, and with it the whole old generation, dead entries and
   * all: seen in heap snapshots as megabytes kept after a compaction).
   */
  compact(fill: (to: Y.Doc) => void): void {
    const old = this.current.get(this.node.id)
    if (old === undefined || this.stopped) return
    const gen = old.gen + 1
    const oldName = old.doc.guid
    const info = [...old.doc.getMap<unknown>('info')]
    const doc = this.node.docs.create(this.docName(this.node.id, gen))
    this.node.docs.write(doc.guid, (d) => {
      fill(d)
      const to = d.getMap<unknown>('info')
      for (const [k, v] of info) to.set(k, v)
      to.set('ready', true)
    })
    this.setCurrent(this.node.id, doc, gen)
    this.node.docs.drop(oldName)
  }

  /** Stops following; with `dropOwn`, this node's doc is dropped everywhere. */
  stop(dropOwn: boolean): void {
    if (this.stopped) return
    this.stopped = true
    for (const u of this.unsubscribe) u()
    for (const t of this.forgetTimers.values()) this.node.clock.clearTimeout(t)
    for (const inc of this.incoming.values()) inc.detach()
    this.incoming.clear()
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
