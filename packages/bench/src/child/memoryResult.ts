// What the memory child prints on stdout and how the parent reads it: `{"samples":[312.5,...]}`.

/** The stdout line of the memory child. */
export function formatMemorySamples(samples: readonly number[]): string {
  return JSON.stringify({ samples })
}

/** Reads the samples (bytes per idle actor, one per run) from the child's stdout. */
export function parseMemorySamples(stdout: string): number[] {
  const last = stdout.trim().split('\n').pop() ?? ''
  let parsed: unknown
  try {
    parsed = JSON.parse(last)
  } catch {
    throw new Error(`memory child printed no result: ${JSON.stringify(stdout.slice(-200))}`)
  }
  const samples = (parsed as { samples?: unknown }).samples
  if (
    !Array.isArray(samples) ||
    samples.length === 0 ||
    !samples.every((x): x is number => typeof x === 'number' && Number.isFinite(x))
  ) {
    throw new Error(`memory child printed no samples: ${last}`)
  }
  return samples
}
