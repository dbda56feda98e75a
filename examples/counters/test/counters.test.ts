// Runs the counters example in-process and checks what it prints: every counter keeps its count
// when the node hosting page:home leaves, and page:home counts on from there on its new node.
import { describe, expect, it } from 'vitest'
import { main } from '../src/main.js'

/** `page:home = 2 on node c (moved from b)` → its parts. */
function parse(line: string): { name: string; count: number; node: string; from?: string } {
  const m = /^(page:\w+) = (\d+) on node (\w+)(?: \(moved from (\w+)\))?$/.exec(line)
  if (m === null) throw new Error(`unexpected line: ${line}`)
  return { name: m[1]!, count: Number(m[2]), node: m[3]!, ...(m[4] ? { from: m[4] } : {}) }
}

describe('the counters example', () => {
  it('moves the counters of a node that leaves gracefully, each with its count', async () => {
    const lines: string[] = []
    expect(await main((line) => lines.push(line))).toBe(true)

    const stopping = lines.findIndex((l) => l.startsWith('stopping node '))
    expect(stopping).toBe(3)
    const leaving = /^stopping node (\w+) gracefully$/.exec(lines[stopping]!)![1]
    const before = lines.slice(0, 3).map(parse)
    const after = lines.slice(4, 7).map(parse)
    expect(before.map((c) => [c.name, c.count])).toEqual([
      ['page:home', 2],
      ['page:about', 3],
      ['page:blog', 4],
    ])
    expect(before[0]!.node).toBe(leaving)
    // Same names, same counts; nothing runs on the node that left, and only its counters moved.
    expect(after.map((c) => [c.name, c.count])).toEqual(before.map((c) => [c.name, c.count]))
    for (const [i, c] of after.entries()) {
      expect(c.node).not.toBe(leaving)
      expect(c.from).toBe(before[i]!.node === leaving ? leaving : undefined)
    }
    expect(lines.slice(7)).toEqual(['page:home + 1 = 3', 'OK: every counter kept its count'])
  })
})
