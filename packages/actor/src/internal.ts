// `@sworm/actor/internal`: what the layers above this repository need from the runtime's inside
// (today the dispatch hook a sworm worker extends). Not a public API: it may change in any release.
export {
  /** The method an actor's mailbox dispatch runs under: a subclass overrides it to see messages first. */
  kReceive,
} from './Process.js'
