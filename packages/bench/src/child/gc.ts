// Forced full garbage collections for the children that measure the heap (run with
// `node --expose-gc`).
import { yieldTurn } from '../measure.js'

/** `globalThis.gc`, which only `--expose-gc` provides; without it a heap figure would be a guess. */
function requireGc(): () => void {
  const gc = globalThis.gc
  if (gc === undefined) {
    process.stderr.write(
      `${process.argv[1] ?? 'this child'} needs a real GC: run it with node --expose-gc\n`,
    )
    process.exit(2)
  }
  return () => gc()
}

const collect = requireGc()

/** Several full collections, with a turn between them for finalizers and weak references. */
export async function fullGc(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    collect()
    await yieldTurn()
  }
}

/** The heap in use after {@link fullGc}, in bytes. */
export async function heapAfterGc(): Promise<number> {
  await fullGc()
  return process.memoryUsage().heapUsed
}

/** A non-negative integer argument, or `fallback` when it is missing or not one. */
export function nonNegativeInt(text: string | undefined, fallback: number): number {
  const n = Number(text)
  return text !== undefined && Number.isInteger(n) && n >= 0 ? n : fallback
}
