// @sworm/cluster: nodes joined in a websocket mesh, remote processes, replicated Yjs docs.
export { startNode, Node } from './Node.js'
export type { NodeInfo, NodeEvents, DownReason, HttpHandler, WebSocketHandler } from './Node.js'
export type { NodeOptions, TlsOptions } from './options.js'
export { validateNodeOptions, defaults as nodeDefaults } from './options.js'
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
} from './errors.js'
