// Seeds and a seeded PRNG for randomised tests: a run takes its seed from an environment variable
// when set (to rerun a failure) or a fresh one, and prints how to rerun it when it fails.

/**
 * The seed of a randomised run: the number in `process.env[envName]` when set, else a fresh one.
 *
 * @example
 * const SEED = seedFor('FUZZ_SEED')
 * const random = mulberry32(SEED)
 */
export function seedFor(envName: string): number {
  const given = process.env[envName]
  return given !== undefined ? Number(given) : (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0
}

/** mulberry32: a small, fast, seedable PRNG returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * What a failed seeded run prints: how to rerun it, then the last steps it took. No vitest here
 * (the bench imports this package): a test passes this to `onTestFailed` itself.
 *
 * @example
 * onTestFailed(() => console.error(rerunReport('fuzz', 'FUZZ_SEED', SEED, 'last cases', recent.slice(-20))))
 */
export function rerunReport(
  what: string,
  envName: string,
  seed: number,
  heading: string,
  lines: readonly string[],
): string {
  return `${what} failed; rerun with ${envName}=${seed}\n${heading}:\n${lines.join('\n')}`
}
