// Events follow Node's conventions: `on`, `once`, `off`/`removeListener` and a `signal`, so that
// Node's own `events.once` works on any object with events.
import { once, type EventEmitter } from 'node:events'
import { describe, expect, it } from 'vitest'
import { Emitter, Listenable } from '../src/index.js'

interface Ev extends Record<string, unknown[]> {
  up: [id: string, n: number]
  down: [id: string]
}

class Thing extends Listenable<Ev> {
  protected readonly events = new Emitter<Ev>(() => undefined)
  fire<K extends keyof Ev>(event: K, ...args: Ev[K]): void {
    this.events.emit(event, ...args)
  }
}

describe('events', () => {
  it('calls a once listener once, and off removes on and once listeners alike', () => {
    const thing = new Thing()
    const seen: string[] = []
    const onUp = (id: string): void => void seen.push(`on ${id}`)
    const onceUp = (id: string): void => void seen.push(`once ${id}`)
    thing.on('up', onUp)
    expect(thing.once('up', onceUp)).toBe(thing)
    thing.fire('up', 'a', 1)
    thing.fire('up', 'b', 2)
    expect(seen).toEqual(['on a', 'once a', 'on b'])
    thing.once('up', onceUp)
    thing.off('up', onUp).removeListener('up', onceUp)
    thing.fire('up', 'c', 3)
    expect(seen).toEqual(['on a', 'once a', 'on b'])
  })

  it('removes a listener when its signal aborts, and adds none for an aborted signal', () => {
    const thing = new Thing()
    const seen: string[] = []
    const ac = new AbortController()
    thing.on('down', (id) => seen.push(id), { signal: ac.signal })
    thing.fire('down', 'x')
    ac.abort()
    thing.fire('down', 'y')
    thing.once('down', (id) => seen.push(`late ${id}`), { signal: ac.signal })
    thing.fire('down', 'z')
    expect(seen).toEqual(['x'])
  })

  it("works with Node's events.once, its arguments as an array", async () => {
    const thing = new Thing()
    const next = once(thing as unknown as EventEmitter, 'up')
    thing.fire('up', 'a', 7)
    expect(await next).toEqual(['a', 7])
    // And is cancelled by its signal, leaving no listener behind.
    const ac = new AbortController()
    const never = once(thing as unknown as EventEmitter, 'down', { signal: ac.signal })
    ac.abort()
    await expect(never).rejects.toMatchObject({ name: 'AbortError' })
    thing.fire('down', 'd')
  })

  it('keeps emitting to the others when a listener throws', () => {
    const errors: unknown[] = []
    const emitter = new Emitter<Ev>((e) => errors.push(e))
    const seen: string[] = []
    emitter.on('down', () => {
      throw new Error('boom')
    })
    emitter.on('down', (id) => seen.push(id))
    emitter.emit('down', 'a')
    expect(seen).toEqual(['a'])
    expect(errors).toHaveLength(1)
    expect(emitter.listenerCount('down')).toBe(2)
  })
})
