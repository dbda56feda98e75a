// The injectable logger: the shape of pino's (`logger.warn(obj, msg)`), quiet by default.

/** The lowest level a logger writes, from `debug` up; `silent` writes nothing. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent'

/** A pino-compatible logger. `child` is used to stamp every line with the node name. */
export interface Logger {
  /** Logs the fields of `obj`, and `msg`, at level `debug`. */
  debug(obj: object, msg?: string): void
  /** Logs at level `info`. */
  info(obj: object, msg?: string): void
  /** Logs at level `warn`. */
  warn(obj: object, msg?: string): void
  /** Logs at level `error`. */
  error(obj: object, msg?: string): void
  /** A logger that adds `bindings` to every line it writes. */
  child(bindings: object): Logger
}

const levels: Record<LogLevel, number> = { debug: 20, info: 30, warn: 40, error: 50, silent: 99 }

/**
 * A JSON-lines logger to stderr. The level comes from `level`, else `SWORM_LOG_LEVEL`, else
 * `warn`: quiet unless something is wrong.
 */
export function createLogger(
  options: { level?: LogLevel; bindings?: object; write?: (line: string) => void } = {},
): Logger {
  const envLevel = process.env['SWORM_LOG_LEVEL'] as LogLevel | undefined
  const level = levels[options.level ?? (envLevel && envLevel in levels ? envLevel : 'warn')]
  const bindings = options.bindings ?? {}
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'))
  const emit = (lvl: LogLevel, obj: object, msg?: string): void => {
    if (levels[lvl] < level) return
    const line: Record<string, unknown> = { level: lvl, time: Date.now(), ...bindings }
    for (const [k, v] of Object.entries(obj)) line[k] = v instanceof Error ? describeError(v) : v
    if (msg !== undefined) line['msg'] = msg
    write(safeStringify(line))
  }
  return {
    debug: (o, m) => emit('debug', o, m),
    info: (o, m) => emit('info', o, m),
    warn: (o, m) => emit('warn', o, m),
    error: (o, m) => emit('error', o, m),
    child: (b) => createLogger({ level: levelName(level), bindings: { ...bindings, ...b }, write }),
  }
}

/** A logger that drops everything. */
export const silentLogger: Logger = createLogger({ level: 'silent' })

function levelName(n: number): LogLevel {
  return (Object.keys(levels) as LogLevel[]).find((k) => levels[k] === n) ?? 'warn'
}

function describeError(e: Error): object {
  return { name: e.name, message: e.message, code: (e as { code?: unknown }).code, stack: e.stack }
}

function safeStringify(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x))
  } catch {
    return JSON.stringify({ level: 'error', msg: 'unserialisable log line' })
  }
}
