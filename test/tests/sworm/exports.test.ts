// One import names every error a sworm may throw: each error class of every layer is exported
// from `sworm` itself, the same class (so `instanceof` and `is` agree).
import { describe, expect, it } from 'vitest'
import * as actor from '@swormjs/actor'
import * as cluster from '@swormjs/cluster'
import * as registry from '@swormjs/registry'
import * as supervisor from '@swormjs/supervisor'
import * as sworm from '@swormjs/sworm'

/** The exported classes of `mod` that are Sworm errors (the base class included). */
function errorClasses(mod: Record<string, unknown>): string[] {
  return Object.entries(mod)
    .filter(
      ([, v]) =>
        typeof v === 'function' &&
        (v === actor.SwormError ||
          (v as { prototype: unknown }).prototype instanceof actor.SwormError),
    )
    .map(([name]) => name)
}

describe('the main package', () => {
  it('exports every error class of every layer', () => {
    const all = [actor, cluster, registry, supervisor].flatMap((m) =>
      errorClasses(m as Record<string, unknown>).map(
        (name) => [name, (m as Record<string, unknown>)[name]] as const,
      ),
    )
    expect(all.length).toBeGreaterThanOrEqual(30)
    const main = sworm as Record<string, unknown>
    const missing = all.filter(([name, cls]) => main[name] !== cls).map(([name]) => name)
    expect(missing).toEqual([])
  })
})
