import { describe, expect, it } from 'vitest'
import { reasonToWire, type NodeId, type Pid } from '@swormjs/actor'
import { NotSerializable } from '@swormjs/cluster'
import { MAX_BATCH, StartBatches, type StartItem, type StartRequest } from '../src/StartBatches.js'
import { AlreadyStarted } from '../src/errors.js'
import type { Started } from '../src/records.js'

const A = 'a' as NodeId
const B = 'b' as NodeId

const flush = (): Promise<void> => new Promise((r) => setImmediate(r))

const item = (id: string, handoff?: unknown): StartItem => ({
  spec: { id, type: 'T', args: null, restart: 'permanent', shutdownMs: 10 },
  ...(handoff === undefined ? {} : { handoff }),
})

const started = (id: string): Started => ({ pid: `<${id}>` as Pid, info: id })

/** A node's server that answers what the test says, recording every request. */
function fakeServers(answer: (node: NodeId, request: StartRequest) => Promise<unknown>): {
  batches: StartBatches
  sent: Array<{ node: NodeId; request: StartRequest }>
} {
  const sent: Array<{ node: NodeId; request: StartRequest }> = []
  const batches = new StartBatches({
    call: (node, request) => {
      sent.push({ node, request })
      return answer(node, request)
    },
  })
  return { batches, sent }
}

/** Answers every start as started, and `starts` with each item's outcome. */
const allStart = (_node: NodeId, request: StartRequest): Promise<unknown> =>
  Promise.resolve(
    request.op === 'start'
      ? started(request.spec.id)
      : request.items.map((i) => ({ ok: started(i.spec.id) })),
  )

/** A promise the test settles: the first start waits on it, so that the next ones queue. */
function gate(): { held: Promise<void>; release: () => void } {
  let release!: () => void
  const held = new Promise<void>((r) => (release = r))
  return { held, release }
}

type Starts = Extract<StartRequest, { op: 'starts' }>

/**
 * A server whose lone starts are answered started once `held` settles, and whose batches
 * `batch` answers (each item started, by default).
 */
const loneHeld =
  (
    held: Promise<void>,
    batch: (request: Starts) => unknown = (r) => r.items.map((i) => ({ ok: started(i.spec.id) })),
  ) =>
  async (_node: NodeId, request: StartRequest): Promise<unknown> => {
    if (request.op === 'start') {
      await held
      return started(request.spec.id)
    }
    return batch(request)
  }

const ids = (request: StartRequest): string[] =>
  request.op === 'start' ? [request.spec.id] : request.items.map((i) => i.spec.id)

