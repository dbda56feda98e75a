// The cookie handshake: each side proves it knows the cookie by an HMAC over the other side's
// fresh nonce and both node ids, so the cookie never crosses the wire and a proof cannot be
// replayed to another node or in another session.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

export function makeNonce(): Uint8Array {
  return randomBytes(32)
}

/** The proof that `role` knows `cookie`, bound to the peer's nonce and both identities. */
export function proof(
  cookie: string,
  role: 'acceptor' | 'dialer',
  peerNonce: Uint8Array,
  selfId: string,
  peerId: string,
  cluster: string,
): Uint8Array {
  return createHmac('sha256', cookie)
    .update(`sworm/1|${role}|${cluster}|${selfId}|${peerId}|`)
    .update(peerNonce)
    .digest()
}

export function proofMatches(expected: Uint8Array, got: Uint8Array): boolean {
  return expected.length === got.length && timingSafeEqual(expected, got)
}
