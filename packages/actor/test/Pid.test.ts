// Pids and refs: a stable printed form that parses back, and InvalidPid for anything else.
import { describe, expect, it } from 'vitest'
import {
  InvalidPid,
  Runtime,
  formatPid,
  formatRef,
  isPid,
  isRef,
  nodeOf,
  nodeOfRef,
  parsePid,
  serialOf,
  silentLogger,
  toPid,
  type NodeId,
  type Pid,
} from '@swormjs/actor'

const node = '6f1c2a7e-8d2b-4c55-9a0e-3b7d1f0c9e11' as NodeId

describe('Pid', () => {
  it('prints as <node.serial> and parses back to the same parts', () => {
    const pid = formatPid(node, 42)
    expect(pid).toBe(`<${node}.42>`)
    expect(isPid(pid)).toBe(true)
    expect(parsePid(pid)).toEqual({ node, serial: 42 })
    expect(formatPid(parsePid(pid).node, parsePid(pid).serial)).toBe(pid)
    expect(nodeOf(pid)).toBe(node)
    expect(toPid(String(pid))).toBe(pid)
  })

  it("reads a pid's serial without parsing the rest, and refuses what is not one", () => {
    for (const serial of [0, 7, 42, 1_234_567_890])
      expect(serialOf(formatPid(node, serial))).toBe(serial)
    for (const bad of [`<${node}.>`, `<${node}.4x2>`, `<${node}>`, '<.>']) {
      expect(() => serialOf(bad as Pid)).toThrow(InvalidPid)
    }
  })

  it('round-trips the pids a runtime makes, which are unique and carry its node id', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const pids = [rt.spawn(() => undefined), rt.spawn(() => undefined), rt.systemPid]
    expect(new Set(pids).size).toBe(3)
    for (const pid of pids) {
      const { node: n, serial } = parsePid(pid)
      expect(n).toBe(rt.nodeId)
      expect(formatPid(n, serial)).toBe(pid)
    }
  })

  it('uses the nodeId given to the runtime', async () => {
    await using rt = new Runtime({ logger: silentLogger, nodeId: 'node-a' })
    expect(nodeOf(rt.spawn(() => undefined))).toBe('node-a')
  })

  it.each([
    '',
    'abc',
    '<>',
    '<abc>',
    '<.1>',
    '<abc.x>',
    '<abc.-1>',
    '<abc.1.5',
    'abc.1>',
    '<abc.>',
    '<abc. 1>',
    '<abc.1e3>',
    '<abc.0x10>',
    '<abc.01>',
    '<abc.99999999999999999999>',
    '<abc.1.5>x',
  ])('throws InvalidPid for %j', (garbage) => {
    let err: unknown
    try {
      parsePid(garbage)
    } catch (e) {
      err = e
    }
    expect(InvalidPid.is(err)).toBe(true)
    expect(err).toMatchObject({ value: garbage })
    expect(() => toPid(garbage)).toThrow(InvalidPid)
  })

  it('tells pids from other values', () => {
    expect(isPid(formatPid(node, 0))).toBe(true)
    for (const u of [undefined, null, 42, {}, 'hello', formatRef(node, 1)]) {
      expect(isPid(u)).toBe(false)
    }
  })
})

describe('Ref', () => {
  it('prints as #node.serial and names the node that made it', () => {
    const ref = formatRef(node, 7)
    expect(ref).toBe(`#${node}.7`)
    expect(isRef(ref)).toBe(true)
    expect(nodeOfRef(ref)).toBe(node)
    expect(isRef(formatPid(node, 7))).toBe(false)
    expect(isRef('#')).toBe(false)
  })

  it('makes unique refs of its own node in a runtime', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const refs = Array.from({ length: 100 }, () => rt.makeRef())
    expect(new Set(refs).size).toBe(100)
    for (const r of refs) expect(nodeOfRef(r)).toBe(rt.nodeId)
  })
})
