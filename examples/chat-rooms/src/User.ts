// A chat user: a plain process on one node that joins rooms, posts to them by name, and keeps
// every post its rooms publish to it.
import { Actor } from '@swormjs/sworm'
import { membersOf, Rooms, type Post, type RoomRequest } from './Rooms.js'

export type UserRequest =
  { type: 'join'; room: string } | { type: 'say'; room: string; text: string } | { type: 'inbox' }

export class User extends Actor<{ name: string }> {
  name = ''
  /** Every post received, in the order received. */
  inbox: Post[] = []

  override init(args: { name: string }): void {
    this.name = args.name
  }

  override async handleCall(msg: UserRequest): Promise<unknown> {
    switch (msg.type) {
      case 'join':
        return Rooms.join(membersOf(msg.room), this.self)
      case 'say': {
        // To the room by name, wherever it runs; the reply is the post's number in the room.
        const post: RoomRequest = { type: 'post', from: this.name, text: msg.text }
        return Rooms.call<number>(msg.room, post)
      }
      case 'inbox':
        return this.inbox
    }
  }

  /** The posts the rooms publish arrive as plain messages. */
  override handleInfo(msg: unknown): void {
    if (isPost(msg)) this.inbox.push(msg)
  }
}

function isPost(m: unknown): m is Post {
  return typeof m === 'object' && m !== null && 'seq' in m && 'room' in m && 'text' in m
}
