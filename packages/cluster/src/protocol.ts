// `@sworm/cluster/protocol`: the wire protocol's building blocks (frames, the handshake proof,
// the payload codec), for tools that speak to a node directly and for protocol tests. Most
// programs never need it: `startNode` speaks the protocol for them.
export {
  DocKind,
  Frame,
  frame,
  PROTOCOL_VERSION,
  readIdentity,
  readMembers,
  writeChallenge,
  writeHello,
  writeMembers,
} from './frames.js'
export type { FrameType, HelloFrame, MemberEntry, RefuseReason } from './frames.js'
export { makeNonce, proof, proofMatches } from './proof.js'
export { readPayload, writePayload, encodeValue, decodeValue } from './codec.js'
