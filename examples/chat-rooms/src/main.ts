// The chat-rooms example: three nodes in one process, two rooms (sworm workers), four users
// (plain processes) on the nodes that stay. Users post to a room by name; the room numbers the
// post and publishes it to its members' group. The node hosting room:tea leaves gracefully while
// users are posting: the room moves with its history, and its members keep getting its posts.
import { pathToFileURL } from 'node:url'
import { nodeOf, type Pid } from '@swormjs/actor'
import { startNode, type SwormNode } from '@swormjs/sworm'
import { ChatRoom, membersOf, Rooms, type Post } from './Rooms.js'
import { User, type UserRequest } from './User.js'

/** Who is in which room. */
const MEMBERS: Record<string, string[]> = {
  'room:tea': ['alice', 'bob', 'carol'],
  'room:cats': ['carol', 'dave'],
}
const USERS = ['alice', 'bob', 'carol', 'dave']

/** The script: who says what where, before, during and after room:tea's node leaves. */
type Say = [user: string, room: string, text: string]
const BEFORE: Say[] = [
  ['alice', 'room:tea', 'hello! is the kettle on?'],
  ['bob', 'room:tea', 'on it: green or black?'],
  ['dave', 'room:cats', 'my cat sat on the keyboard again'],
  ['carol', 'room:tea', 'green, please'],
  ['carol', 'room:cats', 'they know where the warmth is'],
]
const DURING: Say[] = [
  ['alice', 'room:tea', 'did the server just move?'],
  ['bob', 'room:tea', 'no idea, my tea is still warm'],
  ['dave', 'room:cats', 'the cat did not notice either'],
]
const AFTER: Say[] = [
  ['carol', 'room:tea', 'history is all still there'],
  ['alice', 'room:tea', 'good: see you tomorrow'],
  ['dave', 'room:cats', 'bye!'],
]

/** What the run saw, for the test to check. */
export interface ChatResult {
  /** True when every member got every post of its rooms once and every history survived. */
  ok: boolean
  /** The node that left, and the rooms that moved off it. */
  leaving: string
  moved: string[]
  /** By room: what was posted there (in the script's order) and its history after the move. */
  sent: Record<string, Array<{ from: string; text: string }>>
  history: Record<string, Post[]>
  /** By user: every post received, in the order received. */
  inbox: Record<string, Post[]>
}

