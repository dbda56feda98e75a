// The defaults of the cluster package, written once: the node options' (documented on
// `NodeOptions`) and the fixed tunings of its parts. The layers above import them.

export const nodeDefaults = {
  host: '127.0.0.1',
  port: 0,
  cluster: 'sworm',
  heartbeatIntervalMs: 1000,
  acceptableHeartbeatPauseMs: 3000,
  phiThreshold: 8,
  minHeartbeatStdDeviationMs: 100,
  downAfterUnreachableMs: 5000,
  maxFrameBytes: 64 * 1024 * 1024,
  handshakeTimeoutMs: 5000,
  maxPendingConnections: 64,
  reconnectMinMs: 100,
  reconnectMaxMs: 2000,
  refusedRetryMs: 30_000,
  yjsEndpoint: true,
  stopTimeoutMs: 10_000,
  /** How often the seeds' host names are resolved again (new addresses are dialed). */
  seedRefreshMs: 30_000,
  /** Heartbeat intervals each peer's detector remembers (Akka's and Cassandra's window). */
  heartbeatSamples: 1000,
  /** The reconnect delay stops doubling after this many failed attempts in a row. */
  maxReconnectDoublings: 20,
  /** Room kept for a frame's header: a remote message's payload may be `maxFrameBytes` less this. */
  frameHeadroomBytes: 1024,
  /** A peer's batch of frames is sent early once it grows past this. */
  softBatchBytes: 256 * 1024,
  /** While a node stops, how often it looks whether a peer's socket has sent everything. */
  drainPollMs: 5,
  /** `ComponentDocs`: forget the docs of a node down this long. */
  forgetAfterMs: 60_000,
  /**
   * Up to this many updates of one doc in one turn are merged with `Y.mergeUpdates`; past it
   * the change is sent as the diff since the last flush (merging is quadratic).
   */
  maxMergedUpdates: 32,
  /**
   * `ComponentDocs.compactInSteps` copies this many entries into the new generation per step:
   * one transaction and one turn each. Counted, not timed: the update a step emits is encoded
   * after it, and every replica decodes and applies it at some ten times the cost of the
   * writes (10,000 registry entries: ~25 ms to write, ~400 ms to apply), and a replica may get
   * the steps of two docs (a sworm's registry and supervisor) in one message; 250 keep that to
   * a few ms each.
   */
  compactStepEntries: 250,
} as const
