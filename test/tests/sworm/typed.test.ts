// The compiler checks what a sworm is given: `registerName`'s args against the worker's `init`,
// and a `ref`'s calls, casts and messages against its handlers, with the reply's type inferred.
// The lines marked @ts-expect-error fail the typecheck (`npm test`) if they ever compile; the
// expectTypeOf lines fail it if an inferred type changes. The run checks the handle works.
import { describe, expect, expectTypeOf, it } from 'vitest'
import { Actor, Sworm, type Pid, type SwormRef } from '@swormjs/sworm'
import { waitUntil } from '../../src/index.js'
import { swormCluster } from './swormCluster.js'

type CounterCall = 'inc' | 'get' | { readonly set: number }

class Counter extends Actor<{ start: number }> {
  n = 0
  override init(args: { start: number }): void {
    this.n = args.start
  }
  override handleCall(msg: CounterCall): number {
    if (msg === 'inc') return ++this.n
    if (typeof msg === 'object') this.n = msg.set
    return this.n
  }
  override handleCast(msg: { add: number }): void {
    this.n += msg.add
  }
  override handleInfo(msg: 'reset'): void {
    if (msg === 'reset') this.n = 0
  }
}

/** No init args; an async reply. */
class Echo extends Actor {
  override async handleCall(msg: string): Promise<string> {
    await Promise.resolve()
    return msg.toUpperCase()
  }
}

class Typed extends Sworm {
  static override actors = { Counter, Echo }
}

/** Never called: what it holds is checked by the compiler only. */
async function compileOnly(): Promise<void> {
  await Typed.registerName('c', Counter, { start: 1 })
  // @ts-expect-error init takes a number, not a string
  await Typed.registerName('c', Counter, { start: 'not-a-number' })
  // @ts-expect-error Counter's init needs its args
  await Typed.registerName('c', Counter)
  await Typed.registerName('e', Echo)
  // @ts-expect-error Echo's init takes none
  await Typed.registerName('e', Echo, { start: 1 })
  await Typed.whereisOrRegisterName('c', Counter, { start: 2 })
  // @ts-expect-error the same check
  await Typed.whereisOrRegisterName('c', Counter, { begin: 2 })
  await Typed.registerName('p', 'some-pid' as Pid)
  const { signal } = new AbortController()
  await Typed.registerName('c', Counter, { start: 1 }, { signal })
  await Typed.registerName('e', Echo, undefined, { signal })
  // @ts-expect-error the options come after the args
  await Typed.registerName('c', Counter, { signal })

  const counter = Typed.ref('c', Counter)
  expectTypeOf(counter).toEqualTypeOf<SwormRef<typeof Counter>>()
  expectTypeOf(counter.call('inc')).resolves.toEqualTypeOf<number>()
  expectTypeOf(counter.call({ set: 5 })).resolves.toEqualTypeOf<number>()
  // @ts-expect-error not a message Counter's handleCall takes
  await counter.call('dec')
  // @ts-expect-error the reply is a number
  const wrong: string = await counter.call('get')
  counter.cast({ add: 2 })
  // @ts-expect-error a cast Counter's handleCast does not take
  counter.cast('add')
  counter.send('reset')
  // @ts-expect-error a message Counter's handleInfo does not take
  counter.send('stop')
  expectTypeOf(Typed.ref('e', Echo).call('x')).resolves.toEqualTypeOf<string>()
  void wrong
}

describe('typed sworm calls', () => {
  it('calls, casts and sends through a typed handle, by name at each use', async () => {
    expect(typeof compileOnly).toBe('function')
    await using cluster = await swormCluster(2, [Typed])
    const rooms = Typed.on(cluster.at(0))
    await rooms.registerName('c', Counter, { start: 40 })
    const counter = rooms.ref('c', Counter)
    expect(counter.name).toBe('c')
    expect(counter.whereis()).toBe(rooms.whereis('c'))
    expect(await counter.call('inc')).toBe(41)
    counter.cast({ add: 2 })
    expect(await counter.call('get')).toBe(43)
    counter.send('reset')
    expect(await counter.call('get')).toBe(0)
    await rooms.registerName('e', Echo)
    expect(await rooms.ref('e', Echo).call('shout')).toBe('SHOUT')
    // From the other node, through the same name, once it has seen the registration.
    const other = Typed.on(cluster.at(1)).ref('c', Counter)
    await waitUntil(() => other.whereis() !== undefined, 5000, 'c seen on the other node')
    expect(await other.call({ set: 7 })).toBe(7)
  })
})
