// What the registry churn child prints on stdout and how the parent reads it:
// `{"runs":[{"ratio":1.1,"peak":1.5,"ms":12000,"generations":91},...]}`.

/** One run of the churn: heap ratios (to the heap with the live names alone) and its time. */
export interface ChurnRun {
  /** Heap at the end / heap with the live names alone, both after full GCs. */
  readonly ratio: number
  /** The largest of the ratios sampled along the way (every `sampleEvery` cycles) and at the end. */
  readonly peak: number
  /** Time of the cycles alone (the GCs of the samples left out). */
  readonly ms: number
  /** Generation of the node's registry doc at the end: how many compactions ran. */
  readonly generations: number
}

const FIELDS = ['ratio', 'peak', 'ms', 'generations'] as const

/** The stdout line of the churn child. */
export function formatChurnRuns(runs: readonly ChurnRun[]): string {
  return JSON.stringify({ runs })
}

/** Reads the runs from the churn child's stdout (its last line). */
export function parseChurnRuns(stdout: string): ChurnRun[] {
  const last = stdout.trim().split('\n').pop() ?? ''
  let parsed: unknown
  try {
    parsed = JSON.parse(last)
  } catch {
    throw new Error(`churn child printed no result: ${JSON.stringify(stdout.slice(-200))}`)
  }
  const runs = (parsed as { runs?: unknown } | null)?.runs
  const isRun = (u: unknown): u is ChurnRun =>
    typeof u === 'object' &&
    u !== null &&
    FIELDS.every((f) => {
      const v = (u as Record<string, unknown>)[f]
      return typeof v === 'number' && Number.isFinite(v)
    })
  if (!Array.isArray(runs) || runs.length === 0 || !runs.every(isRun)) {
    throw new Error(`churn child printed no runs: ${last}`)
  }
  return runs
}
