// A few nodes in this process on 127.0.0.1 for the observer's tests, a registry and a
// supervisor on each, and a reader of the Prometheus text format. (The root `test/` workspace
// has a fuller harness, for the packages below this one.)
import { Actor, silentLogger, type Pid } from '@swormjs/actor'
import { startNode, type Node } from '@swormjs/cluster'
import { Registry } from '@swormjs/registry'
import { DistributedSupervisor } from '@swormjs/supervisor'

export const TEST_COOKIE = 'observe-test-cookie'

/** Polls `check` every 10 ms until it returns true; rejects naming `what` after `timeoutMs`. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** `n` nodes meshed over loopback (`n0` is the seed); stopping them is the caller's job. */
export async function startCluster(n: number): Promise<Node[]> {
  const base = { cookie: TEST_COOKIE, logger: silentLogger, host: '127.0.0.1' }
  const nodes = [await startNode({ ...base, name: 'n0' })]
  for (let i = 1; i < n; i++) {
    nodes.push(await startNode({ ...base, name: `n${i}`, seeds: [nodes[0]!.url] }))
  }
  await waitUntil(
    () => nodes.every((a) => nodes.every((b) => a === b || a.isUp(b.id))),
    5000,
    'a full mesh',
  )
  return nodes
}

/** Stops every node that is still running. */
export async function stopAll(nodes: readonly Node[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.stop()))
}

/** A child of the supervisor: answers every call; `'crash'` makes it crash. */
export class Worker extends Actor<string> {
  override handleCall(msg: unknown): unknown {
    if (msg === 'crash') throw new Error('crash on request')
    return { node: this.runtime.nodeId }
  }
}

/** Something to register. */
export class Idle extends Actor {}

export function idle(node: Node): Pid {
  return node.runtime.spawn(Idle, undefined)
}

/** The registry `r` and the supervisor `s` on every node, once each sees the others. */
export async function startComponents(
  nodes: readonly Node[],
): Promise<{ regs: Registry[]; sups: DistributedSupervisor[] }> {
  const regs = await Promise.all(nodes.map((n) => Registry.start(n, 'r')))
  const sups = await Promise.all(
    nodes.map((n) => DistributedSupervisor.start(n, 's', { actors: { Worker } })),
  )
  await waitUntil(
    () =>
      regs.every((r) => r.stats().nodes === nodes.length) &&
      sups.every((s) => s.stats().members === nodes.length),
    5000,
    'every registry and supervisor to see the others',
  )
  return { regs, sups }
}

/** One sample of a scrape: metric name, labels, value. */
export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

/** Reads the Prometheus text format (enough of it for these tests: no escapes in label values). */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (m === null) throw new Error(`not a sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)) labels[l[1]!] = l[2]!
    out.push({ name: m[1]!, labels, value: Number(m[3]) })
  }
  return out
}

/** The value of the one sample of `name` whose labels include `labels`; throws if not one. */
export function valueOf(
  samples: readonly Sample[],
  name: string,
  labels: Record<string, string> = {},
): number {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  )
  if (found.length !== 1) {
    throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`)
  }
  return found[0]!.value
}

/** GET `path` of `node` over http. */
export function get(node: Node, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${node.url.replace(/^ws/, 'http')}${path}`, init)
}

/** Scrapes `/metrics` of `node`. */
export async function scrape(node: Node): Promise<Sample[]> {
  const res = await get(node, '/metrics')
  if (res.status !== 200) throw new Error(`GET /metrics: ${res.status}`)
  return parseMetrics(await res.text())
}
