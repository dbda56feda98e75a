// `@swormjs/cluster/protocol`: the wire protocol's building blocks (frames, the handshake proof,
// the payload codec), for tools that speak to a node directly and for protocol tests. Most
// programs never need it: `startNode` speaks the protocol for them.
export {
  DocKind,
  Frame,
  frame,
  PROTOCOL_VERSION,
  readIdentity,
  readDocChunk,
  readMembers,
  writeChallenge,
  writeDocChunk,
  writeHello,
  writeMembers,
} from './frames.js'
export type { DocChunkFrame, FrameType, HelloFrame, MemberEntry, RefuseReason } from './frames.js'
export { makeNonce, proof, proofMatches } from './proof.js'
export { readPayload, writePayload, encodeValue, decodeValue } from './codec.js'
