// @swormjs/cluster: nodes joined in a websocket mesh, remote processes, replicated Yjs docs.
export { startNode, Node } from './Node.js'
export type { NodeInfo, NodeEvents, DownReason } from './types.js'
export type { HttpHandler, WebSocketHandler } from './HttpRoutes.js'
export type { NodeOptions, TlsOptions } from './options.js'
export type { YjsEndpointOptions } from './YjsEndpoint.js'
export { validateNodeOptions } from './options.js'
export type { ReadyOptions, ReadyCheck } from './Readiness.js'
export { nodeDefaults } from './defaults.js'
export { encodeValue, decodeValue, assertSerializable } from './codec.js'
export { PROTOCOL_VERSION, Frame } from './frames.js'
export {
  ClusterErrorCode,
  NotSerializable,
  NotDocOwner,
  UnknownDoc,
  BadConfig,
  NodeStopped,
  ProtocolError,
  BadDocChunk,
  NotReady,
} from './errors.js'
export type { BadDocChunkReason } from './errors.js'
