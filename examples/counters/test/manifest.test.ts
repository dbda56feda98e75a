// The Kubernetes manifest (deploy/kubernetes/statefulset.yaml) and the entry point it runs: every
// variable the manifest sets is one the program reads, and three processes started with the
// manifest's environment form a cluster, count once each and answer the probes. Three values
// stand in for what only a cluster gives: each pod's IP is 127.0.0.1 (with a port of its own,
// so PORT and HOST are the test's), and SEEDS, a cluster DNS name there, lists the three here.
import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { freePorts } from '@swormjs/test'
import { run, stopAll } from './run.js'

const manifest = new URL('../../../deploy/kubernetes/statefulset.yaml', import.meta.url)
const program = new URL('../src/node.ts', import.meta.url)

/** The container's `env`: each variable with its value, or `from` for a downward or secret one. */
function envOf(yaml: string): Array<{ name: string; value?: string; from?: string }> {
  const block = /\n(\s+)env:\n([\s\S]*?)\n\1[a-zA-Z]/.exec(yaml)
  if (block === null) throw new Error('no env block in the manifest')
  const out: Array<{ name: string; value?: string; from?: string }> = []
  for (const item of block[2]!.split(/\n\s+- name: /).slice(0)) {
    const name = /^(?:\s*- name: )?(\w+)/.exec(item)?.[1]
    if (name === undefined) continue
    const value = /value: (?:"([^"]*)"|'([^']*)'|(\S+))/
      .exec(item)
      ?.slice(1)
      .find((v) => v !== undefined)
    const from = /fieldPath: (\S+)|secretKeyRef:/.exec(item)
    if (value !== undefined) out.push({ name, value })
    else if (from !== null) out.push({ name, from: from[1] ?? 'secret' })
  }
  return out
}

/** Expands `$(VAR)` as the kubelet does, from the variables defined before. */
function expand(value: string, env: Record<string, string>): string {
  return value.replace(/\$\((\w+)\)/g, (_, v: string) => env[v] ?? `$(${v})`)
}

describe('the Kubernetes manifest', () => {
  it('sets only variables the entry point reads', async () => {
    const env = envOf(await readFile(manifest, 'utf8'))
    expect(env.map((e) => e.name)).toEqual([
      'POD_IP',
      'POD_NAME',
      'NODE_NAME',
      'HOST',
      'PORT',
      'ADVERTISE',
      'SEEDS',
      'MIN_NODES',
      'SWORM_COOKIE',
    ])
    const source = await readFile(program, 'utf8')
    // POD_IP and POD_NAME only feed the others; each of the rest is read by the program.
    for (const { name } of env.filter((e) => !e.name.startsWith('POD_'))) {
      expect(source, name).toContain(`'${name}'`)
    }
  })

  it('three pods started with its environment meet, count once each and are ready', async () => {
    const defined = envOf(await readFile(manifest, 'utf8'))
    const ports = await freePorts(3)
    const seeds = ports.map((p) => `ws://127.0.0.1:${p}`).join(',')
    const runs = ports.map((port, i) => {
      const env: Record<string, string> = {}
      for (const e of defined) {
        if (e.from === 'status.podIP') env[e.name] = '127.0.0.1'
        else if (e.from === 'metadata.name') env[e.name] = `sworm-${i}`
        else if (e.from === 'secret') env[e.name] = 'a-cookie-from-the-secret-0123'
        else if (e.name === 'HOST') env[e.name] = '127.0.0.1'
        else if (e.name === 'PORT') env[e.name] = String(port)
        else if (e.name === 'SEEDS') env[e.name] = seeds
        else env[e.name] = expand(e.value!, env)
      }
      expect(env['ADVERTISE']).toBe(`ws://127.0.0.1:${port}`)
      return run(env)
    })
    try {
      const lines = await Promise.all(runs.map((r) => r.counted))
      const counts = lines.map((l) => /^sworm-\d: page:home = (\d), counted on sworm-\d$/.exec(l))
      expect(
        counts.every((m) => m !== null),
        lines.join('\n'),
      ).toBe(true)
      expect(counts.map((m) => Number(m![1])).sort()).toEqual([1, 2, 3])
      for (const port of ports) {
        const ready = await fetch(`http://127.0.0.1:${port}/readyz`)
        expect(ready.status).toBe(200)
        const live = await fetch(`http://127.0.0.1:${port}/healthz`)
        expect(live.status).toBe(200)
      }
    } finally {
      await stopAll(runs)
    }
  }, 60_000)
})
