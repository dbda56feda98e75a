import { describe, expect, it } from 'vitest'
import type { NodeId } from '@swormjs/actor'
import { StartWindows } from '../src/StartWindows.js'

const A = 'a' as NodeId
const B = 'b' as NodeId

/** A start that answers when the test says so. */
function deferred(): { promise: Promise<string>; resolve: (v: string) => void } {
  let resolve!: (v: string) => void
  const promise = new Promise<string>((r) => (resolve = r))
  return { promise, resolve }
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r))

/** A fixed window of `n`: answers never count as slow, and it may not grow past `n`. */
const fixed = (n: number): StartWindows =>
  new StartWindows({ initial: n, min: n, max: n, slowMs: Infinity, now: () => 0, sliceMs: 10 })

describe('StartWindows', () => {
  it('keeps at most the window in flight to a node, and sends the rest in order', async () => {
    const windows = fixed(2)
    const sent: number[] = []
    const answers = new Map<number, (v: string) => void>()
    const results = Array.from({ length: 5 }, (_, i) =>
      windows.run(
        () => A,
        () => {
          sent.push(i)
          const d = deferred()
          answers.set(i, d.resolve)
          return d.promise
        },
      ),
    )
    await flush()
    expect(sent).toEqual([0, 1])
    expect(windows.queued).toBe(3)
    answers.get(1)!('one')
    await flush()
    expect(sent).toEqual([0, 1, 2])
    answers.get(0)!('zero')
    answers.get(2)!('two')
    await flush()
    expect(sent).toEqual([0, 1, 2, 3, 4])
    answers.get(3)!('three')
    answers.get(4)!('four')
    expect(await Promise.all(results)).toEqual(['zero', 'one', 'two', 'three', 'four'])
    expect(windows.queued).toBe(0)
  })

  it('does not hold starts to one node behind a full window to another', async () => {
    const windows = fixed(1)
    const stuck = deferred()
    void windows.run(
      () => A,
      () => stuck.promise,
    )
    const other = await windows.run(
      () => B,
      async () => 'done',
    )
    expect(other).toBe('done')
    stuck.resolve('late')
  })

  it('places a waiting start again when its turn comes', async () => {
    const windows = fixed(1)
    let home = A
    const first = deferred()
    const targets: NodeId[] = []
    void windows.run(
      () => A,
      () => first.promise,
    )
    const moved = windows.run(
      () => home,
      async (target) => {
        targets.push(target)
        return target
      },
    )
    await flush()
    home = B
    first.resolve('x')
    expect(await moved).toBe(B)
    expect(targets).toEqual([B])
  })

  it('frees the slot of a start that failed, to place or to send', async () => {
    const windows = fixed(1)
    await expect(
      windows.run(
        () => A,
        async () => {
          throw new Error('refused')
        },
      ),
    ).rejects.toThrow('refused')
    const blocker = deferred()
    void windows.run(
      () => A,
      () => blocker.promise,
    )
    let placeable = true
    const noNode = windows.run(
      () => {
        if (!placeable) throw new Error('no node left')
        return A
      },
      async () => 'sent',
    )
    await flush()
    placeable = false
    blocker.resolve('ok')
    await expect(noNode).rejects.toThrow('no node left')
    expect(
      await windows.run(
        () => A,
        async () => 'free again',
      ),
    ).toBe('free again')
  })

  it('halves the window of a node that answers late, and grows it by one per quick answer', async () => {
    let now = 0
    const windows = new StartWindows({
      initial: 8,
      min: 2,
      max: 16,
      slowMs: 100,
      now: () => now,
      sliceMs: 10,
    })
    /** Sends `k` starts to node a at once; the returned function answers them all `ms` later. */
    const inFlight = (k: number): ((ms: number) => Promise<unknown>) => {
      const hold = deferred()
      const all = Promise.all(
        Array.from({ length: k }, () =>
          windows.run(
            () => A,
            () => hold.promise,
          ),
        ),
      )
      return async (ms) => {
        await flush() // placed and sent
        now += ms
        hold.resolve('ok')
        return all
      }
    }
    const keep = inFlight(1) // keeps node a busy, so that its window is not forgotten
    // Two late answers of one round trip: one cut, not two.
    await inFlight(2)(500)
    expect(windows.sizeOf(A)).toBe(4)
    // Each quick answer adds one.
    for (let i = 0; i < 4; i++) await inFlight(1)(1)
    expect(windows.sizeOf(A)).toBe(8)
    await inFlight(2)(1)
    expect(windows.sizeOf(A)).toBe(10)
    // Late again, a round trip after the last cut: cut again, never below `min`.
    await inFlight(1)(500)
    expect(windows.sizeOf(A)).toBe(5)
    now += 1
    await inFlight(1)(500)
    expect(windows.sizeOf(A)).toBe(2)
    now += 1
    await inFlight(1)(500)
    expect(windows.sizeOf(A)).toBe(2)
    await keep(0)
    expect(windows.sizeOf(A)).toBe(8) // idle: it starts over from the initial window
  })

  it('places starts asked in one step in later turns, a slice at a time, once some wait', async () => {
    let now = 0
    const windows = new StartWindows({
      initial: 1,
      min: 1,
      max: 1,
      slowMs: 1e9,
      now: () => now,
      sliceMs: 10,
    })
    let placed = 0
    const never = new Promise<string>(() => undefined)
    for (let i = 0; i < 100; i++) {
      void windows.run(
        () => {
          placed++
          now += 1 // each placing takes 1 ms
          return A
        },
        () => never,
      )
    }
    // The first is sent and the second waits for its slot: the other 98 are not placed yet.
    expect(placed).toBe(2)
    expect(windows.queued).toBe(99)
    await new Promise((r) => setImmediate(r))
    expect(placed).toBe(12)
    while (placed < 100) await new Promise((r) => setImmediate(r))
    expect(windows.queued).toBe(99)
  })
})
