// Bounded polling without a test framework (the bench runs the chaos core too): ask until the
// answer is good or the bound passes, and keep the last answer to say what was wrong. And the
// one kind of sleep the chaos run has: how long the nemesis holds a fault.

/**
 * Calls `probe` every `intervalMs` until it resolves with no complaints (an empty array) or
 * `timeoutMs` has passed; resolves with the last complaints (empty when it settled). A probe that
 * throws gives one complaint, made by `thrown` from what it threw.
 */
export async function pollUntil<T>(
  timeoutMs: number,
  intervalMs: number,
  probe: () => Promise<readonly T[]>,
  thrown: (message: string) => T,
): Promise<readonly T[]> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    let complaints: readonly T[]
    try {
      complaints = await probe()
    } catch (e) {
      complaints = [thrown(e instanceof Error ? e.message : String(e))]
    }
    if (complaints.length === 0 || Date.now() >= deadline) return complaints
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}

/** Resolves after `ms`: how long the nemesis holds a fault, nothing else. */
export function hold(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** Shuffles `xs` in place with `random` (Fisher–Yates) and returns it. */
export function shuffle<T>(xs: T[], random: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[xs[i], xs[j]] = [xs[j]!, xs[i]!]
  }
  return xs
}
