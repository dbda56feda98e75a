// collab-rooms: a horizontally scaled Yjs server on sworm. Rooms are sworm workers holding a
// Y.Doc; y-websocket clients connect to any node's `RoomServer`.
export { Room, Rooms, roomGroup } from './Room.js'
export type {
  RoomArgs,
  RoomEvent,
  RoomStats,
  StatsRequest,
  SyncReply,
  SyncRequest,
  UpdateRequest,
} from './Room.js'
export { Connection } from './Connection.js'
export type { ConnectionArgs, SocketEvent } from './Connection.js'
export { RoomServer } from './RoomServer.js'
export type { RoomServerOptions } from './RoomServer.js'
export { failover } from './client.js'
