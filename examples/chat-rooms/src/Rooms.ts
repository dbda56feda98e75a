// The chat rooms: `ChatRoom`, one worker per room keeping the room's last posts, and `Rooms`, the
// sworm that runs one per name across the cluster and hands a room's history over when it moves.
import { Actor, Sworm } from '@swormjs/sworm'

/** A post as the room numbers it and publishes it to the room's members. */
export interface Post {
  room: string
  /** 1, 2, 3… in the order the room took the posts. */
  seq: number
  from: string
  text: string
}

export type RoomRequest = { type: 'post'; from: string; text: string } | { type: 'history' }

/** What a room hands over when it moves: enough to carry on numbering and showing its history. */
interface RoomState {
  seq: number
  history: Post[]
}

/** The group of a room's members: `publish` to it reaches every one of them, on any node. */
export const membersOf = (room: string): [string, string] => ['members', room]

/** A chat room: numbers each post, keeps the last `keep`, and publishes each to its members. */
export class ChatRoom extends Actor<{ room: string; keep?: number }> {
  room = ''
  keep = 50
  seq = 0
  history: Post[] = []

  override init(args: { room: string; keep?: number }): void {
    this.room = args.room
    this.keep = args.keep ?? this.keep
  }

  override handleCall(msg: RoomRequest): number | Post[] {
    switch (msg.type) {
      case 'post': {
        const post: Post = { room: this.room, seq: ++this.seq, from: msg.from, text: msg.text }
        this.history = [...this.history, post].slice(-this.keep)
        // Inside a process, the statics bind to its node: wherever this room runs now.
        Rooms.publish(membersOf(this.room), post)
        return post.seq
      }
      case 'history':
        return this.history
    }
  }

  override beginHandoff(): RoomState {
    return { seq: this.seq, history: this.history }
  }

  override endHandoff(state: RoomState): void {
    this.seq = state.seq
    this.history = state.history
  }
}

/** One `ChatRoom` per room name across the cluster; with handoff, a room keeps its history. */
export class Rooms extends Sworm {
  static override options = { handoff: true }
  static override actors = { ChatRoom }
}
