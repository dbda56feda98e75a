// Long work in short steps: a sliced loop visits every item in order and lets the event loop turn
// between slices; a limited fan-out keeps at most so many calls in flight and runs them all.
import { describe, expect, it } from 'vitest'
import { actorDefaults } from '@swormjs/actor'
import { forEachLimited, forEachSliced, SliceGate } from '@swormjs/actor/internal'
import { countTurns, deferred } from './helpers.js'

describe('forEachSliced', () => {
  it('visits every item in order and lets the loop turn between slices', async () => {
    // Every reading of this clock is a millisecond later: a slice is a few items.
    let ms = 0
    const clock = { now: () => ms++ }
    const loop = countTurns()
    const seen: Array<{ item: number; turn: number }> = []
    await forEachSliced(
      [...Array(100).keys()],
      (item) => void seen.push({ item, turn: loop.turns() }),
      {
        clock,
        sliceMs: 10,
      },
    )
    loop.stop()
    expect(seen.map((s) => s.item)).toEqual([...Array(100).keys()])
    expect(seen.at(-1)!.turn).toBeGreaterThan(seen[0]!.turn)
  })

  it('runs in one turn while its slice lasts, and stops when told', async () => {
    const loop = countTurns()
    const seen: Array<{ item: number; turn: number }> = []
    await forEachSliced(
      [...Array(100).keys()],
      (item) => {
        seen.push({ item, turn: loop.turns() })
        return item === 49
      },
      { clock: { now: () => 0 } },
    )
    loop.stop()
    expect(seen.map((s) => s.item)).toEqual([...Array(50).keys()])
    expect(new Set(seen.map((s) => s.turn)).size).toBe(1)
  })
})

describe('forEachLimited', () => {
  it('keeps at most the limit in flight, starts the items in order and runs them all', async () => {
    const gates = Array.from({ length: 10 }, () => deferred())
    const started: number[] = []
    let inFlight = 0
    let most = 0
    const run = forEachLimited([...Array(10).keys()], 3, async (i) => {
      started.push(i)
      most = Math.max(most, ++inFlight)
      await gates[i]!.promise
      inFlight--
    })
    for (const gate of [...gates].reverse()) gate.resolve()
    await run
    expect(started).toEqual([...Array(10).keys()])
    expect(most).toBe(3)
  })

  it('rejects with the first failure and starts nothing after it', async () => {
    const started: number[] = []
    const run = forEachLimited([...Array(10).keys()], 2, async (i) => {
      started.push(i)
      await Promise.resolve()
      if (i === 1) throw new Error('one failed')
    })
    await expect(run).rejects.toThrow('one failed')
    // The lanes hear of the failure when their item settles: 2 was already under way.
    expect(started).toEqual([0, 1, 2])
  })
})

describe('forEachLimited slices', () => {
  it('lets the loop turn when its items settle at once, and still runs each once in order', async () => {
    let ms = 0
    const clock = { now: () => ms++ }
    const loop = countTurns()
    const seen: Array<{ item: number; turn: number }> = []
    await forEachLimited(
      [...Array(100).keys()],
      4,
      async (item) => void seen.push({ item, turn: loop.turns() }),
      { clock, sliceMs: 10 },
    )
    loop.stop()
    expect(seen.map((s) => s.item)).toEqual([...Array(100).keys()])
    expect(seen.at(-1)!.turn).toBeGreaterThan(seen[0]!.turn)
  })

  it('runs one slice per turn however many lanes come back in that turn', async () => {
    // Each item takes 1 ms: a turn runs about `sliceMs` of them, not a slice per lane.
    let ms = 0
    const clock = { now: () => ms }
    const loop = countTurns()
    const perTurn = new Map<number, number>()
    await forEachLimited(
      [...Array(2000).keys()],
      64,
      async () => {
        ms += 1
        const turn = loop.turns()
        perTurn.set(turn, (perTurn.get(turn) ?? 0) + 1)
      },
      { clock, sliceMs: 10 },
    )
    loop.stop()
    expect([...perTurn.values()].reduce((a, b) => a + b, 0)).toBe(2000)
    expect(Math.max(...perTurn.values())).toBeLessThanOrEqual(10)
  })
})

describe('SliceGate', () => {
  it('lets tasks that resume in one turn run one slice there, the rest in later turns', async () => {
    let ms = 0
    const gate = new SliceGate({ clock: { now: () => ms }, sliceMs: 10 })
    const loop = countTurns()
    const release = deferred()
    const turns: number[] = []
    // A hundred tasks waiting on one event, each 1 ms of work once it passes the gate.
    const tasks = Array.from({ length: 100 }, async () => {
      await release.promise
      for (let wait = gate.pass(); wait !== undefined; wait = gate.pass()) await wait
      ms += 1
      turns.push(loop.turns())
    })
    release.resolve()
    await Promise.all(tasks)
    loop.stop()
    const perTurn = new Map<number, number>()
    for (const t of turns) perTurn.set(t, (perTurn.get(t) ?? 0) + 1)
    expect(turns.length).toBe(100)
    expect(Math.max(...perTurn.values())).toBeLessThanOrEqual(10)
    expect(perTurn.size).toBeGreaterThanOrEqual(10)
  })
})

describe('the turn shared by sliced workers', () => {
  it('bounds the work of several sliced loops together in one turn, not each alone', async () => {
    // Four loops on the real clock, each item 1 ms of work. Each alone stops at `sliceMs`
    // (10 ms); together they stop at `turnMs` (20 ms), each taking at most one more step: about
    // 24 items a turn, where four slices of their own would run about 40.
    const spin = (): void => {
      const until = performance.now() + 1
      while (performance.now() < until);
    }
    const loop = countTurns()
    const perTurn = new Map<number, number>()
    const seen: number[][] = [[], [], [], []]
    await Promise.all(
      seen.map((out) =>
        forEachSliced([...Array(60).keys()], (item) => {
          spin()
          out.push(item)
          const t = loop.turns()
          perTurn.set(t, (perTurn.get(t) ?? 0) + 1)
        }),
      ),
    )
    loop.stop()
    for (const out of seen) expect(out).toEqual([...Array(60).keys()])
    expect(actorDefaults.turnMs).toBe(20)
    expect(Math.max(...perTurn.values())).toBeLessThanOrEqual(30)
  })
})
