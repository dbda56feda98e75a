// The heartbeat judge on a clock the test drives: a silent peer is unreachable before it is down,
// one heard again is reachable, and a node whose own timer fired late forgives its peers the stall,
// and only the stall.
import { describe, expect, it } from 'vitest'
import { ManualClock, type Clock, type TimerHandle } from '@swormjs/actor'
import { Heartbeat, type HeartbeatOptions } from '../src/Heartbeat.js'
import { deviationsAt } from '../src/PhiAccrual.js'

const OPTS: HeartbeatOptions = {
  heartbeatIntervalMs: 1000,
  acceptableHeartbeatPauseMs: 3000,
  phiThreshold: 8,
  minHeartbeatStdDeviationMs: 100,
  downAfterUnreachableMs: 5000,
}

/**
 * A manual clock whose event loop can stall: `stall(ms)` moves time on while no timer fires,
 * so the next timer fires that much late, as after a long synchronous step.
 */
class StallingClock implements Clock {
  private readonly manual = new ManualClock()
  private stalledMs = 0

  now(): number {
    return this.manual.now() + this.stalledMs
  }
  wallNow(): number {
    return this.manual.wallNow() + this.stalledMs
  }
  random(): number {
    return this.manual.random()
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.manual.setTimeout(fn, ms)
  }
  clearTimeout(handle: TimerHandle | undefined): void {
    this.manual.clearTimeout(handle)
  }
  stall(ms: number): void {
    this.stalledMs += ms
  }
  advance(ms: number): Promise<void> {
    return this.manual.advance(ms)
  }
}

/** A peer as the detector sees it: something to send beats to. */
class FakePeer {
  readonly name: string
  beatsSent = 0
  constructor(name: string) {
    this.name = name
  }
  writeControl(): void {
    this.beatsSent++
  }
}

type Report = [kind: 'unreachable' | 'reachable' | 'silent' | 'stalled', peer: string, at: number]

function setUp(options: HeartbeatOptions = OPTS): {
  clock: StallingClock
  heartbeat: Heartbeat<FakePeer>
  reports: Report[]
  /** The pauses told, by how long this node was silent. */
  pauses: number[]
} {
  const clock = new StallingClock()
  const reports: Report[] = []
  const pauses: number[] = []
  const heartbeat = new Heartbeat<FakePeer>(
    {
      clock,
      unreachable: (peer) => reports.push(['unreachable', peer.name, clock.now()]),
      reachable: (peer) => reports.push(['reachable', peer.name, clock.now()]),
      silent: (peer) => {
        reports.push(['silent', peer.name, clock.now()])
        heartbeat.forget(peer)
      },
      stalled: () => reports.push(['stalled', '', clock.now()]),
      paused: (silentMs) => pauses.push(silentMs),
    },
    options,
  )
  heartbeat.start()
  return { clock, heartbeat, reports, pauses }
}

/** `rounds` heartbeat intervals, in each of which every peer of `beating` sends one beat. */
async function beatFor(
  clock: StallingClock,
  heartbeat: Heartbeat<FakePeer>,
  beating: readonly FakePeer[],
  rounds: number,
): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await clock.advance(OPTS.heartbeatIntervalMs)
    for (const peer of beating) heartbeat.beat(peer)
  }
}

/**
 * Two peers beating regularly, then this node's event loop stuck for 20 s (a long synchronous
 * step: no timer fires, no socket is read), then the overdue tick, 20 s late, before what waits in
 * the sockets is read.
 */
async function stalledAfterBeats(): Promise<
  ReturnType<typeof setUp> & { p: FakePeer; q: FakePeer }
> {
  const parts = setUp()
  const p = new FakePeer('p')
  const q = new FakePeer('q')
  parts.heartbeat.watch(p)
  parts.heartbeat.watch(q)
  await beatFor(parts.clock, parts.heartbeat, [p, q], 30)
  parts.clock.stall(20_000)
  await parts.clock.advance(OPTS.heartbeatIntervalMs)
  return { ...parts, p, q }
}

