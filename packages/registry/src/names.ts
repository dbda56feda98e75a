// Names: strings, or JSON values with one canonical encoding (object keys sorted), so that
// `{ a: 1, b: 2 }` and `{ b: 2, a: 1 }` are the same name. A name's key in the docs is its
// encoding: `s` + the string, or `j` + the canonical JSON.
import { BadArgument } from '@swormjs/actor'

/** A registry name: a string or a JSON value. */
export type Name =
  string | number | boolean | null | readonly Name[] | { readonly [k: string]: Name }

/**
 * The key of `name` in the docs: `s` + a string, or `j` + canonical JSON (object keys sorted).
 * Throws `BadArgument` for a non-finite number or a value that is not plain JSON data.
 */
export function encodeName(name: Name): string {
  if (typeof name === 'string') return 's' + name
  return 'j' + canonicalJson(name)
}

/** True for the key of a string name (`encodeName('x')` is `'sx'`). */
export function isStringKey(key: string): boolean {
  return key.charCodeAt(0) === 115 /* s */
}

/** The name a key made by `encodeName` stands for. */
export function decodeName(key: string): Name {
  if (isStringKey(key)) return key.slice(1)
  return JSON.parse(key.slice(1)) as Name
}

function canonicalJson(v: unknown): string {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return JSON.stringify(v)
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new BadArgument(`a name cannot hold ${v}`)
    return JSON.stringify(v)
  }
  if (Array.isArray(v)) return '[' + v.map(canonicalJson).join(',') + ']'
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v) as unknown
    if (proto !== Object.prototype && proto !== null) {
      throw new BadArgument('a name must be a string or plain JSON data')
    }
    const keys = Object.keys(v).sort()
    return (
      '{' +
      keys
        .map((k) => JSON.stringify(k) + ':' + canonicalJson((v as Record<string, unknown>)[k]))
        .join(',') +
      '}'
    )
  }
  throw new BadArgument(`a name cannot hold a ${typeof v}`)
}

/** A name as people read it: the string itself, or its JSON. */
export function describeName(name: Name): string {
  return typeof name === 'string' ? name : JSON.stringify(name)
}
