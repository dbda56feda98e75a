// `Rooms.exec(name, fnName, args)`: a function of the sworm's `static functions` runs on the node
// that runs the name, given the name and its worker's pid (not its delegate's), from any node.
import { describe, expect, it } from 'vitest'
import { BadArgument, NotFound, nodeOf, type Pid } from '@swormjs/actor'
import { Actor, Sworm, type Name } from '@swormjs/sworm'
import { swormCluster } from './swormCluster.js'

/** Where each function ran: the node ids of the pids it was given. */
const ranWith: Array<{ name: Name; pid: Pid }> = []

class Room extends Actor {}

class Rooms extends Sworm {
  static override actors = { Room }
  static override functions = {
    who: (worker: { name: Name; pid: Pid }, args: unknown) => {
      ranWith.push(worker)
      return { ...worker, args }
    },
  }
}

describe('exec', () => {
  it('runs a registered function with the worker, on the node that runs the name', async () => {
    await using cluster = await swormCluster(3, [Rooms])
    const owner = Rooms.on(cluster.at(0))
    const names = ['a', 'b', 'c', 'd', 'e', 'f']
    for (const name of names) await owner.registerName(name, Room)
    for (const node of cluster.nodes) {
      for (const name of names) {
        const worker = owner.whereis(name)!
        ranWith.length = 0
        const out = await Rooms.on(node).exec<{ name: Name; pid: Pid; args: unknown }>(
          name,
          'who',
          { n: 1 },
        )
        expect(out).toEqual({ name, pid: worker, args: { n: 1 } })
        // It ran once, where the worker runs (the pid it got is the worker's, a local one).
        expect(ranWith).toEqual([{ name, pid: worker }])
        expect(Rooms.on(cluster.nodes.find((n) => n.id === nodeOf(worker))!).whereis(name)).toBe(
          worker,
        )
      }
    }
    await expect(owner.exec('a', 'nope')).rejects.toBeInstanceOf(BadArgument)
    await expect(owner.exec('nobody', 'who')).rejects.toBeInstanceOf(NotFound)
  })
})
