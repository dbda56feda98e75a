// The cookie handshake's proofs: each side proves it knows the cookie by an HMAC over both fresh
// nonces and both node ids, so the cookie never crosses the wire, and a proof fits one session
// only. The dialer proves first: the acceptor proves nothing to anyone who has not (so a stranger
// gets no HMAC to crack offline).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

export function makeNonce(): Uint8Array {
  return randomBytes(32)
}

/** What one handshake binds its proofs to: both ids, both nonces, the cluster. */
export interface Session {
  cluster: string
  dialerId: string
  acceptorId: string
  dialerNonce: Uint8Array
  acceptorNonce: Uint8Array
  /** Over TLS: keying material exported from the session, so the proofs fit that session only. */
  binding?: Uint8Array | undefined
}

/** The proof that `role` knows `cookie`, in this session. */
export function proof(cookie: string, role: 'acceptor' | 'dialer', s: Session): Uint8Array {
  return createHmac('sha256', cookie)
    .update(`sworm/2|${role}|${s.cluster}|${s.dialerId}|${s.acceptorId}|`)
    .update(s.dialerNonce)
    .update(s.acceptorNonce)
    .update(s.binding ?? new Uint8Array(0))
    .digest()
}

export function proofMatches(expected: Uint8Array, got: Uint8Array): boolean {
  return expected.length === got.length && timingSafeEqual(expected, got)
}

/** Characters a cookie needs at least, and distinct characters among them. */
export const COOKIE_MIN_LENGTH = 16
export const COOKIE_MIN_DISTINCT = 8

/**
 * Why `cookie` is too weak to guard a cluster, or undefined when it is not obviously so: shorter
 * than 16 characters, or fewer than 8 distinct ones (`aaaa…`, `abababab…`, `passwordpassword`).
 */
export function weakCookie(cookie: string): string | undefined {
  if (cookie.length < COOKIE_MIN_LENGTH) {
    return `it has ${cookie.length} characters, fewer than ${COOKIE_MIN_LENGTH}`
  }
  if (new Set(cookie).size < COOKIE_MIN_DISTINCT) {
    return `it has fewer than ${COOKIE_MIN_DISTINCT} distinct characters`
  }
  return undefined
}
