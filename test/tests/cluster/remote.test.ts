// Remote processes: send, call, cast, links, monitors and exit signals between nodes, what
// happens to them when a node goes down, and which values can cross the wire.
import { randomUUID } from 'node:crypto'
import { describe, expect, it, vi } from 'vitest'
import {
  Actor,
  Exited,
  NoReply,
  InitFailed,
  NoConnection,
  NoProc,
  NotFound,
  Supervisor,
  formatPid,
  isPid,
  silentLogger,
  type ExitReason,
  type From,
  type NodeId,
  type Pid,
  type Runtime,
} from '@swormjs/actor'
import { Silent, TEST_COOKIE, pause, rejectionOf, testCluster } from '../../src/index.js'
import { NotSerializable, type NodeOptions } from '@swormjs/cluster'
import { Inbox, Replier } from './helpers.js'

const opts: NodeOptions = { cookie: TEST_COOKIE, logger: silentLogger }

/** Resolves with the reason `pid` ends with, as `rt` hears of it through a monitor. */
function exitOf(rt: Runtime, pid: Pid): Promise<ExitReason> {
  return new Promise((resolve) => rt.monitor((reason) => resolve(reason), pid))
}

/** What an `Inbox` holds, asked by a call from `rt`. */
function inboxOf(rt: Runtime, pid: Pid): Promise<unknown[]> {
  return rt.call<unknown[]>(pid, 'get')
}

/** Sends `msg.payload` to `msg.to`: shows that a pid inside a message still works there. */
class Forwarder extends Actor {
  override handleInfo(msg: { to: Pid; payload: unknown }): void {
    this.send(msg.to, msg.payload)
  }
}

/** Sends `n` numbers to `to`, calling it every 250 for its count; returns the counts seen. */
class Sender extends Actor {
  override async handleCall(msg: { to: Pid; n: number }): Promise<number[]> {
    const counts: number[] = []
    for (let i = 0; i < msg.n; i++) {
      this.send(msg.to, i)
      if (i % 250 === 249) counts.push(await this.call<number>(msg.to, 'count'))
    }
    return counts
  }
}

/** Answers no call itself: hands each caller to `answerer` (another node's), which replies. */
class Passer extends Actor<{ answerer: Pid }> {
  private answerer!: Pid
  override init(args: { answerer: Pid }): void {
    this.answerer = args.answerer
  }
  override handleCall(msg: unknown, from: From): NoReply {
    this.send(this.answerer, { from, msg })
    return NoReply
  }
}

/** Replies to each caller it is handed, with the message and its own node. */
class Answerer extends Actor {
  override handleInfo(m: { from: From; msg: unknown }): void {
    this.reply(m.from, { msg: m.msg, by: this.runtime.nodeId })
  }
}

/** Throws from `handleCall`: the process crashes with that error. */
class Crasher extends Actor {
  override handleCall(): never {
    throw new Error('boom')
  }
}

