// Per-sworm options: what a sworm's `static options` and `sworm.config.json` may set (their
// defaults are in `defaults.ts`), and the checks that turn a typo, a wrong type or an unknown sworm into a startup error.
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { RestartPolicy } from '@swormjs/actor'
import type { Distribution, RebalanceOptions } from '@swormjs/supervisor'
import { swormDefaults } from './defaults.js'
import { ConfigError } from './errors.js'

/** The config file looked for in the working directory when `SWORM_CONFIG` is not set. */
export const configFileName = 'sworm.config.json'
/** The environment variable that names the config file instead (relative to the working directory). */
export const configEnvVar = 'SWORM_CONFIG'

/**
 * Options of one sworm, from its `static options` or its entry in the config file (the file wins).
 * Every node that runs the sworm should give it the same options. The supervisor and registry
 * options keep the meaning they have in `DistributedSupervisorOptions` (`@swormjs/supervisor`)
 * and `RegistryOptions` (`@swormjs/registry`).
 *
 * @example
 * ```ts
 * class Rooms extends Sworm {
 *   static options: SwormOptions = { handoff: true, redistribution: 'active' }
 * }
 * // sworm.config.json, which wins over the class: { "Rooms": { "handoffTimeoutMs": 10000 } }
 * ```
 */
