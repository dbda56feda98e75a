// The sworm instances of one node, by sworm name: one table per node, kept in the node's
// `runtime.services` under one key. It tells its listeners of every sworm that starts there.
import { Emitter } from '@swormjs/actor'
import type { Node } from '@swormjs/cluster'

const KEY = Symbol('sworm.instances')

export class InstanceTable<T extends { readonly name: string }> {
  private readonly byName = new Map<string, T>()
  private readonly events: Emitter<{ start: [instance: T] }>

  private constructor(node: Node) {
    this.events = new Emitter((e, ev) =>
      node.logger.error({ err: e, event: ev }, 'sworm table listener threw'),
    )
  }

  /** The table of `node`, made on first use. */
  static of<T extends { readonly name: string }>(node: Node): InstanceTable<T> {
    const services = node.runtime.services
    let table = services.get(KEY) as InstanceTable<T> | undefined
    if (table === undefined) {
      table = new InstanceTable<T>(node)
      services.set(KEY, table)
    }
    return table
  }

  get(name: string): T | undefined {
    return this.byName.get(name)
  }

  has(name: string): boolean {
    return this.byName.has(name)
  }

  all(): T[] {
    return [...this.byName.values()]
  }

  /** Adds a started instance and tells the listeners. */
  add(instance: T): void {
    this.byName.set(instance.name, instance)
    this.events.emit('start', instance)
  }

  /** Removes `instance` (if it is still the one under its name). */
  delete(instance: T): void {
    if (this.byName.get(instance.name) === instance) this.byName.delete(instance.name)
  }

  /** Listens to the instances that start from now on; returns the function that stops it. */
  onStart(listener: (instance: T) => void): () => void {
    return this.events.on('start', listener)
  }
}