describe('StartBatches', () => {
  it('sends a start at once and alone while nothing is on its way to that node', async () => {
    const { batches, sent } = fakeServers(allStart)
    const one = batches.start(A, item('x'), 1000)
    expect(sent).toEqual([{ node: A, request: { op: 'start', ...item('x') } }])
    expect(await one).toEqual(started('x'))
  })

  it('sends the starts made behind one on its way as one request at the end of the turn', async () => {
    const { held, release } = gate()
    const { batches, sent } = fakeServers(loneHeld(held))
    const first = batches.start(A, item('a0'), 1000)
    const rest = Array.from({ length: 5 }, (_, i) => batches.start(A, item(`a${i + 1}`), 1000))
    const other = batches.start(B, item('b0'), 1000)
    expect(sent.map((s) => ids(s.request))).toEqual([['a0'], ['b0']])
    await flush()
    expect(sent.map((s) => ids(s.request))).toEqual([
      ['a0'],
      ['b0'],
      ['a1', 'a2', 'a3', 'a4', 'a5'],
    ])
    expect(sent[2]!.request.op).toBe('starts')
    release()
    expect(await Promise.all([first, ...rest, other])).toEqual(
      ['a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'b0'].map(started),
    )
  })

  it('gives each start of a batch its own outcome, an error with its fields', async () => {
    const { held, release } = gate()
    const { batches } = fakeServers(
      loneHeld(held, (request) =>
        request.items.map((i) =>
          i.spec.id === 'taken'
            ? { error: reasonToWire(new AlreadyStarted('taken', '<elsewhere>')) }
            : { ok: started(i.spec.id) },
        ),
      ),
    )
    const first = batches.start(A, item('first'), 1000)
    const results = Promise.allSettled(
      ['one', 'taken', 'two'].map((id) => batches.start(A, item(id), 1000)),
    )
    await flush()
    release()
    await first
    const [one, taken, two] = await results
    expect(one).toEqual({ status: 'fulfilled', value: started('one') })
    expect(two).toEqual({ status: 'fulfilled', value: started('two') })
    const e = (taken as PromiseRejectedResult).reason as AlreadyStarted
    expect(AlreadyStarted.is(e)).toBe(true)
    expect(e.pid).toBe('<elsewhere>')
  })

  it('asks a node of an earlier release, which answers a batch with nothing, one by one', async () => {
    const { held, release } = gate()
    const { batches, sent } = fakeServers(async (_node, request) => {
      if (request.op === 'starts') return undefined
      if (request.spec.id === 'first') await held
      return started(request.spec.id)
    })
    const first = batches.start(A, item('first'), 1000)
    const rest = ['p', 'q', 'r'].map((id) => batches.start(A, item(id), 1000))
    await flush()
    release()
    expect(await Promise.all([first, ...rest])).toEqual(['first', 'p', 'q', 'r'].map(started))
    expect(sent.map((s) => ids(s.request))).toEqual([
      ['first'],
      ['p', 'q', 'r'],
      ['p'],
      ['q'],
      ['r'],
    ])
  })

  it('fails only the start whose state cannot be sent, when it would have failed its batch', async () => {
    const { held, release } = gate()
    const unsendable = (i: StartItem): boolean => typeof i.handoff === 'function'
    const { batches } = fakeServers(async (node, request) => {
      if (request.op === 'starts') {
        if (request.items.some(unsendable)) throw new NotSerializable('a function')
        return allStart(node, request)
      }
      if (unsendable(request)) throw new NotSerializable('a function')
      if (request.spec.id === 'first') await held
      return started(request.spec.id)
    })
    const first = batches.start(A, item('first'), 1000)
    const results = Promise.allSettled([
      batches.start(A, item('good', { n: 1 }), 1000),
      batches.start(
        A,
        item('bad', () => 1),
        1000,
      ),
      batches.start(A, item('fine'), 1000),
    ])
    await flush()
    release()
    await first
    const [good, bad, fine] = await results
    expect(good).toEqual({ status: 'fulfilled', value: started('good') })
    expect(fine).toEqual({ status: 'fulfilled', value: started('fine') })
    expect(NotSerializable.is((bad as PromiseRejectedResult).reason)).toBe(true)
  })

  it("rejects every start of a batch with the batch's own failure (a timeout, a node gone)", async () => {
    const { held, release } = gate()
    const { batches } = fakeServers(
      loneHeld(held, () => {
        throw new Error('no answer in time')
      }),
    )
    const first = batches.start(A, item('first'), 1000)
    const results = Promise.allSettled(['x', 'y'].map((id) => batches.start(A, item(id), 1000)))
    await flush()
    release()
    await first
    for (const r of await results) {
      expect(r.status).toBe('rejected')
      expect(((r as PromiseRejectedResult).reason as Error).message).toBe('no answer in time')
    }
  })

  it('gives each start of a failed batch the error its host makes for it', async () => {
    const { held, release } = gate()
    const batches = new StartBatches({
      call: loneHeld(held, () => {
        throw new Error('no answer in time')
      }),
      failedTogether: (error, i, node, count, timeoutMs) =>
        new Error(
          `${(error as Error).message}: ${i.spec.id} on ${node}, one of ${count}, ${timeoutMs} ms`,
        ),
    })
    const first = batches.start(A, item('first'), 1000)
    const results = Promise.allSettled(['x', 'y'].map((id) => batches.start(A, item(id), 1000)))
    await flush()
    release()
    await first
    expect(
      (await results).map((r) => ((r as PromiseRejectedResult).reason as Error).message),
    ).toEqual([
      'no answer in time: x on a, one of 2, 1000 ms',
      'no answer in time: y on a, one of 2, 1000 ms',
    ])
  })

  it(`carries at most ${MAX_BATCH} starts in one request`, async () => {
    const { held, release } = gate()
    const { batches, sent } = fakeServers(loneHeld(held))
    const first = batches.start(A, item('first'), 1000)
    const count = MAX_BATCH * 2 + 5
    const rest = Array.from({ length: count }, (_, i) => batches.start(A, item(`n${i}`), 1000))
    await flush()
    release()
    await Promise.all([first, ...rest])
    const sizes = sent.slice(1).map((s) => ids(s.request).length)
    expect(sizes).toEqual([MAX_BATCH, MAX_BATCH, 5])
    expect(sent.slice(1).flatMap((s) => ids(s.request))).toEqual(
      Array.from({ length: count }, (_, i) => `n${i}`),
    )
  })

  it('sends again the starts a batch did not start (its budget spent), and resolves them then', async () => {
    const { held, release } = gate()
    const budgets: number[] = []
    const { batches, sent } = fakeServers(
      loneHeld(held, (request) => {
        budgets.push(request.budgetMs)
        // Starts the first two of each batch, answers the rest again.
        return request.items.map((i, k) => (k < 2 ? { ok: started(i.spec.id) } : { again: true }))
      }),
    )
    const first = batches.start(A, item('first'), 1000)
    const rest = ['a', 'b', 'c', 'd', 'e'].map((id) => batches.start(A, item(id), 1000))
    await flush()
    release()
    expect(await Promise.all([first, ...rest])).toEqual(
      ['first', 'a', 'b', 'c', 'd', 'e'].map(started),
    )
    expect(sent.slice(1).map((s) => ids(s.request))).toEqual([
      ['a', 'b', 'c', 'd', 'e'],
      ['c', 'd', 'e'],
      ['e'],
    ])
    // Half the timeout for the batches; the last one, alone, is a plain start.
    expect(budgets).toEqual([500, 500])
  })
})