export interface SwormOptions {
  /**
   * When a name's worker is started again after it exits: `transient` (default) only after an
   * abnormal exit, `temporary` never, `permanent` always. A delegate that lost its name in a
   * conflict is never restarted, whatever this says. On a graceful leave with `handoff`, a
   * `temporary` name moves with its state like the others (a move is no restart); without
   * `handoff` it stops with its node (logged), as it would not be started again elsewhere.
   */
  restart?: RestartPolicy
  /**
   * Hand the worker's state to its next node when its name moves (a graceful leave, or `active`
   * redistribution): `sworm:begin_handoff` here, `sworm:end_handoff` there, before any other
   * message. Default false: the worker starts afresh on its new node.
   */
  handoff?: boolean
  /**
   * Copies of each worker's state kept on other nodes, so that a name whose node crashes (kill
   * -9, a lost machine) starts again elsewhere from its newest state, not from its `init` args.
   * Default 0. Needs `handoff: true`: the state kept is what `beginHandoff()` returns, asked
   * after the messages it serves, so `beginHandoff` must only read. The copies go to the next
   * `replicas` nodes in the name's placement order (the first of them adopts the name), and a
   * call's reply reaches its caller only once they hold a state with the call's effect. More
   * than there are other nodes keeps one on each of them (logged once).
   */
  replicas?: number
  /**
   * Keep the names this node runs, and their newest state, in `dir` on its local disk, so that
   * they come back when the whole cluster starts again (every node stopped, gracefully or not):
   * each node starts again the names it ran, each from its newest acknowledged state. Needs
   * `handoff: true` (the state kept is what `beginHandoff()` returns); a call's reply waits until
   * its effect is on disk. Give each node a directory of its own: `{node}` in `dir` is replaced
   * by the node's name (`./data/{node}`). Or `{ postgres: 'postgres://...' }`: every node's
   * names in one PostgreSQL table, so that a name comes back on another node when its own never
   * does (claimed after `orphanAfterMs`). Default: off.
   */
  persist?: PersistOptions
  /**
   * The largest state, encoded, that is replicated (with `replicas`). A larger one is not kept,
   * and the callers whose replies waited for it get `StateTooLarge`. Default 1 MiB.
   */
  maxStateBytes?: number
  /**
   * How long the worker may take to hand over its state; past it, the name moves without it.
   * Default 5000. See `DistributedSupervisorOptions.handoffTimeoutMs`.
   */
  handoffTimeoutMs?: number
  /**
   * Which node runs a name: `hash` (default; rendezvous hashing over the nodes that run this sworm),
   * `quorum` (the same, but a side of a split without a majority stops its names, so a name never
   * runs twice), or a function `(id, members) => node`, which only the class can give (not the
   * JSON file). See `DistributedSupervisorOptions.distribution`.
   */
  distribution?: Distribution
  /**
   * `passive` (default): names stay on their node until it leaves or dies. `active`: when a node
   * joins, the names that now hash to it move there (with handoff if `handoff` is on).
   */
  redistribution?: 'passive' | 'active'
  /**
   * With `active` redistribution: each node moves at most `maxMovesPerRound` names per round, a
   * round every `intervalMs`, until every name is where it hashes to; a join then holds few names
   * at a time. Default `{ maxMovesPerRound: 1000, intervalMs: 500 }`.
   */
  rebalance?: RebalanceOptions
  /**
   * Restarts of one name's delegate allowed within `maxSeconds` before it is given up. Default 3.
   * See `DistributedSupervisorOptions.maxRestarts`.
   */
  maxRestarts?: number
  /** The window of `maxRestarts`, in seconds. Default 5. */
  maxSeconds?: number
  /** Names this node runs at most; past it, a start placed here fails. Default: no limit. */
  maxChildren?: number
  /** How long a worker may take to stop before it is killed. Default 5000. */
  shutdownMs?: number
  /**
   * A worker whose name got no message for this long is passivated: stopped until the next
   * message, as Akka (120 s), Orleans and Dapr do with idle entities. With `handoff` the name
   * stays, resting on its delegate with the state `beginHandoff()` gave (and its copies, with
   * `replicas` or `persist`); the next message starts a worker from it (`endHandoff`) and is
   * delivered after, in order. Without `handoff` the name ends. A worker can ask for it itself:
   * `this.passivate()`. Default 0: never.
   */
  idleTimeoutMs?: number
  /**
   * Timeout of this sworm's calls to other nodes (start, terminate, exec, remote unregister).
   * Default 5000. See `DistributedSupervisorOptions.callTimeoutMs` and `RegistryOptions.callTimeoutMs`.
   */
  callTimeoutMs?: number
  /**
   * `quorum`: how long to wait before adopting the names of a node seen down, so that a minority
   * side has noticed the split and stopped them. Default 10,000.
   * See `DistributedSupervisorOptions.quorumAdoptDelayMs`.
   */
  quorumAdoptDelayMs?: number
  /**
   * `quorum`: members needed. Default: a majority of the known members (less those that left,
   * and those forgotten after `forgetAfterMs` down). See `DistributedSupervisorOptions.quorumSize`.
   */
  quorumSize?: number
  /**
   * Compact this node's replicated doc once this many removals piled up. Default 10,000.
   * See `DistributedSupervisorOptions.compactMinDead` and `RegistryOptions.compactMinDead`.
   */
  compactMinDead?: number
  /**
   * Forget the replicas of a node down this long. Default 60,000.
   * See `DistributedSupervisorOptions.forgetAfterMs` and `RegistryOptions.forgetAfterMs`.
   */
  forgetAfterMs?: number
}

/** Where `persist` keeps the names: a local directory, or one PostgreSQL database for all nodes. */
export type PersistOptions =
  | {
      /** The directory, one per node: `{node}` in it is replaced by the node's name. */
      dir: string
    }
  | {
      /** A connection string: `postgres://user:password@host:5432/database`. */
      postgres: string
      /** The table (made if missing). Default `sworm_names`. */
      table?: string
      /**
       * A name whose node has not been seen this long (since this node started, or since it
       * left) is started again here if its hash picks this node. Default 30,000.
       */
      orphanAfterMs?: number
    }

/**
 * A sworm's options with every default filled in. `quorumSize` is absent unless set (it has no
 * fixed default: a majority), so the object passes as is under `exactOptionalPropertyTypes`.
 */
export type ResolvedSwormOptions = Required<Omit<SwormOptions, 'quorumSize' | 'persist'>> &
  Pick<SwormOptions, 'quorumSize' | 'persist'>

