// The nodes of a chaos run: chaosNode processes on 127.0.0.1 whose every link runs through a
// FaultProxy (one per ordered pair). A node keeps its URL across restarts (it advertises the URL
// of its first run, and the proxies to it follow its new port), so the others find it again.
// What each process prints goes to a sink, including what a process printed before it died.
import { FaultProxy, type FaultMode } from '../FaultProxy.js'
import { spawnNode, type ChildCommand, type ChildEvent, type ChildNode } from '../ProcessHarness.js'
import { pollUntil } from './poll.js'

/** The compiled node script, next to this module's build output. */
const script = new URL('../../dist/fixtures/chaosNode.js', import.meta.url)

/** Options of {@link ChaosNodes.start}. */
export interface ChaosNodesOptions {
  /** How many nodes. */
  readonly count: number
  /** Environment of every node (failure detection, redistribution). */
  readonly env: Readonly<Record<string, string>>
  /** Bound on starting, meshing and on every request. */
  readonly boundMs: number
  /** How long a graceful stop may take before the harness kills the node. */
  readonly stopTimeoutMs: number
  /** Gets every event each node prints, in order, with the node's slot and incarnation. */
  readonly sink: (slot: number, incarnation: number, events: readonly ChildEvent[]) => void
}

/** One node of the run, across its incarnations. */
interface Slot {
  readonly name: string
  /** The URL of its first run, which it advertises in every run. */
  readonly url: string
  readonly child: ChildNode
  id: string
  incarnation: number
  /** How many events of the current process went to the sink. */
  drained: number
}

/** The name of the node in slot `i`: A, B, C, ... */
export function slotName(i: number): string {
  return String.fromCharCode(65 + i)
}

function readyField(event: ChildEvent, key: string): string {
  const v = event[key]
  if (typeof v !== 'string' && typeof v !== 'number') throw new Error(`no ${key} in ready line`)
  return String(v)
}

export class ChaosNodes implements AsyncDisposable {
  readonly #options: ChaosNodesOptions
  readonly #slots: Slot[]
  readonly #proxies: ReadonlyMap<string, FaultProxy>

  private constructor(
    options: ChaosNodesOptions,
    slots: Slot[],
    proxies: ReadonlyMap<string, FaultProxy>,
  ) {
    this.#options = options
    this.#slots = slots
    this.#proxies = proxies
  }

