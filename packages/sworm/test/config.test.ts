// Per-sworm options from the class and from sworm.config.json: defaults, precedence, and the
// startup errors a typo, a wrong type, an unknown sworm or broken JSON give.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { NodeId } from '@swormjs/actor'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  checkConfigSworms,
  loadConfigFile,
  resolveSwormOptions,
  validateSwormOptions,
  type SwormOptions,
} from '../src/config.js'
import { swormDefaults } from '../src/defaults.js'
import { ConfigError, SwormErrorCode } from '../src/errors.js'

let cwd: string
beforeEach(() => {
  cwd = mkdtempSync(join(tmpdir(), 'sworm-config-'))
})
afterEach(() => {
  rmSync(cwd, { recursive: true, force: true })
})

/** Writes `content` (JSON-encoded unless a string) to `name` under the temp dir; returns its path. */
function write(name: string, content: unknown): string {
  const path = join(cwd, name)
  mkdirSync(join(path, '..'), { recursive: true })
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content))
  return path
}

/** The options `Rooms` starts with on a node running `sworms`, with the temp dir as working directory. */
function optionsOfRooms(
  classOptions: SwormOptions | undefined,
  env: NodeJS.ProcessEnv = {},
  sworms: readonly string[] = ['Rooms', 'Lobby'],
) {
  return resolveSwormOptions('Rooms', classOptions, loadConfigFile({ cwd, env }), sworms)
}

/** The message of the ConfigError `fn` throws (and fails if it throws anything else, or nothing). */
function configErrorOf(fn: () => unknown): string {
  try {
    fn()
  } catch (e) {
    expect(ConfigError.is(e)).toBe(true)
    expect((e as ConfigError).code).toBe(SwormErrorCode.ConfigError)
    return (e as ConfigError).message
  }
  throw new Error('expected a ConfigError, but nothing was thrown')
}

describe('sworm options', () => {
  it('applies the defaults when neither the class nor a file sets an option', () => {
    const options = optionsOfRooms(undefined)
    expect(options).toStrictEqual({ ...swormDefaults })
    expect(options).toMatchObject({
      restart: 'transient',
      handoff: false,
      handoffTimeoutMs: 5000,
      distribution: 'hash',
      redistribution: 'passive',
    })
  })

  it('runs without a config file', () => {
    expect(loadConfigFile({ cwd, env: {} })).toBeUndefined()
    expect(optionsOfRooms({ restart: 'permanent' }).restart).toBe('permanent')
  })

  it('switches handoff on from the file over a class that has it off', () => {
    write('sworm.config.json', { Rooms: { handoff: true } })
    const options = optionsOfRooms({ handoff: false, handoffTimeoutMs: 8000 })
    expect(options.handoff).toBe(true)
    expect(options.handoffTimeoutMs).toBe(8000)
  })

  it('reads the file SWORM_CONFIG names, relative to the working directory', () => {
    write('sworm.config.json', { Rooms: { restart: 'temporary' } })
    write('conf/prod.json', { Rooms: { restart: 'permanent', redistribution: 'active' } })
    const options = optionsOfRooms(undefined, { SWORM_CONFIG: 'conf/prod.json' })
    expect(options).toMatchObject({ restart: 'permanent', redistribution: 'active' })
  })

  it('fails naming the missing file SWORM_CONFIG names', () => {
    const message = configErrorOf(() =>
      loadConfigFile({ cwd, env: { SWORM_CONFIG: 'missing.json' } }),
    )
    expect(message).toContain(join(cwd, 'missing.json'))
  })

  it('keeps a distribution function from the class', () => {
    write('sworm.config.json', { Rooms: { handoff: true } })
    const pickFirst = (_id: string, members: readonly NodeId[]) => members[0]
    const options = optionsOfRooms({ distribution: pickFirst })
    expect(options.distribution).toBe(pickFirst)
    expect(options.handoff).toBe(true)
  })

  it('fails on a typo in a key, naming the file and the key and suggesting the right one', () => {
    const path = write('sworm.config.json', { Rooms: { handof: true } })
    const message = configErrorOf(() => optionsOfRooms(undefined))
    expect(message).toContain(`${path}: Rooms.handof`)
    expect(message).toContain('did you mean "handoff"?')
  })

  it('fails on a typo in the class options, naming the class', () => {
    const message = configErrorOf(() => optionsOfRooms({ handof: true } as SwormOptions))
    expect(message).toContain('Rooms.options.handof')
    expect(message).toContain('did you mean "handoff"?')
  })

  it('fails on a wrong type, naming the key, the expected type and what it found', () => {
    const path = write('sworm.config.json', { Rooms: { handoffTimeoutMs: '5s' } })
    const message = configErrorOf(() => optionsOfRooms(undefined))
    expect(message).toContain(`${path}: Rooms.handoffTimeoutMs`)
    expect(message).toContain('expected a duration in milliseconds (a finite number ≥ 0)')
    expect(message).toContain('found the string "5s"')
  })

  it('fails on a value out of range or not one of the allowed literals', () => {
    expect(configErrorOf(() => validateSwormOptions({ maxRestarts: 1.5 }, 'Rooms.options'))).toBe(
      'Rooms.options.maxRestarts: expected an integer ≥ 0, found the number 1.5',
    )
    expect(configErrorOf(() => validateSwormOptions({ shutdownMs: -1 }, 'Rooms.options'))).toMatch(
      /Rooms\.options\.shutdownMs: expected a duration .* found the number -1/,
    )
    expect(configErrorOf(() => validateSwormOptions({ restart: 'always' }, 'Rooms.options'))).toBe(
      'Rooms.options.restart: expected "transient", "temporary" or "permanent", found the string "always"',
    )
  })

  it('fails on an unknown sworm in the file, naming it and suggesting a known one', () => {
    const path = write('sworm.config.json', { Rooms: {}, Roms: { handoff: true } })
    const file = loadConfigFile({ cwd, env: {} })
    const message = configErrorOf(() => checkConfigSworms(file, ['Rooms', 'Lobby']))
    expect(message).toContain(`${path}: Roms: unknown sworm`)
    expect(message).toContain('did you mean "Rooms"?')
    // Resolving any sworm of this node reports it too.
    expect(configErrorOf(() => optionsOfRooms(undefined))).toBe(message)
  })

  it('fails on invalid JSON, naming the file', () => {
    const path = write('sworm.config.json', '{ "Rooms": { "handoff": true, } }')
    const message = configErrorOf(() => loadConfigFile({ cwd, env: {} }))
    expect(message).toMatch(new RegExp(`^${escapeRegExp(path)}: invalid JSON: .+`))
  })

  it('fails on a file that is not an object of objects', () => {
    write('sworm.config.json', { Rooms: true })
    expect(configErrorOf(() => loadConfigFile({ cwd, env: {} }))).toContain(
      'Rooms: expected an object of options, found the boolean true',
    )
    write('sworm.config.json', [{ Rooms: {} }])
    expect(configErrorOf(() => loadConfigFile({ cwd, env: {} }))).toContain(
      'expected an object keyed by sworm name, found an array',
    )
  })
})

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
