// The checker of a chaos run, after each heal: the cluster settles (every node sees every other
// up, every name resolves to the same pid everywhere, and exactly one counter runs per name, the
// one it resolves to), then every counter's count is held to its bounds.
import type { ChaosNodes } from './ChaosNodes.js'
import { pollUntil } from './poll.js'
import type { Violation } from './violations.js'

/** Each read of a count by name: a few fit in the bound of `checkCounts`. */
const GET_TIMEOUT_MS = 2000

/** A violation before it is stamped with its step. */
export type Finding = Omit<Violation, 'step'>

/** What a name's count must be: at least `atLeast` (unless excused), at most `atMost`. */
export interface Bounds {
  readonly atLeast: number | undefined
  readonly atMost: number
}

/**
 * Resolves once the cluster has settled, with no findings; or, after `boundMs`, with what was
 * still wrong at the last look.
 */
export function settle(
  nodes: ChaosNodes,
  names: readonly string[],
  boundMs: number,
): Promise<readonly Finding[]> {
  return pollUntil(
    boundMs,
    100,
    () => look(nodes, names),
    (message): Finding => ({ kind: 'unsettled', detail: message }),
  )
}

async function look(nodes: ChaosNodes, names: readonly string[]): Promise<Finding[]> {
  const slots = Array.from({ length: nodes.count }, (_, i) => i)
  const mesh = await nodes.waitForMesh(0)
  if (mesh.length > 0) return mesh.map((detail) => ({ kind: 'unsettled', detail }))
  const views = await Promise.all(
    slots.map(
      async (i) =>
        new Map((await nodes.request(i, { op: 'registered' })) as Array<[string, string]>),
    ),
  )
  const running = new Map<string, string[]>()
  for (const i of slots) {
    for (const [name, pid] of (await nodes.request(i, { op: 'workers' })) as Array<
      [string, string]
    >) {
      running.set(name, [...(running.get(name) ?? []), `${pid} on ${nodes.name(i)}`])
    }
  }
  const findings: Finding[] = []
  for (const name of names) {
    const seen = slots.map((i) => views[i]!.get(name))
    const pids = new Set(seen.filter((p) => p !== undefined))
    const on = (i: number): string => `${nodes.name(i)}: ${seen[i] ?? 'none'}`
    if (seen.includes(undefined)) {
      findings.push({ kind: 'missing', detail: `${name} resolves as ${slots.map(on).join(', ')}` })
    } else if (pids.size > 1) {
      findings.push({ kind: 'disagree', detail: `${name} resolves as ${slots.map(on).join(', ')}` })
    }
    const workers = running.get(name) ?? []
    const holder = seen[0]
    if (workers.length > 1 || (holder !== undefined && !workers[0]?.startsWith(`${holder} `))) {
      findings.push({
        kind: 'duplicate',
        detail: `${name} runs ${workers.length} counters (${workers.join(', ')}), resolves to ${holder ?? 'none'}`,
      })
    }
  }
  return findings
}

/**
 * Reads every count (by name, from node `from`) until each is within its bounds, at most
 * `boundMs` (a conflict merge's state may still be on its way); resolves with the counts read
 * last and what is out of bounds then.
 */
export async function checkCounts(
  nodes: ChaosNodes,
  from: number,
  bounds: ReadonlyMap<string, Bounds>,
  boundMs: number,
  hostOf: (name: string) => string,
): Promise<{ counts: ReadonlyMap<string, number>; findings: readonly Finding[] }> {
  const counts = new Map<string, number>()
  const findings = await pollUntil(
    boundMs,
    200,
    async () => {
      const read = (await nodes.request(from, {
        op: 'get',
        names: [...bounds.keys()],
        timeoutMs: GET_TIMEOUT_MS,
      })) as Record<string, number | string>
      const out: Finding[] = []
      for (const [name, { atLeast, atMost }] of bounds) {
        const got = read[name]
        if (typeof got !== 'number') {
          out.push({
            kind: 'noAnswer',
            detail: `${name} on ${hostOf(name)}: get from ${nodes.name(from)} failed: ${String(got)}`,
          })
          continue
        }
        counts.set(name, got)
        if (atLeast !== undefined && got < atLeast) {
          out.push({
            kind: 'lostIncrement',
            detail: `${name} on ${hostOf(name)} counts ${got}, acknowledged at least ${atLeast}`,
          })
        }
        if (got > atMost) {
          out.push({
            kind: 'overcount',
            detail: `${name} on ${hostOf(name)} counts ${got}, only ${atMost} increments were ever sent`,
          })
        }
      }
      return out
    },
    (message): Finding => ({
      kind: 'noAnswer',
      detail: `get from ${nodes.name(from)}: ${message}`,
    }),
  )
  return { counts, findings }
}
