// A small typed event emitter: listeners that throw are logged, never break the emitter. It
// follows Node's conventions where they fit (`on`, `once`, `off`, `removeListener`, a `signal`
// that removes a listener), so that `events.once(emitter, 'name')` works. One difference: `on`
// returns the function that removes the listener, not the emitter (the project's callers keep
// it); `once` and `off` return the emitter, as Node's do.

/** A listener of an event whose arguments are `A`. */
export type Listener<A extends unknown[]> = (...args: A) => void

/** Options of `on` and `once`. */
export interface ListenOptions {
  /** Removes the listener when it aborts (at once if it has aborted already). */
  readonly signal?: AbortSignal
}

/** A listener as stored: itself, or the wrapper `once` made around it. */
type Stored = ((...args: never[]) => void) & { listener?: unknown }

/**
 * A typed event emitter: `Events` maps each event name to its listeners' arguments. A listener
 * that throws is passed to `onError` and the others still run.
 */
export class Emitter<Events extends Record<string, unknown[]>> {
  private readonly onError: (e: unknown, event: string) => void
  private readonly listeners = new Map<keyof Events, Set<Stored>>()

  /** `onError` gets what a listener threw, and the event's name. */
  constructor(onError: (e: unknown, event: string) => void) {
    this.onError = onError
  }

  /** Adds a listener; returns the function that removes it. */
  on<K extends keyof Events>(
    event: K,
    listener: Listener<Events[K]>,
    options?: ListenOptions,
  ): () => void {
    return this.add(event, listener as unknown as Stored, options)
  }

  /** Adds a listener that is removed before its first call (or by `off`, or its signal). */
  once<K extends keyof Events>(
    event: K,
    listener: Listener<Events[K]>,
    options?: ListenOptions,
  ): this {
    const wrapper: Stored = Object.assign(
      (...args: never[]): void => {
        this.off(event, listener)
        ;(listener as unknown as (...a: never[]) => void)(...args)
      },
      { listener },
    )
    this.add(event, wrapper, options)
    return this
  }

  /** Removes `listener` (added with `on` or `once`) from `event`; nothing if it is not there. */
  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    const set = this.listeners.get(event)
    if (set === undefined) return this
    for (const l of set) {
      if (l === (listener as unknown) || l.listener === listener) {
        set.delete(l)
        break
      }
    }
    return this
  }

  /** `off`, by Node's other name for it. */
  removeListener<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    return this.off(event, listener)
  }

  /** The listeners of `event` now. */
  listenerCount(event: keyof Events): number {
    return this.listeners.get(event)?.size ?? 0
  }

  /** Calls every listener of `event` with `args`, in the order they were added. */
  emit<K extends keyof Events>(event: K, ...args: Events[K]): void {
    const set = this.listeners.get(event)
    if (set === undefined) return
    for (const l of [...set]) {
      try {
        ;(l as unknown as Listener<Events[K]>)(...args)
      } catch (e) {
        this.onError(e, String(event))
      }
    }
  }

  private add(event: keyof Events, l: Stored, options: ListenOptions | undefined): () => void {
    const signal = options?.signal
    if (signal?.aborted === true) return () => {}
    let set = this.listeners.get(event)
    if (set === undefined) {
      set = new Set()
      this.listeners.set(event, set)
    }
    set.add(l)
    const remove = (): void => {
      set.delete(l)
      signal?.removeEventListener('abort', remove)
    }
    signal?.addEventListener('abort', remove, { once: true })
    return remove
  }
}

/**
 * The listening side of an object with events (a node, a registry, a supervisor, a sworm): `on`,
 * `once`, `off` and `removeListener` over its `Emitter`, with Node's conventions (see `Emitter`),
 * so that Node's `events.once(node, 'nodeUp')` resolves with the event's arguments.
 */
export abstract class Listenable<Events extends Record<string, unknown[]>> {
  /** The emitter the object emits its events on. */
  protected abstract readonly events: Emitter<Events>

  /** Listens to `event`; returns the function that stops listening. */
  on<K extends keyof Events>(
    event: K,
    listener: (...args: Events[K]) => void,
    options?: ListenOptions,
  ): () => void {
    return this.events.on(event, listener, options)
  }

  /** Listens to the next `event` only. */
  once<K extends keyof Events>(
    event: K,
    listener: (...args: Events[K]) => void,
    options?: ListenOptions,
  ): this {
    this.events.once(event, listener, options)
    return this
  }

  /** Stops `listener` (added with `on` or `once`) listening to `event`. */
  off<K extends keyof Events>(event: K, listener: (...args: Events[K]) => void): this {
    this.events.off(event, listener)
    return this
  }

  /** `off`, by Node's other name for it. */
  removeListener<K extends keyof Events>(event: K, listener: (...args: Events[K]) => void): this {
    return this.off(event, listener)
  }
}
