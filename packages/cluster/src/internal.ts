// `@swormjs/cluster/internal`: building blocks the registry and the supervisor share (replicated
// docs, the hybrid clock, the conflict winner rule). Not a public API: it may change in any release.
export { DocService } from './DocService.js'
export type { DocEvents } from './DocService.js'
export { ComponentDocs } from './ComponentDocs.js'
export type { ComponentDocsHandlers, ComponentDocsOptions } from './ComponentDocs.js'
export { HybridClock, clockMs } from './hlc.js'
export { MapCounts } from './MapCounts.js'
export { beats } from './winner.js'
export type { Contender } from './winner.js'