/** What a value must be, in words for the error message, and the test. */
interface Rule {
  expected: string
  test(value: unknown): boolean
}

const oneOf = (...values: readonly string[]): Rule => ({
  expected: listOr(values.map((v) => JSON.stringify(v))),
  test: (v) => typeof v === 'string' && values.includes(v),
})
const duration: Rule = {
  expected: 'a duration in milliseconds (a finite number ≥ 0)',
  test: (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0,
}
const integer = (min: number): Rule => ({
  expected: `an integer ≥ ${min}`,
  test: (v) => Number.isInteger(v) && (v as number) >= min,
})

const rules: { readonly [K in keyof SwormOptions]-?: Rule } = {
  restart: oneOf('transient', 'temporary', 'permanent'),
  handoff: { expected: 'a boolean', test: (v) => typeof v === 'boolean' },
  replicas: integer(0),
  persist: {
    expected:
      'an object { "dir": "<a directory>" } or { "postgres": "<connection string>", "table"?, "orphanAfterMs"? }',
    test: (v) => isPersist(v),
  },
  maxStateBytes: integer(1),
  handoffTimeoutMs: duration,
  distribution: {
    expected: '"hash" or "quorum" (or, in the class only, a function (id, members) => node)',
    test: (v) => v === 'hash' || v === 'quorum' || typeof v === 'function',
  },
  redistribution: oneOf('passive', 'active'),
  rebalance: {
    expected: 'an object { "maxMovesPerRound": <an integer ≥ 1>, "intervalMs": <a duration> }',
    test: (v) =>
      isObject(v) &&
      Object.keys(v).every((k) => k === 'maxMovesPerRound' || k === 'intervalMs') &&
      Number.isInteger(v['maxMovesPerRound']) &&
      (v['maxMovesPerRound'] as number) >= 1 &&
      typeof v['intervalMs'] === 'number' &&
      Number.isFinite(v['intervalMs']) &&
      v['intervalMs'] >= 0,
  },
  maxRestarts: integer(0),
  maxSeconds: {
    expected: 'a number of seconds (a finite number ≥ 0)',
    test: (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0,
  },
  maxChildren: {
    expected: 'an integer ≥ 1 (or, in the class only, Infinity)',
    test: (v) => v === Infinity || (Number.isInteger(v) && (v as number) >= 1),
  },
  shutdownMs: duration,
  idleTimeoutMs: duration,
  callTimeoutMs: duration,
  quorumAdoptDelayMs: duration,
  quorumSize: integer(1),
  compactMinDead: integer(0),
  forgetAfterMs: duration,
}
const optionKeys = Object.keys(rules) as ReadonlyArray<keyof SwormOptions>

/**
 * Checks a sworm's options: every key known, every value of the right type. `where` says where
 * they came from, for the message (`Rooms.options`, or `/app/sworm.config.json: Rooms`). An
 * undefined value counts as not set.
 *
 * @throws ConfigError naming `where`, the key, what was expected and what was found; for an
 *   unknown key, the closest known one.
 */
export function validateSwormOptions(options: unknown, where: string): SwormOptions {
  if (options === undefined) return {}
  if (!isObject(options)) {
    throw new ConfigError(
      `${where}: expected an object of options, found ${describeValue(options)}`,
    )
  }
  const valid: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(options)) {
    if (!isOptionKey(key)) {
      const guess = closest(key, optionKeys)
      const hint = guess === undefined ? '' : ` (did you mean "${guess}"?)`
      throw new ConfigError(
        `${where}.${key}: unknown option${hint}; expected one of ${optionKeys.join(', ')}`,
      )
    }
    if (value === undefined) continue
    const rule = rules[key]
    if (!rule.test(value)) {
      throw new ConfigError(
        `${where}.${key}: expected ${rule.expected}, found ${describeValue(value)}`,
      )
    }
    valid[key] = value
  }
  return valid // every key and value checked above
}

/** A config file as read: where it is, and its entries by sworm name (not yet validated). */
export interface SwormConfigFile {
  /** Absolute path of the file, for messages. */
  path: string
  /** Each sworm's entry: an object, whose keys `validateSwormOptions` has yet to check. */
  sworms: Record<string, unknown>
}

/** Where `loadConfigFile` looks; each defaults to the process's own. */
export interface LoadConfigFileOptions {
  /** The working directory: where `sworm.config.json` is, and what `SWORM_CONFIG` is relative to. Default `process.cwd()`. */
  cwd?: string
  /** Default `process.env`. */
  env?: NodeJS.ProcessEnv
  /** Reads a file as UTF-8, throwing an error with code `ENOENT` if there is none. Default `fs.readFileSync`. */
  readFile?: (path: string) => string
}

/**
 * Reads the config file: the one `SWORM_CONFIG` names (relative to `cwd`), else
 * `sworm.config.json` in `cwd`. Undefined when `SWORM_CONFIG` is not set and there is no
 * `sworm.config.json`: no file is fine.
 *
 * @throws ConfigError naming the file when `SWORM_CONFIG` names a missing file, when the file is
 *   not valid JSON (with the parser's message), or when it is not an object of objects.
 */
export function loadConfigFile(options: LoadConfigFileOptions = {}): SwormConfigFile | undefined {
  const cwd = resolve(options.cwd ?? process.cwd())
  const named = (options.env ?? process.env)[configEnvVar]
  const readFile = options.readFile ?? ((path: string) => readFileSync(path, 'utf8'))
  const explicit = named !== undefined && named !== ''
  const path = explicit ? resolve(cwd, named) : join(cwd, configFileName)

  let text: string
  try {
    text = readFile(path)
  } catch (e) {
    if ((e as { code?: unknown } | null)?.code !== 'ENOENT') {
      throw new ConfigError(`${path}: cannot read the config file: ${errorMessage(e)}`, {
        cause: e,
      })
    }
    if (!explicit) return undefined
    throw new ConfigError(`${path}: no such file (named by ${configEnvVar}=${named})`, {
      cause: e,
    })
  }

  let parsed: unknown
  try {
    parsed = JSON.parse(text.replace(/^\uFEFF/, ''))
  } catch (e) {
    throw new ConfigError(`${path}: invalid JSON: ${errorMessage(e)}`, { cause: e })
  }
  if (!isObject(parsed)) {
    throw new ConfigError(
      `${path}: expected an object keyed by sworm name, found ${describeValue(parsed)}`,
    )
  }
  for (const [name, entry] of Object.entries(parsed)) {
    if (!isObject(entry)) {
      throw new ConfigError(
        `${path}: ${name}: expected an object of options, found ${describeValue(entry)}`,
      )
    }
  }
  return { path, sworms: parsed }
}

/**
 * Checks that every sworm the config file configures is one started on this node: an entry for
 * a misspelt or absent sworm would otherwise be silently ignored.
 *
 * @throws ConfigError naming the file and the unknown sworm, with the closest known name.
 */
export function checkConfigSworms(
  file: SwormConfigFile | undefined,
  knownSworms: readonly string[],
): void {
  if (file === undefined) return
  for (const name of Object.keys(file.sworms)) {
    if (knownSworms.includes(name)) continue
    const guess = closest(name, knownSworms)
    const hint = guess === undefined ? '' : ` (did you mean "${guess}"?)`
    const known =
      knownSworms.length === 0
        ? 'no sworm is started on this node'
        : `the sworms started on this node are ${knownSworms.join(', ')}`
    throw new ConfigError(`${file.path}: ${name}: unknown sworm${hint}; ${known}`)
  }
}

/**
 * One sworm's options: defaults, then its `static options`, then its entry in the config file.
 * Also runs `checkConfigSworms` (with `swormName` counted as known), so an unknown sworm in the
 * file fails whichever sworm is resolved first.
 *
 * @example
 * ```ts
 * const file = loadConfigFile()
 * checkConfigSworms(file, ['Rooms', 'Lobby'])
 * const options = resolveSwormOptions('Rooms', Rooms.options, file, ['Rooms', 'Lobby'])
 * ```
 * @throws ConfigError as `validateSwormOptions` and `checkConfigSworms` do.
 */
export function resolveSwormOptions(
  swormName: string,
  classOptions: unknown,
  file: SwormConfigFile | undefined,
  knownSworms: readonly string[],
): ResolvedSwormOptions {
  checkConfigSworms(
    file,
    knownSworms.includes(swormName) ? knownSworms : [...knownSworms, swormName],
  )
  const fromClass = validateSwormOptions(classOptions, `${swormName}.options`)
  const fromFile =
    file !== undefined && Object.hasOwn(file.sworms, swormName)
      ? validateSwormOptions(file.sworms[swormName], `${file.path}: ${swormName}`)
      : {}
  const resolved = { ...swormDefaults, ...fromClass, ...fromFile }
  if (resolved.persist !== undefined && !resolved.handoff) {
    const where = Object.hasOwn(fromFile, 'persist')
      ? `${file!.path}: ${swormName}`
      : `${swormName}.options`
    throw new ConfigError(
      `${where}.persist: persist needs handoff: true (the state kept is what beginHandoff() returns)`,
    )
  }
  if (resolved.replicas > 0 && !resolved.handoff) {
    const where = Object.hasOwn(fromFile, 'replicas')
      ? `${file!.path}: ${swormName}`
      : `${swormName}.options`
    throw new ConfigError(
      `${where}.replicas: replicas ${resolved.replicas} needs handoff: true (the copies are the state beginHandoff() returns)`,
    )
  }
  return resolved
}

function isPersist(v: unknown): boolean {
  if (!isObject(v)) return false
  const keys = Object.keys(v)
  if (typeof v['dir'] === 'string') return keys.length === 1 && v['dir'] !== ''
  if (typeof v['postgres'] !== 'string' || v['postgres'] === '') return false
  const known = ['postgres', 'table', 'orphanAfterMs']
  if (!keys.every((k) => known.includes(k))) return false
  if (
    v['table'] !== undefined &&
    !(typeof v['table'] === 'string' && /^[a-z_][a-z0-9_]*$/.test(v['table']))
  )
    return false
  const o = v['orphanAfterMs']
  return o === undefined || (typeof o === 'number' && Number.isFinite(o) && o >= 0)
}

function isOptionKey(key: string): key is keyof SwormOptions {
  return Object.hasOwn(rules, key)
}

function isObject(u: unknown): u is Record<string, unknown> {
  return typeof u === 'object' && u !== null && !Array.isArray(u)
}

/** What was found, for a message: `the string "5s"`, `the number -1`, `an array`. */
function describeValue(u: unknown): string {
  if (u === null || u === undefined) return String(u)
  if (Array.isArray(u)) return 'an array'
  if (typeof u === 'string') return `the string ${JSON.stringify(u)}`
  if (typeof u === 'number' || typeof u === 'boolean' || typeof u === 'bigint') {
    return `the ${typeof u} ${String(u)}`
  }
  return typeof u === 'object' ? 'an object' : `a ${typeof u}`
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

/** `a`, `a or b`, `a, b or c`. */
function listOr(items: readonly string[]): string {
  return items.length <= 1
    ? items.join('')
    : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`
}

/** The candidate nearest to `word` (case-insensitive edit distance), if one is near enough to be a typo. */
function closest(word: string, candidates: readonly string[]): string | undefined {
  const target = word.toLowerCase()
  const limit = Math.max(1, Math.floor(word.length / 3))
  let best: string | undefined
  let bestDistance = limit + 1
  for (const candidate of candidates) {
    const d = editDistance(target, candidate.toLowerCase())
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return best
}

/** Levenshtein distance: insertions, deletions and substitutions. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution)
    }
    previous = current
  }
  return previous[b.length] ?? 0
}
