// A small typed event emitter: listeners that throw are logged, never break the emitter.

type Listener<A extends unknown[]> = (...args: A) => void

export class Emitter<Events extends Record<string, unknown[]>> {
  private readonly onError: (e: unknown, event: string) => void
  private readonly listeners = new Map<keyof Events, Set<(...args: never[]) => void>>()

  constructor(onError: (e: unknown, event: string) => void) {
    this.onError = onError
  }

  /** Adds a listener; returns the function that removes it. */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    let set = this.listeners.get(event)
    if (set === undefined) {
      set = new Set()
      this.listeners.set(event, set)
    }
    const l = listener as unknown as (...args: never[]) => void
    set.add(l)
    return () => set.delete(l)
  }

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
}
