import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { NodeId, Pid } from '@swormjs/actor'
import { encodeName } from '../src/names.js'
import { Replicas } from '../src/Replicas.js'
import type { LiveValue } from '../src/types.js'

const A = 'a@127.0.0.1:4000#1' as NodeId
const B = 'b@127.0.0.1:4001#1' as NodeId

/** Replicas of node A following its own doc and B's, with B's liveness and A's events in hand. */
function twoNodes(): {
  replicas: Replicas
  up: Set<NodeId>
  docA: Y.Doc
  docB: Y.Doc
  registered: Array<[unknown, Pid, unknown]>
  lost: Array<[string, Pid, Pid]>
} {
  const up = new Set<NodeId>()
  const registered: Array<[unknown, Pid, unknown]> = []
  const lost: Array<[string, Pid, Pid]> = []
  const replicas = new Replicas({
    self: A,
    isUp: (n) => up.has(n),
    events: {
      emit: (event: string, ...args: unknown[]) => {
        if (event === 'register') registered.push(args as [unknown, Pid, unknown])
        return true
      },
    } as never,
    observe: () => {},
    applyMember: () => {},
    lost: (key, loser, winner) => lost.push([key, loser, winner]),
  })
  const docA = new Y.Doc()
  const docB = new Y.Doc()
  replicas.attach(A, docA)
  replicas.attach(B, docB)
  return { replicas, up, docA, docB, registered, lost }
}

describe('Replicas.claimed (a name this node just registered)', () => {
  it('wins at once and tells its meta, where nobody else holds the name', () => {
    const { replicas, docA, registered, lost } = twoNodes()
    const key = encodeName('room:1')
    const value: LiveValue = { p: '<a@127.0.0.1:4000#1.7>' as Pid, c: 5, m: { topic: 'tea' } }
    docA.getMap('names').set(key, value)
    replicas.claimed(key, value)
    expect(replicas.winner(key)).toBe(value.p)
    expect(registered).toEqual([['room:1', value.p, { topic: 'tea' }]])
    expect(lost).toEqual([])
  })

  it('loses to an earlier registration of a node that came back, before that node’s names are all read again', () => {
    const { replicas, up, docA, docB, lost } = twoNodes()
    // B holds many names while it is down; once it is back they are read again in time slices,
    // so the last of them is still unread when this node registers it.
    const count = 100_000
    const names = docB.getMap('names')
    docB.transact(() => {
      for (let i = 0; i < count; i++) {
        names.set(encodeName(`room:${i}`), { p: `<b@127.0.0.1:4001#1.${i}>`, c: 1 })
      }
    })
    up.add(B)
    replicas.nodeUp(B)
    const key = encodeName(`room:${count - 1}`)
    const mine: LiveValue = { p: '<a@127.0.0.1:4000#1.9>' as Pid, c: 2 }
    expect(replicas.winner(key)).toBeUndefined()
    docA.getMap('names').set(key, mine)
    replicas.claimed(key, mine)
    // B's registration is the earlier one: it holds the name, and this node's copy lost.
    expect(replicas.winner(key)).toBe(`<b@127.0.0.1:4001#1.${count - 1}>`)
    expect(lost).toEqual([[key, mine.p, `<b@127.0.0.1:4001#1.${count - 1}>`]])
  })
})