describe('Heartbeat', () => {
  it('beats every interval to every watched peer', async () => {
    const { clock, heartbeat } = setUp()
    const p = new FakePeer('p')
    heartbeat.watch(p)
    await clock.advance(5 * OPTS.heartbeatIntervalMs)
    expect(p.beatsSent).toBe(5)
    heartbeat.stop()
  })

  it('reports a silent peer unreachable first, and silent only after downAfterUnreachableMs', async () => {
    const { clock, heartbeat, reports } = setUp()
    const p = new FakePeer('p')
    const q = new FakePeer('q')
    heartbeat.watch(p)
    heartbeat.watch(q)
    await beatFor(clock, heartbeat, [p, q], 30)
    const lastBeat = clock.now()
    await beatFor(clock, heartbeat, [q], 20)
    const ofP = reports.filter(([, peer]) => peer === 'p')
    expect(ofP.map(([kind]) => kind)).toEqual(['unreachable', 'silent'])
    const [[, , unreachableAt], [, , silentAt]] = ofP as [Report, Report]
    // Phi reaches the threshold after interval + pause = 4 s, plus the deviations it needs (of
    // 100 ms, the floor: these beats are regular); the judgement once a second notices it within
    // an interval; the peer is down exactly the downing bound after the threshold was reached.
    const suspected = lastBeat + 1000 + 3000 + deviationsAt(OPTS.phiThreshold) * 100
    expect(unreachableAt).toBeGreaterThanOrEqual(suspected)
    expect(unreachableAt).toBeLessThan(suspected + OPTS.heartbeatIntervalMs)
    expect(silentAt).toBeCloseTo(suspected + OPTS.downAfterUnreachableMs, 6)
    expect(reports.filter(([, peer]) => peer === 'q')).toEqual([])
    heartbeat.stop()
  })

  it('reports an unreachable peer reachable when it is heard again, and never silent', async () => {
    const { clock, heartbeat, reports } = setUp()
    const p = new FakePeer('p')
    heartbeat.watch(p)
    await beatFor(clock, heartbeat, [p], 30)
    while (reports.length === 0) await clock.advance(OPTS.heartbeatIntervalMs)
    expect(reports.map(([kind]) => kind)).toEqual(['unreachable'])
    heartbeat.heard(p)
    expect(reports.map(([kind]) => kind)).toEqual(['unreachable', 'reachable'])
    await beatFor(clock, heartbeat, [p], 20)
    expect(reports.map(([kind]) => kind)).toEqual(['unreachable', 'reachable'])
    heartbeat.stop()
  })

  it('judges nobody when its own timer fired late: the silence was its own', async () => {
    const { clock, heartbeat, reports, p, q } = await stalledAfterBeats()
    const ofPeers = (): Report[] => reports.filter(([kind]) => kind !== 'stalled')
    expect(ofPeers()).toEqual([])
    expect(reports.map(([kind]) => kind)).toEqual(['stalled'])
    // What waited in their sockets is read now; from then on they beat as before.
    await beatFor(clock, heartbeat, [p, q], 30)
    expect(ofPeers()).toEqual([])
    heartbeat.stop()
  })

  it('counts the silence of a peer except its own stall', async () => {
    const { clock, heartbeat, reports, p } = await stalledAfterBeats()
    const resumedAt = clock.now()
    // p speaks again, q stays silent: q's silence counts all but the 20 s stall, which is the
    // interval before the overdue tick (the 20 s stall is forgiven).
    await beatFor(clock, heartbeat, [p], 20)
    const ofQ = reports.filter(([, peer]) => peer === 'q')
    expect(ofQ.map(([kind]) => kind)).toEqual(['unreachable', 'silent'])
    // Suspected after about 4.5 s of its own silence (a mean of 1 s, 3 s acceptable, deviations).
    expect(ofQ[0]![2] - resumedAt).toBeGreaterThanOrEqual(4500 - OPTS.heartbeatIntervalMs)
    expect(ofQ[0]![2] - resumedAt).toBeLessThan(20_000)
    // Down the bound after phi reached the threshold, which its judgement noticed up to an
    // interval later.
    expect(ofQ[1]![2] - ofQ[0]![2]).toBeLessThanOrEqual(OPTS.downAfterUnreachableMs)
    expect(ofQ[1]![2] - ofQ[0]![2]).toBeGreaterThan(
      OPTS.downAfterUnreachableMs - OPTS.heartbeatIntervalMs,
    )
    expect(reports.filter(([, peer]) => peer === 'p')).toEqual([])
    heartbeat.stop()
  })

  it('moves on the downing bound of a peer that was unreachable when the stall began by the stall', async () => {
    const { clock, heartbeat, reports } = setUp()
    const p = new FakePeer('p')
    heartbeat.watch(p)
    await beatFor(clock, heartbeat, [p], 30)
    while (reports.length === 0) await clock.advance(OPTS.heartbeatIntervalMs)
    const unreachableAt = reports[0]![2]
    clock.stall(20_000)
    await clock.advance(OPTS.heartbeatIntervalMs)
    const resumedAt = clock.now()
    while (!reports.some(([kind]) => kind === 'silent')) {
      await clock.advance(OPTS.heartbeatIntervalMs)
    }
    expect(reports.map(([kind]) => kind)).toEqual(['unreachable', 'stalled', 'silent'])
    // Not down at the first judgement after the stall, although unreachable for 20 s by then.
    expect(reports[2]![2] - unreachableAt).toBeGreaterThan(20_000 + OPTS.heartbeatIntervalMs)
    expect(reports[2]![2] - unreachableAt).toBeGreaterThanOrEqual(
      20_000 + OPTS.downAfterUnreachableMs - OPTS.heartbeatIntervalMs / 2,
    )
    expect(reports[2]![2] - resumedAt).toBeLessThan(OPTS.downAfterUnreachableMs)
    heartbeat.stop()
  })

  it('still finds a silent peer when every tick of its own is late', async () => {
    // A node so busy that each heartbeat timer fires 600 ms late (more than half an interval):
    // each tick is a stall, and only the stalls are forgiven, not the peer's silence between.
    const { clock, heartbeat, reports } = setUp()
    const p = new FakePeer('p')
    const q = new FakePeer('q')
    heartbeat.watch(p)
    heartbeat.watch(q)
    await beatFor(clock, heartbeat, [p, q], 30)
    for (let i = 0; i < 60 && !reports.some(([k, peer]) => k === 'silent' && peer === 'q'); i++) {
      clock.stall(600)
      await clock.advance(OPTS.heartbeatIntervalMs)
      heartbeat.beat(p)
    }
    const ofPeers = reports.filter(([kind]) => kind !== 'stalled')
    expect(ofPeers.map(([kind, peer]) => `${kind} ${peer}`)).toEqual(['unreachable q', 'silent q'])
    heartbeat.stop()
  })

  it('takes a silent peer down at the same moment as another node whose ticks run half an interval apart', async () => {
    // Two nodes on one clock, their heartbeat timers half an interval out of phase, each
    // watching p, which beats to both and then falls silent.
    const clock = new StallingClock()
    const downs: number[] = []
    const p = new FakePeer('p')
    const nodes = [0, 1].map(() => {
      const heartbeat: Heartbeat<FakePeer> = new Heartbeat<FakePeer>(
        {
          clock,
          unreachable: () => undefined,
          reachable: () => undefined,
          silent: (peer) => {
            downs.push(clock.now())
            heartbeat.forget(peer)
          },
          stalled: () => undefined,
          paused: () => undefined,
        },
        OPTS,
      )
      return { heartbeat }
    })
    // The same history of p on both (watched at one moment), their ticks half an interval apart.
    nodes[0]!.heartbeat.start()
    await clock.advance(500)
    nodes[1]!.heartbeat.start()
    for (const { heartbeat } of nodes) heartbeat.watch(p)
    for (let i = 0; i < 30; i++) {
      await clock.advance(OPTS.heartbeatIntervalMs)
      for (const { heartbeat } of nodes) heartbeat.beat(p)
    }
    const lastBeat = clock.now()
    while (downs.length < 2) await clock.advance(100)
    // Judged once an interval, half an interval apart, they would take it down 500 ms apart.
    expect(Math.abs(downs[0]! - downs[1]!)).toBeLessThan(20)
    for (const at of downs) {
      expect(at - lastBeat).toBeGreaterThanOrEqual(4000 + OPTS.downAfterUnreachableMs)
    }
    for (const { heartbeat } of nodes) heartbeat.stop()
  })

  it('tells a pause past the acceptable pause plus the downing bound once, before the overdue tick', async () => {
    const { clock, heartbeat, pauses } = setUp()
    const p = new FakePeer('p')
    heartbeat.watch(p)
    await beatFor(clock, heartbeat, [p], 5)
    clock.stall(20_000)
    // The runtime asks before it runs anything: the pause is told then, with the silence so far.
    heartbeat.checkPause()
    expect(pauses).toHaveLength(1)
    expect(pauses[0]).toBeGreaterThanOrEqual(20_000)
    heartbeat.checkPause()
    await clock.advance(OPTS.heartbeatIntervalMs)
    await beatFor(clock, heartbeat, [p], 5)
    expect(pauses).toHaveLength(1)
    heartbeat.stop()
  })

  it('tells no pause shorter than a peer needs to take this node down', async () => {
    const { clock, heartbeat, pauses } = setUp()
    const bound = OPTS.acceptableHeartbeatPauseMs + OPTS.downAfterUnreachableMs
    // The overdue tick fires `bound - 100` late.
    clock.stall(bound - 100)
    heartbeat.checkPause()
    await clock.advance(OPTS.heartbeatIntervalMs)
    expect(pauses).toEqual([])
    // The next tick is due an interval after that one: asked `bound + 100` past it.
    clock.stall(bound + 100 + OPTS.heartbeatIntervalMs)
    heartbeat.checkPause()
    expect(pauses).toHaveLength(1)
    heartbeat.stop()
  })
})