  /** Starts `count` nodes named A, B, C..., puts a proxy on every link and waits for the mesh. */
  static async start(options: ChaosNodesOptions): Promise<ChaosNodes> {
    const names = Array.from({ length: options.count }, (_, i) => slotName(i))
    const children = names.map((name) =>
      spawnNode({
        script,
        name,
        env: { ...options.env, NODE_NAME: name },
        readyTimeoutMs: options.boundMs,
        requestTimeoutMs: options.boundMs,
        stopTimeoutMs: options.stopTimeoutMs,
      }),
    )
    const proxies = new Map<string, FaultProxy>()
    const nodes = new ChaosNodes(options, [], proxies)
    try {
      const readies = await Promise.all(children.map((c) => c.ready))
      for (const [i, child] of children.entries()) {
        const ready = readies[i]!
        nodes.#slots.push({
          name: names[i]!,
          url: readyField(ready, 'url'),
          child,
          id: readyField(ready, 'id'),
          incarnation: 0,
          drained: 0,
        })
      }
      for (const i of names.keys()) {
        for (const j of names.keys()) {
          const port = Number(readyField(readies[j]!, 'port'))
          if (i !== j) proxies.set(`${i}>${j}`, await FaultProxy.start({ target: { port } }))
        }
      }
      for (const i of names.keys()) {
        await nodes.request(i, { op: 'routes', map: nodes.#routes(i) })
      }
      // Each dials those before it; `connect` makes them its seeds, redialed after any cut.
      for (const i of names.keys()) {
        for (const j of names.keys()) {
          if (j < i) await nodes.request(i, { op: 'connect', url: nodes.#slots[j]!.url })
        }
      }
      const complaints = await nodes.waitForMesh(options.boundMs)
      if (complaints.length > 0) throw new Error(`no mesh: ${complaints.join('; ')}`)
      return nodes
    } catch (e) {
      await Promise.all(children.map((c) => c[Symbol.asyncDispose]()))
      await Promise.all([...proxies.values()].map((p) => p.close()))
      throw e
    }
  }

  get count(): number {
    return this.#slots.length
  }

  /** Node `i`'s name (A, B, ...). */
  name(i: number): string {
    return this.#slot(i).name
  }

  /** Node `i`'s current node id (a fresh one at every start). */
  id(i: number): string {
    return this.#slot(i).id
  }

  /** Node `i`'s current incarnation: 0, then one more at every restart. */
  incarnation(i: number): number {
    return this.#slot(i).incarnation
  }

  /** The OS process id of node `i`'s current process. */
  pid(i: number): number {
    return this.#slot(i).child.pid
  }

  /** Sends node `i` a command and resolves with its result. */
  request(i: number, command: ChildCommand, timeoutMs?: number): Promise<unknown> {
    return this.#slot(i).child.request(command, timeoutMs ?? this.#options.boundMs)
  }

  /** Hands the sink what every node printed since the last drain. */
  drain(): void {
    for (const i of this.#slots.keys()) this.#drain(i)
  }

  /** Kills node `i` with SIGKILL and resolves once it has exited. */
  async kill(i: number): Promise<void> {
    const slot = this.#slot(i)
    await slot.child.kill9()
    this.#drain(i)
  }

  /**
   * Stops node `i` with SIGTERM (a graceful leave) and resolves once it exited: true if it did by
   * itself within the stop bound, false if the harness had to kill it.
   */
  async stop(i: number): Promise<boolean> {
    const slot = this.#slot(i)
    const code = await slot.child.stop(this.#options.stopTimeoutMs)
    this.#drain(i)
    return code === 0
  }

  /** Starts node `i` again (same name and URL, a new id), and lets the proxies reach its port. */
  async restart(i: number): Promise<void> {
    const slot = this.#slot(i)
    this.#drain(i)
    const seeds = this.#slots.filter((_, j) => j !== i).map((s) => s.url)
    const ready = await slot.child.restart({
      ADVERTISE: slot.url,
      ROUTES: JSON.stringify(this.#routes(i)),
      SEEDS: JSON.stringify(seeds),
    })
    slot.incarnation++
    slot.drained = 0
    slot.id = readyField(ready, 'id')
    const port = Number(readyField(ready, 'port'))
    for (const j of this.#slots.keys()) if (j !== i) this.#proxy(j, i).retarget(port)
  }

  /** Stops node `i`'s process with SIGSTOP (its sockets stay open, it answers nothing). */
  pause(i: number): void {
    process.kill(this.#slot(i).child.pid, 'SIGSTOP')
  }

  /** Lets node `i`'s process go on (SIGCONT). */
  resume(i: number): void {
    const slot = this.#slot(i)
    if (slot.child.running) process.kill(slot.child.pid, 'SIGCONT')
  }

  /** Sets both directions of the link between `a` and `b`. */
  setLink(a: number, b: number, mode: FaultMode): void {
    this.#proxy(a, b).setMode(mode)
    this.#proxy(b, a).setMode(mode)
  }

  /** Resolves once every node sees every other up (no complaints), or with what is missing. */
  waitForMesh(timeoutMs: number): Promise<readonly string[]> {
    return pollUntil(
      timeoutMs,
      50,
      async () => {
        const complaints: string[] = []
        for (const [i, slot] of this.#slots.entries()) {
          const up = new Set((await this.request(i, { op: 'nodes' })) as string[])
          const missing = this.#slots.filter((s, j) => j !== i && !up.has(s.id)).map((s) => s.name)
          if (missing.length > 0) complaints.push(`${slot.name} does not see ${missing.join(', ')}`)
        }
        return complaints
      },
      (message) => message,
    )
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all(this.#slots.map((s) => s.child[Symbol.asyncDispose]()))
    await Promise.all([...this.#proxies.values()].map((p) => p.close()))
  }

  #slot(i: number): Slot {
    const slot = this.#slots[i]
    if (slot === undefined) throw new Error(`no node ${i}`)
    return slot
  }

  #proxy(from: number, to: number): FaultProxy {
    const proxy = this.#proxies.get(`${from}>${to}`)
    if (proxy === undefined) throw new Error(`no proxy from node ${from} to node ${to}`)
    return proxy
  }

  /** Node `i`'s routes: every other node's URL → the proxy on the link from `i` to it. */
  #routes(i: number): Record<string, string> {
    const map: Record<string, string> = {}
    for (const [j, slot] of this.#slots.entries()) {
      if (j !== i) map[slot.url] = this.#proxy(i, j).wsUrl
    }
    return map
  }

  #drain(i: number): void {
    const slot = this.#slot(i)
    const events = slot.child.events
    if (events.length > slot.drained) {
      this.#options.sink(i, slot.incarnation, events.slice(slot.drained))
      slot.drained = events.length
    }
  }
}