describe('remote processes', () => {
  it('delivers a send, a cast and a call to a process of another node', async () => {
    await using cluster = await testCluster(2, opts)
    const [a, b] = [cluster.node(0), cluster.node(1)]
    const inbox = b.runtime.spawn(Inbox, undefined)
    a.runtime.send(inbox, 'hello')
    a.runtime.cast(inbox, 'tell')
    expect(await a.runtime.call(inbox, 'node')).toBe(b.id)
    expect(await inboxOf(a.runtime, inbox)).toEqual(['hello', { cast: 'tell' }])
  })

  it('brings a reply back to the node of the caller', async () => {
    await using cluster = await testCluster(3, opts)
    const [n0, n1, n2] = [cluster.node(0), cluster.node(1), cluster.node(2)]
    const echo = n1.runtime.spawn(Inbox, undefined)
    // From outside any process, and from a process: both get their reply on n2, not n0.
    expect(await n2.runtime.call(echo, { from: 'n2' })).toEqual({ from: 'n2' })
    const caller = n2.runtime.spawn(Sender, undefined)
    expect(await n2.runtime.call(caller, { to: echo, n: 250 })).toEqual([250])
    expect(n0.stats().messagesIn).toBe(0)
  })

  it('fires a remote monitor once, with the reason', async () => {
    await using cluster = await testCluster(2, opts)
    const [a, b] = [cluster.node(0), cluster.node(1)]
    const target = b.runtime.spawn(Inbox, undefined)
    const watcher = a.runtime.spawn(Inbox, undefined)
    const reasons: ExitReason[] = []
    a.runtime.monitor((reason) => reasons.push(reason), target)
    const ref = a.runtime.monitor(watcher, target)
    // The call travels after the monitors on the same connection: they are in place on b.
    await a.runtime.call(target, 'count')
    b.runtime.exit(target, { shutdown: 'bye' })
    await vi.waitFor(() => expect(reasons).toHaveLength(1), { timeout: 5000 })
    await vi.waitFor(async () => expect(await inboxOf(a.runtime, watcher)).toHaveLength(1), {
      timeout: 5000,
    })
    await pause(100)
    expect(reasons).toEqual([{ shutdown: 'bye' }])
    expect(await inboxOf(a.runtime, watcher)).toEqual([
      { type: 'DOWN', ref, pid: target, reason: { shutdown: 'bye' } },
    ])
  })

  it('reports a remote crash to a monitor as an error with its message', async () => {
    await using cluster = await testCluster(2, opts)
    const [a, b] = [cluster.node(0), cluster.node(1)]
    const target = b.runtime.spawn(Crasher, undefined)
    const ended = exitOf(a.runtime, target)
    const e = await rejectionOf(a.runtime.call(target, 'go'))
    expect(Exited.is(e)).toBe(true)
    const reason = await ended
    expect(reason).toBeInstanceOf(Error)
    expect((reason as Error).message).toBe('boom')
  })

  it('propagates an exit across a link in both directions', async () => {
    await using cluster = await testCluster(2, opts)
    const [a, b] = [cluster.node(0), cluster.node(1)]

    // b's end crashes: a's process, trapping exits, gets the EXIT message.
    const trapA = a.runtime.spawn(Inbox, undefined, { trapExit: true })
    const plainB = b.runtime.spawn(Inbox, undefined)
    a.runtime.link(trapA, plainB)
    await a.runtime.call(plainB, 'count')
    b.runtime.exit(plainB, 'boom')
    await vi.waitFor(
      async () =>
        expect(await inboxOf(a.runtime, trapA)).toEqual([
          { type: 'EXIT', from: plainB, reason: 'boom' },
        ]),
      { timeout: 5000 },
    )

    // a's end crashes: b's process, not trapping, ends with the same reason.
    const plainA = a.runtime.spawn(Inbox, undefined)
    const linkedB = b.runtime.spawn(Inbox, undefined)
    const endedB = exitOf(b.runtime, linkedB)
    a.runtime.link(plainA, linkedB)
    await a.runtime.call(linkedB, 'count')
    a.runtime.exit(plainA, 'crashed')
    expect(await endedB).toBe('crashed')
    expect(b.runtime.isAlive(linkedB)).toBe(false)
  })

  it('sends no exit after unlink and no DOWN after demonitor, and links a dead pid with noproc', async () => {
    await using cluster = await testCluster(2, opts)
    const [a, b] = [cluster.node(0), cluster.node(1)]
    const target = b.runtime.spawn(Inbox, undefined)
    const trapper = a.runtime.spawn(Inbox, undefined, { trapExit: true })
    const reasons: ExitReason[] = []
    const ref = a.runtime.monitor((reason) => reasons.push(reason), target)
    a.runtime.link(trapper, target)
    await a.runtime.call(target, 'count')
    a.runtime.demonitor(ref)
    a.runtime.unlink(trapper, target)
    await a.runtime.call(target, 'count')
    const ended = exitOf(b.runtime, target)
    b.runtime.exit(target, 'boom')
    expect(await ended).toBe('boom')
    await pause(150)
    expect(reasons).toEqual([])
    expect(await inboxOf(a.runtime, trapper)).toEqual([])

    // Linking to the pid now that it is gone: b answers that there is no such process.
    a.runtime.link(trapper, target)
    await vi.waitFor(
      async () =>
        expect(await inboxOf(a.runtime, trapper)).toEqual([
          { type: 'EXIT', from: target, reason: 'noproc' },
        ]),
      { timeout: 5000 },
    )
  })

  it('tells remote monitors and links the real reason when a node stops gracefully', async () => {
    await using cluster = await testCluster(2, opts)
    const [a, b] = [cluster.node(0), cluster.node(1)]
    const target = b.runtime.spawn(Inbox, undefined)
    const ended = exitOf(a.runtime, target)
    const trapper = a.runtime.spawn(Inbox, undefined, { trapExit: true })
    a.runtime.link(trapper, target)
    await a.runtime.call(target, 'count')
    await b.stop()
    // Its processes stop with `shutdown` before the node leaves: not `noconnection`.
    expect(await ended).toBe('shutdown')
    expect(await inboxOf(a.runtime, trapper)).toEqual([
      { type: 'EXIT', from: target, reason: 'shutdown' },
    ])
  })

  it('ends a remote process with exit(pid, reason), and a trapping one only with kill', async () => {
    await using cluster = await testCluster(2, opts)
    const [a, b] = [cluster.node(0), cluster.node(1)]
    const plain = b.runtime.spawn(Inbox, undefined)
    const endedPlain = exitOf(a.runtime, plain)
    a.runtime.exit(plain, 'normal') // 'normal' from another process ends nothing
    a.runtime.exit(plain, 'go away')
    expect(await endedPlain).toBe('go away')

    const trapper = b.runtime.spawn(Inbox, undefined, { trapExit: true })
    const endedTrapper = exitOf(a.runtime, trapper)
    a.runtime.exit(trapper, 'go away')
    await vi.waitFor(
      async () =>
        expect(await inboxOf(a.runtime, trapper)).toEqual([
          { type: 'EXIT', from: a.runtime.systemPid, reason: 'go away' },
        ]),
      { timeout: 5000 },
    )
    expect(b.runtime.isAlive(trapper)).toBe(true)
    a.runtime.exit(trapper, 'kill')
    expect(await endedTrapper).toBe('killed')
  })

  it('when a node is killed: monitors fire, links break, and calls reject with noconnection at once', async () => {
    // Heartbeats too slow to matter: the closed socket alone must trigger all of this.
    await using cluster = await testCluster(2, {
      ...opts,
      heartbeatIntervalMs: 10_000,
      heartbeatTimeoutMs: 30_000,
    })
    const [a, b] = [cluster.node(0), cluster.node(1)]
    const remote = b.runtime.spawn(Inbox, undefined)
    const silent = b.runtime.spawn(Silent, undefined)
    const monitored = exitOf(a.runtime, remote)
    const trapper = a.runtime.spawn(Inbox, undefined, { trapExit: true })
    const plain = a.runtime.spawn(Inbox, undefined)
    const plainEnded = exitOf(a.runtime, plain)
    a.runtime.link(trapper, remote)
    a.runtime.link(plain, remote)
    const pending = a.runtime.call(silent, 'never answered', { timeoutMs: 15_000 })
    const failed = rejectionOf(pending)
    await a.runtime.call(remote, 'count')

    const started = Date.now()
    await b.kill()
    const e = await failed
    expect(NoConnection.is(e)).toBe(true)
    expect(Date.now() - started).toBeLessThan(3000)
    expect(await monitored).toBe('noconnection')
    expect(await plainEnded).toBe('noconnection')
    expect(await inboxOf(a.runtime, trapper)).toEqual([
      { type: 'EXIT', from: remote, reason: 'noconnection' },
    ])
  })

  it('rejects a call to a pid of a node that is not connected at once', async () => {
    await using cluster = await testCluster(2, opts)
    const [a, b] = [cluster.node(0), cluster.node(1)]
    const stranger = formatPid(randomUUID() as NodeId, 1)
    let started = Date.now()
    expect(
      NoConnection.is(await rejectionOf(a.runtime.call(stranger, 'x', { timeoutMs: 10_000 }))),
    ).toBe(true)
    expect(Date.now() - started).toBeLessThan(1000)

    const gone = b.runtime.spawn(Inbox, undefined)
    await b.kill()
    await vi.waitFor(() => expect(a.isUp(b.id)).toBe(false), { timeout: 5000 })
    started = Date.now()
    expect(
      NoConnection.is(await rejectionOf(a.runtime.call(gone, 'x', { timeoutMs: 10_000 }))),
    ).toBe(true)
    expect(Date.now() - started).toBeLessThan(1000)
  })

  it('rejects a call to a remote pid that has exited with NoProc', async () => {
    await using cluster = await testCluster(2, opts)
    const [a, b] = [cluster.node(0), cluster.node(1)]
    const pid = b.runtime.spawn(Inbox, undefined)
    await b.runtime.stop(pid)
    const started = Date.now()
    const e = await rejectionOf(a.runtime.call(pid, 'x', { timeoutMs: 10_000 }))
    expect(NoProc.is(e)).toBe(true)
    expect(Date.now() - started).toBeLessThan(1000)
  })

  it('sends one frame each way per call, and leaves no watch behind on either node', async () => {
    await using cluster = await testCluster(2, opts)
    const [a, b] = [cluster.node(0), cluster.node(1)]
    const echo = b.runtime.spawn(Inbox, undefined)
    await a.runtime.call(echo, 'node')
    const before = { a: a.stats().framesOut, b: b.stats().framesOut }
    const calls = 200
    for (let i = 0; i < calls; i++) expect(await a.runtime.call(echo, 'node')).toBe(b.id)
    // A call was a monitor, a send and a demonitor (3 frames out of the caller): now one. A few
    // frames of the nodes' own (membership) may fall in the window.
    expect(a.stats().framesOut - before.a).toBeGreaterThanOrEqual(calls)
    expect(a.stats().framesOut - before.a).toBeLessThan(calls + 10)
    expect(b.stats().framesOut - before.b).toBeGreaterThanOrEqual(calls)
    expect(b.stats().framesOut - before.b).toBeLessThan(calls + 10)
    expect(b.stats().watchesForPeers).toBe(0)
    // The watch still works while the call waits: the target's end rejects it at once.
    const stuck = b.runtime.spawn(Silent, undefined)
    const waiting = rejectionOf(a.runtime.call(stuck, 'x', { timeoutMs: 10_000 }))
    await pause(50)
    expect(b.stats().watchesForPeers).toBe(1)
    b.runtime.exit(stuck, 'kill')
    expect(Exited.is(await waiting)).toBe(true)
    expect(b.stats().watchesForPeers).toBe(0)
  })

  it('takes back the watch on the target when a third node sends the reply', async () => {
    await using cluster = await testCluster(3, opts)
    const [a, b, c] = [cluster.node(0), cluster.node(1), cluster.node(2)]
    const passer = b.runtime.spawn(Passer, { answerer: c.runtime.spawn(Answerer, undefined) })
    for (let i = 0; i < 20; i++) {
      expect(await a.runtime.call(passer, i)).toEqual({ msg: i, by: c.id })
    }
    // The reply came from c, so b still held the call's watch: a took it back with a frame.
    for (let i = 0; i < 50 && b.stats().watchesForPeers > 0; i++) await pause(10)
    expect(b.stats().watchesForPeers).toBe(0)
    expect(c.stats().watchesForPeers).toBe(0)
  })

  it('names the target of a message by its serial on a version 4 link, by its pid on an older one', async () => {
    const perMessage = async (options: NodeOptions): Promise<{ bytes: number; v?: number }> => {
      await using cluster = await testCluster(2, options)
      const [a, b] = [cluster.node(0), cluster.node(1)]
      const inbox = b.runtime.spawn(Inbox, undefined)
      const n = 1000
      const before = a.stats().bytesOut
      for (let i = 0; i < n; i++) a.runtime.send(inbox, i)
      // Every one arrived, in order, on either link.
      expect(await inboxOf(a.runtime, inbox)).toEqual(Array.from({ length: n }, (_, i) => i))
      const bytes = (a.stats().bytesOut - before) / n
      // A message to a serial of no process is dropped there, as a send to its pid is.
      a.runtime.send(formatPid(b.id, 999_999), 'nobody')
      expect(await inboxOf(a.runtime, inbox)).toHaveLength(n)
      const v = a.protocolOf(b.id)
      return v === undefined ? { bytes } : { bytes, v }
    }
    const v4 = await perMessage(opts)
    const v3 = await perMessage({ ...opts, protocolVersions: { min: 2, max: 3 } })
    expect(v4.v).toBe(4)
    expect(v3.v).toBe(3)
    // A pid is about 45 bytes of text; a serial one or two.
    expect(v3.bytes - v4.bytes).toBeGreaterThan(30)
  })

  it('keeps the order of messages from one process to another, interleaved with calls', async () => {
    await using cluster = await testCluster(2, opts)
    const [a, b] = [cluster.node(0), cluster.node(1)]
    const inbox = b.runtime.spawn(Inbox, undefined)
    const sender = a.runtime.spawn(Sender, undefined)
    const n = 5000
    const counts = await a.runtime.call<number[]>(sender, { to: inbox, n }, { timeoutMs: 15_000 })
    // Each call is answered after exactly the messages sent before it: none overtook another.
    expect(counts).toEqual(Array.from({ length: n / 250 }, (_, k) => (k + 1) * 250))
    expect(await inboxOf(a.runtime, inbox)).toEqual(Array.from({ length: n }, (_, i) => i))
  })

  it('carries structured-clone values and pids in payloads', async () => {
    await using cluster = await testCluster(2, opts)
    const [a, b] = [cluster.node(0), cluster.node(1)]
    const echo = b.runtime.spawn(Inbox, undefined)
    const mine = a.runtime.spawn(Inbox, undefined)
    const value = {
      map: new Map<unknown, unknown>([
        ['k', { deep: [1, new Set([2n])] }],
        [3, 'three'],
      ]),
      set: new Set(['a', 'b']),
      date: new Date(1_700_000_000_000),
      big: 12_345_678_901_234_567_890n,
      bytes: new Uint8Array([1, 2, 255]),
      floats: new Float64Array([0.5, -1.25]),
      nested: { a: { b: { c: [null, 'x', { d: true }] } } },
      missing: undefined,
      negativeZero: -0,
      notANumber: NaN,
      pid: mine,
    }
    const back = await a.runtime.call<typeof value>(echo, value)
    expect(back).toStrictEqual(value)
    expect(back.map).toBeInstanceOf(Map)
    expect(back.set).toBeInstanceOf(Set)
    expect(back.date).toBeInstanceOf(Date)
    expect(back.bytes).toBeInstanceOf(Uint8Array)
    expect('missing' in back).toBe(true)
    expect(Object.is(back.negativeZero, -0)).toBe(true)
    expect(isPid(back.pid)).toBe(true)

    // A pid that crossed the wire still reaches its process.
    const forwarder = b.runtime.spawn(Forwarder, undefined)
    a.runtime.send(forwarder, { to: mine, payload: { map: new Map([[1, 2]]) } })
    await vi.waitFor(
      async () => expect(await inboxOf(a.runtime, mine)).toEqual([{ map: new Map([[1, 2]]) }]),
      { timeout: 5000 },
    )
  })

  it('delivers messages up to maxFrameBytes without dropping the link, and refuses larger ones', async () => {
    await using cluster = await testCluster(2, { ...opts, maxFrameBytes: 100_000 })
    const [a, b] = [cluster.node(0), cluster.node(1)]
    const downs: string[] = []
    a.on('nodeDown', (info) => downs.push(info.name))
    const inbox = b.runtime.spawn(Inbox, undefined)
    const big = 'x'.repeat(40_000)
    // Sent in one turn, these would make one websocket message of 200 kB if batched blindly.
    for (let id = 0; id < 5; id++) a.runtime.send(inbox, { id, big })
    expect(() => a.runtime.send(inbox, 'y'.repeat(150_000))).toThrow(NotSerializable)
    expect(await a.runtime.call(inbox, 'ids')).toEqual([0, 1, 2, 3, 4])
    expect(downs).toEqual([])
  })

  it('throws NotSerializable at the sender for a function or a symbol', async () => {
    await using cluster = await testCluster(2, opts)
    const [a, b] = [cluster.node(0), cluster.node(1)]
    const inbox = b.runtime.spawn(Inbox, undefined)
    const bad: unknown[] = [() => 1, { nested: { fn: () => 1 } }, Symbol('s'), { s: Symbol('s') }]
    for (const msg of bad) {
      const thrown = (() => {
        try {
          a.runtime.send(inbox, msg)
        } catch (e) {
          return e
        }
        return undefined
      })()
      expect(NotSerializable.is(thrown)).toBe(true)
      expect(NotSerializable.is(await rejectionOf(a.runtime.call(inbox, msg)))).toBe(true)
    }
    expect(() => a.runtime.cast(inbox, () => 1)).toThrow(/cannot send this value/)
    // Nothing unsendable reached b, and the connection still works.
    expect(await inboxOf(a.runtime, inbox)).toEqual([])
  })

  it('turns an unsendable reply into an error for the caller, not a timeout', async () => {
    await using cluster = await testCluster(2, opts)
    const [a, b] = [cluster.node(0), cluster.node(1)]
    const replier = b.runtime.spawn(Replier, undefined)
    for (const kind of ['fn', 'symbol']) {
      const started = Date.now()
      const e = await rejectionOf(a.runtime.call(replier, { kind }, { timeoutMs: 10_000 }))
      expect(NotSerializable.is(e)).toBe(true)
      expect(Date.now() - started).toBeLessThan(2000)
    }
    expect(await a.runtime.call(replier, { kind: 'plain' })).toEqual({ kind: 'plain' })
  })

  it('delivers a remote error reply with its code', async () => {
    await using cluster = await testCluster(2, opts)
    const [a, b] = [cluster.node(0), cluster.node(1)]
    const replier = b.runtime.spawn(Replier, undefined)
    const e = await rejectionOf(a.runtime.call(replier, { kind: 'error', code: 'E_CUSTOM' }))
    expect(e).toBeInstanceOf(Error)
    expect((e as { code?: unknown }).code).toBe('E_CUSTOM')
    expect((e as Error).message).toBe('it went wrong')

    // A supervisor on b whose child fails to restart answers the remote caller with InitFailed.
    const failing = { now: false }
    class Worker extends Actor<{ now: boolean }> {
      override init(flag: { now: boolean }): void {
        if (flag.now) throw new Error('cannot start')
      }
    }
    const sup = await Supervisor.start(b.runtime, {
      children: [{ id: 'worker', actor: Worker, args: failing }],
    })
    await Supervisor.terminateChild(a.runtime, sup, 'worker')
    failing.now = true
    const initFailed = await rejectionOf(Supervisor.restartChild(a.runtime, sup, 'worker'))
    expect(InitFailed.is(initFailed)).toBe(true)
    expect((initFailed as Error).message).toMatch(/cannot start/)
    const unknown = await rejectionOf(Supervisor.restartChild(a.runtime, sup, 'nobody'))
    expect(NotFound.is(unknown)).toBe(true)
  })
})
