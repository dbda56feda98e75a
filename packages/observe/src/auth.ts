// Who may read the observer page and its live state: a request that carries the token as
// `?token=`, as the `sworm_observer` cookie, or as `Authorization: Bearer <token>`.
import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

/** The cookie the page gets after a visit with `?token=`, so the token can leave the URL. */
export const COOKIE_NAME = 'sworm_observer'

/** Where a request carried a valid token, or undefined when it carried none that matches. */
export type TokenSource = 'query' | 'cookie' | 'header'

/**
 * Checks the token of a request in constant time. Both sides are hashed first so that the
 * comparison takes as long whatever the length of the guess.
 */
export class TokenCheck {
  private readonly digest: Buffer

  constructor(token: string) {
    this.digest = sha256(token)
  }

  /** Where `req` carried the right token, or undefined. */
  check(req: IncomingMessage, url: URL): TokenSource | undefined {
    const query = url.searchParams.get('token')
    if (query !== null && this.matches(query)) return 'query'
    const cookie = cookieValue(req.headers.cookie, COOKIE_NAME)
    if (cookie !== undefined && this.matches(cookie)) return 'cookie'
    const auth = req.headers.authorization
    if (auth !== undefined) {
      const m = /^Bearer\s+(.+)$/i.exec(auth.trim())
      if (m !== null && this.matches(m[1]!)) return 'header'
    }
    return undefined
  }

  private matches(candidate: string): boolean {
    return timingSafeEqual(this.digest, sha256(candidate))
  }
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest()
}

/** The value of cookie `name` in a `Cookie` header, URI-decoded. */
function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue
    try {
      return decodeURIComponent(part.slice(eq + 1).trim())
    } catch {
      return undefined
    }
  }
  return undefined
}

/** The `Set-Cookie` value that lets the page's later requests in without the token in the URL. */
export function tokenCookie(token: string, secure: boolean): string {
  const attrs = ['Path=/', 'HttpOnly', 'SameSite=Strict']
  if (secure) attrs.push('Secure')
  return `${COOKIE_NAME}=${encodeURIComponent(token)}; ${attrs.join('; ')}`
}
