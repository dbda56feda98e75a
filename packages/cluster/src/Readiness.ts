// When a node is ready to serve: it has met `minNodes` nodes (itself included) and caught up with
// their docs, and every check a layer above added passes (a sworm: that many nodes run it). Once
// ready, a node stays ready until it leaves, as an Akka member stays up once min-nr-of-members
// was reached: a peer lost later is failover's business, not a reason to stop serving.
import { abortable, type Clock, type Logger } from '@swormjs/actor'
import { nodeDefaults } from './defaults.js'
import { NodeStopped, NotReady } from './errors.js'

/** Options of `node.ready()`. */
export interface ReadyOptions {
  /** Nodes that must be up, this one included. Default: the node's `minNodes` option (1). */
  minNodes?: number
  /** Gives up with `NotReady` after this long. Default: no limit. */
  timeoutMs?: number
  /** Gives the wait up with `AbortError`. */
  signal?: AbortSignal
}

/** A condition a layer above adds to readiness, given the `minNodes` asked for. */
export type ReadyCheck = (minNodes: number) => boolean

/** What readiness needs of its node. */
export interface ReadinessHost {
  readonly clock: Clock
  readonly logger: Logger
  /** The other nodes up now (connected and caught up). */
  upPeers(): number
  running(): boolean
}

export class Readiness {
  private readonly host: ReadinessHost
  private readonly minNodes: number
  private readonly checks = new Map<string, ReadyCheck>()
  /** Reached once with the node's own `minNodes`: `/readyz` answers 200 from then on. */
  private reached = false

  constructor(host: ReadinessHost, minNodes: number) {
    this.host = host
    this.minNodes = minNodes
  }

  /** See `Node.addReadyCheck`. */
  addCheck(name: string, check: ReadyCheck): () => void {
    this.checks.set(name, check)
    return () => {
      if (this.checks.get(name) === check) this.checks.delete(name)
    }
  }

  /** Whether the node is ready now for `minNodes` (the node's own by default). */
  isReady(minNodes = this.minNodes): boolean {
    if (!this.host.running()) return false
    if (minNodes === this.minNodes && this.reached) return true
    const ok = this.met() >= minNodes && this.failing(minNodes).length === 0
    if (ok && minNodes >= this.minNodes) this.reached = true
    return ok
  }

  /** What `/readyz` answers: ready once (and for good), and not leaving. */
  readyz(): { ok: boolean; detail: string } {
    if (!this.host.running()) return { ok: false, detail: 'leaving' }
    if (this.isReady()) return { ok: true, detail: 'ready' }
    const failing = this.failing(this.minNodes)
    return {
      ok: false,
      detail:
        `${this.met()} of ${this.minNodes} nodes up` +
        (failing.length > 0 ? `; waiting for ${failing.join(', ')}` : ''),
    }
  }

  /** See `Node.ready`. */
  ready(options: ReadyOptions = {}): Promise<void> {
    const minNodes = options.minNodes ?? this.minNodes
    if (this.isReady(minNodes)) return Promise.resolve()
    const { clock, logger } = this.host
    const started = clock.now()
    let lastLog = started
    const waiting = new Promise<void>((resolve, reject) => {
      const look = (): void => {
        if (!this.host.running()) return reject(new NodeStopped())
        if (this.isReady(minNodes)) return resolve()
        const now = clock.now()
        if (options.timeoutMs !== undefined && now - started >= options.timeoutMs) {
          return reject(
            new NotReady(minNodes, this.met(), options.timeoutMs, this.failing(minNodes)),
          )
        }
        if (now - lastLog >= nodeDefaults.readyLogMs) {
          lastLog = now
          logger.warn(
            { up: this.met(), minNodes, waitingMs: now - started, for: this.failing(minNodes) },
            'not ready yet: waiting for more nodes',
          )
        }
        // Polled: what it waits for lies in several layers (peers' docs, each sworm's
        // members), and a wait only happens while a cluster forms.
        if (!options.signal?.aborted) clock.setTimeout(look, nodeDefaults.readyPollMs)
      }
      look()
    })
    return abortable(waiting, options.signal, `waiting for ${minNodes} nodes`)
  }

  /** The nodes up, this one included. */
  private met(): number {
    return this.host.upPeers() + 1
  }

  /** The names of the added checks that fail for `minNodes`. */
  private failing(minNodes: number): string[] {
    const out: string[] = []
    for (const [name, check] of this.checks) if (!check(minNodes)) out.push(name)
    return out
  }
}