/** Runs the scenario, printing a transcript through `log`. */
export async function main(log: (line: string) => void = console.log): Promise<ChatResult> {
  const nodes: SwormNode[] = []
  for (const name of ['a', 'b', 'c']) {
    const seeds = nodes.length > 0 ? [nodes[0]!.url] : []
    nodes.push(await startNode({ name, seeds, cookie: 'chat-example-cookie', children: [Rooms] }))
  }
  const hostOf = (pid: Pid | undefined): SwormNode | undefined =>
    nodes.find((node) => pid !== undefined && node.id === nodeOf(pid))
  try {
    await until(() => nodes.every((node) => Rooms.on(node).nodes().length === 3))
    log('nodes a, b and c are up, each running the Rooms sworm')

    // The rooms: each runs on the node its name hashes to.
    let rooms = Rooms.on(nodes[0]!)
    const hosts = new Map<string, SwormNode>()
    for (const room of Object.keys(MEMBERS)) {
      hosts.set(room, hostOf(await rooms.registerName(room, ChatRoom, { room }))!)
      log(`${room} runs on node ${hosts.get(room)!.name}`)
    }

    // The users live on the two nodes that stay, and join their rooms' groups.
    const leaving = hosts.get('room:tea')!
    const staying = nodes.filter((node) => node !== leaving)
    rooms = Rooms.on(staying[0]!)
    const users = new Map<string, { node: SwormNode; pid: Pid }>()
    for (const [i, name] of USERS.entries()) {
      const node = staying[i % staying.length]!
      users.set(name, { node, pid: await node.runtime.start(User, { name }) })
    }
    const ask = <R>(user: string, req: UserRequest): Promise<R> => {
      const { node, pid } = users.get(user)!
      return node.runtime.call<R>(pid, req, { timeoutMs: 10_000 })
    }
    for (const [room, names] of Object.entries(MEMBERS)) {
      for (const name of names) await ask(name, { type: 'join', room })
      const who = names.map((n) => `${n} (node ${users.get(n)!.node.name})`)
      log(`${who.join(', ')} joined ${room}`)
    }
    // A join is written on the member's node; wait until every node sees every member.
    await until(() =>
      nodes.every((node) =>
        Object.entries(MEMBERS).every(
          ([room, names]) => Rooms.on(node).members(membersOf(room)).length === names.length,
        ),
      ),
    )

    const sent: ChatResult['sent'] = {}
    const say = async ([user, room, text]: Say): Promise<void> => {
      ;(sent[room] ??= []).push({ from: user, text })
      const seq = await ask<number>(user, { type: 'say', room, text })
      log(`  [${room} #${seq}] ${user}: ${text}`)
    }
    for (const line of BEFORE) await say(line)
    log(`node ${leaving.name} leaves gracefully while users post`)
    await Promise.all([leaving.stop(), ...DURING.map(say)])
    const moved = [...hosts].filter(([, node]) => node === leaving).map(([room]) => room)
    // Moved: resolved again, on a node that stays (a name is briefly unresolved mid-move).
    await until(() =>
      moved.every((room) => {
        const host = hostOf(rooms.whereis(room))
        return host !== undefined && host !== leaving
      }),
    )
    for (const room of moved) {
      log(`${room} moved from node ${leaving.name} to node ${hostOf(rooms.whereis(room))!.name}`)
    }
    for (const line of AFTER) await say(line)

    // Check: each history holds every post sent to its room, numbered 1..n; each member got
    // exactly the room's history, once; nobody got posts of a room they are not in.
    let ok = moved.includes('room:tea')
    const history: ChatResult['history'] = {}
    for (const [room, posted] of Object.entries(sent)) {
      const h = await rooms.call<Post[]>(room, { type: 'history' })
      history[room] = h
      const good =
        h.every((p, i) => p.seq === i + 1) &&
        same(
          h.map((p) => `${p.from}: ${p.text}`),
          posted.map((p) => `${p.from}: ${p.text}`),
        )
      log(`${room} history: ${h.length} posts, ${good ? 'every post sent' : 'NOT what was sent'}`)
      ok &&= good
    }
    const inbox: ChatResult['inbox'] = {}
    const expected = (user: string): number =>
      Object.entries(MEMBERS).reduce(
        (n, [r, m]) => n + (m.includes(user) ? history[r]!.length : 0),
        0,
      )
    for (const user of USERS) {
      // The last posts may still be on their way: wait (bounded) until they are in.
      await until(async () => (await ask<Post[]>(user, { type: 'inbox' })).length >= expected(user))
      inbox[user] = await ask<Post[]>(user, { type: 'inbox' })
      for (const [room, names] of Object.entries(MEMBERS)) {
        const got = inbox[user].filter((p) => p.room === room).sort((x, y) => x.seq - y.seq)
        const want = names.includes(user) ? history[room]! : []
        const good = JSON.stringify(got) === JSON.stringify(want)
        if (want.length > 0 || !good) {
          log(
            `${user} got ${got.length}/${want.length} posts of ${room}${good ? ', once each' : ''}`,
          )
        }
        ok &&= good
      }
    }
    log(ok ? 'OK: every member got every post once; history survived the move' : 'FAILED')
    return { ok, leaving: leaving.name, moved, sent, history, inbox }
  } finally {
    // One at a time: a node that stops hands its rooms to the nodes still up.
    for (const node of nodes) await node.stop()
  }
}

/** The same strings, in any order. */
function same(a: string[], b: string[]): boolean {
  return JSON.stringify([...a].sort()) === JSON.stringify([...b].sort())
}

/** Polls `cond` every 10 ms; throws after `ms`. */
async function until(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; !(await cond()); await new Promise((r) => setTimeout(r, 10))) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms`)
  }
}

// Run directly (`node dist/main.js`), not when a test imports `main`.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = (await main()).ok ? 0 : 1
}
