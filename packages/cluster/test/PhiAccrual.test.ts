// The phi accrual detector: silence is judged against the peer's own heartbeat history.
import { describe, expect, it } from 'vitest'
import { PhiAccrual, deviationsAt, phiOf, type PhiAccrualOptions } from '../src/PhiAccrual.js'

const OPTS: PhiAccrualOptions = {
  threshold: 8,
  maxSampleSize: 200,
  minStdDeviationMs: 100,
  acceptablePauseMs: 3000,
  firstIntervalMs: 1000,
}

/** A detector that heard `beats` heartbeats `every` ms apart, starting at 0; returns it and the last time. */
function beating(every: (i: number) => number, beats: number, opts = OPTS): [PhiAccrual, number] {
  const d = new PhiAccrual(opts, 0)
  let t = 0
  for (let i = 0; i < beats; i++) {
    t += every(i)
    d.heartbeat(t)
  }
  return [d, t]
}

describe('phi accrual', () => {
  it('grows with silence: near 0 just after a beat, past the threshold long after', () => {
    const [d, t] = beating(() => 1000, 50)
    expect(d.phi(t)).toBeLessThan(0.1)
    expect(d.isAvailable(t + 3000)).toBe(true)
    expect(d.isAvailable(t + 10_000)).toBe(false)
    let prev = -1
    for (let ms = 0; ms <= 10_000; ms += 500) {
      const phi = d.phi(t + ms)
      expect(phi).toBeGreaterThanOrEqual(prev)
      prev = phi
    }
  })

  it('suspects a regular peer after about the interval plus the acceptable pause', () => {
    const [d, t] = beating(() => 1000, 100)
    let ms = 0
    while (d.isAvailable(t + ms)) ms += 10
    // Regular beats give the minimum deviation (100 ms): the threshold lies a few deviations
    // past mean + pause = 4000 ms.
    expect(ms).toBeGreaterThan(4000)
    expect(ms).toBeLessThan(5000)
  })

  it('gives a peer with irregular beats (a busy node) a wider margin than a regular one', () => {
    const [regular, t1] = beating(() => 1000, 100)
    const [busy, t2] = beating((i) => (i % 4 === 0 ? 2500 : 500), 100)
    const suspectedAfter = (d: PhiAccrual, t: number): number => {
      let ms = 0
      while (d.isAvailable(t + ms)) ms += 10
      return ms
    }
    expect(suspectedAfter(busy, t2)).toBeGreaterThan(suspectedAfter(regular, t1) + 1000)
  })

  it('forgets the part of a silence the local node caused itself, and only that part', () => {
    const [d, t] = beating(() => 1000, 50)
    expect(d.isAvailable(t + 20_000)).toBe(false)
    // A stall of 19.5 s: the half second before it was the peer's silence.
    d.forgive(19_500, t + 20_000)
    expect(d.isAvailable(t + 20_000)).toBe(true)
    expect(d.silentFor(t + 20_000)).toBe(500)
    expect(d.silentFor(t + 20_500)).toBe(1000)
    // A stall longer than the silence forgives all of it, and no more.
    d.forgive(60_000, t + 20_000)
    expect(d.silentFor(t + 20_500)).toBe(500)
    // The beat that was waiting behind the stall does not shrink the history's mean.
    d.heartbeat(t + 20_001)
    expect(d.isAvailable(t + 20_001 + 4000)).toBe(true)
  })

  it('counts any frame as a sign of life, without changing the rhythm', () => {
    const [d, t] = beating(() => 1000, 50)
    d.heard(t + 9000)
    expect(d.isAvailable(t + 10_000)).toBe(true)
    expect(d.silentFor(t + 10_000)).toBe(1000)
  })

  it('computes phi as -log10 of the normal tail (logistic approximation)', () => {
    // At the mean the tail is 1/2: phi = log10(2).
    expect(phiOf(1000, 1000, 100)).toBeCloseTo(Math.log10(2), 3)
    // Three deviations past the mean the tail is about 0.00135: phi about 2.87.
    expect(phiOf(1300, 1000, 100)).toBeCloseTo(2.87, 1)
    expect(phiOf(0, 1000, 100)).toBeGreaterThanOrEqual(0)
  })

  it('finds how many deviations past the mean a silence reaches a threshold', () => {
    expect(deviationsAt(8)).toBeCloseTo(5.22, 1)
    for (const threshold of [1, 8, 16]) {
      expect(phiOf(deviationsAt(threshold), 0, 1)).toBeCloseTo(threshold, 6)
    }
  })

  it('says when a silence reaches the threshold: where it stops being available, for a regular and an irregular peer', () => {
    for (const every of [() => 1000, (i: number) => (i % 2 === 0 ? 400 : 1600)]) {
      const [d, last] = beating(every, 50)
      const at = d.suspectedAt()
      expect(at).toBeGreaterThan(last)
      expect(d.isAvailable(at - 1)).toBe(true)
      expect(d.isAvailable(at + 1)).toBe(false)
      // Any frame moves it on by as much as it came later.
      d.heard(last + 500)
      expect(d.suspectedAt()).toBeCloseTo(at + 500, 6)
    }
  })
})
