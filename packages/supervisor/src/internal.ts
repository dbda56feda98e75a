// `@swormjs/supervisor/internal`: building blocks that tests and benchmarks of this repo use to
// compute placement on their own (rendezvous hashing). Not a public API: it may change in any release.
export { rendezvous, hash32 } from './hash.js'
