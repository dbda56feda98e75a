/**
 * The defaults of the cluster package, written once: the node options' (documented on
 * `NodeOptions`) and the fixed tunings of its parts. The layers above import them.
 */
export const nodeDefaults = {
  /** `NodeOptions.host`: the interface the node binds, loopback only. */
  host: '127.0.0.1',
  /** `NodeOptions.port`: 0 lets the OS pick a free port. */
  port: 0,
  /** `NodeOptions.cluster`: nodes of different clusters refuse each other. */
  cluster: 'sworm',
  /** `NodeOptions.heartbeatIntervalMs`: ms between heartbeats to each peer. */
  heartbeatIntervalMs: 1000,
  /** `NodeOptions.acceptableHeartbeatPauseMs`: ms a heartbeat may be late before it counts. */
  acceptableHeartbeatPauseMs: 3000,
  /** `NodeOptions.phiThreshold`: the suspicion (phi) at which a silent peer is unreachable. */
  phiThreshold: 8,
  /** `NodeOptions.minHeartbeatStdDeviationMs`: the least spread of heartbeat intervals, in ms. */
  minHeartbeatStdDeviationMs: 100,
  /** `NodeOptions.downAfterUnreachableMs`: ms a peer stays unreachable before it is down. */
  downAfterUnreachableMs: 5000,
  /** `NodeOptions.maxFrameBytes`: the largest websocket message, in bytes (64 MiB). */
  maxFrameBytes: 64 * 1024 * 1024,
  /** `NodeOptions.handshakeTimeoutMs`: ms a connection has to finish its handshake. */
  handshakeTimeoutMs: 5000,
  /** `NodeOptions.maxPendingConnections`: connections in their handshake at once. */
  maxPendingConnections: 64,
  /** `NodeOptions.reconnectMinMs`: the first reconnect delay, in ms. */
  reconnectMinMs: 100,
  /** `NodeOptions.reconnectMaxMs`: the longest reconnect delay, in ms. */
  reconnectMaxMs: 2000,
  /** `NodeOptions.refusedRetryMs`: ms to wait after a refused handshake before dialing again. */
  refusedRetryMs: 30_000,
  /** `/yjs/<doc>` is not served unless given its options (a token at least). */
  yjsEndpoint: false,
  /** Bounds of `/yjs/` clients (see `YjsEndpointOptions`). */
  yjs: {
    /** `/yjs/` clients at once; more get 503. */
    maxConnections: 64,
    /** A client that sends nothing for this many ms is closed. */
    idleTimeoutMs: 60_000,
    /** A larger message from a client, in bytes, closes it (64 KiB). */
    maxMessageBytes: 64 * 1024,
    /** A client whose send buffer holds more than this many bytes is closed (8 MiB). */
    maxBufferedBytes: 8 * 1024 * 1024,
  },
  /** `NodeOptions.stopTimeoutMs`: ms `stop()` gives each stop step and the final flush. */
  stopTimeoutMs: 10_000,
  /** `NodeOptions.minNodes`: nodes (this one included) up before the node is ready. */
  minNodes: 1,
  /** How often `ready()` looks again while it waits. */
  readyPollMs: 25,
  /** How often a node still waiting to be ready says so in its log. */
  readyLogMs: 10_000,
  /** How often the seeds' host names are resolved again (new addresses are dialed). */
  seedRefreshMs: 30_000,
  /** Heartbeat intervals each peer's detector remembers (Akka's and Cassandra's window). */
  heartbeatSamples: 1000,
  /** The reconnect delay stops doubling after this many failed attempts in a row. */
  maxReconnectDoublings: 20,
  /** Room kept for a frame's header: a remote message's payload may be `maxFrameBytes` less this. */
  frameHeadroomBytes: 1024,
  /**
   * A peer's batch of frames is sealed once it grows past this: no message is larger but for a
   * single big frame. Messages go to the socket one at a time, so a heartbeat, sent ahead of
   * them, waits for one at most.
   */
  softBatchBytes: 256 * 1024,
  /** Longest string a stranger chose (a name, a URL, a refusal's detail) that a log line keeps. */
  logStringChars: 64,
  /** A failed handshake is logged once per source address per this interval, then counted. */
  handshakeLogIntervalMs: 10_000,
  /** Source addresses the handshake log remembers before it forgets them all. */
  handshakeLogSources: 1024,
  /**
   * Doc updates and sync answers bigger than this are cut: into parts of about this size, each
   * a Yjs update of its own (a replica applies one per message), and a part still bigger (one
   * big value) into `DocChunk` frames of this size. 32 KiB: encoding or applying a part of
   * registry entries is then a step of a few ms even on a loaded 2-core machine (64 KiB parts took
   * 15-20 ms to encode there), so a heartbeat waits behind no more; per-message costs stay small
   * next to the apply (a 100,000 name doc, ~14 MB, is some 440 parts).
   */
  docChunkBytes: 32 * 1024,
  /**
   * Bytes of peers' messages handled in one event-loop turn; what else came waits, each peer's
   * in order, for the next turn (a heartbeat alone in its message never waits). One part of a
   * doc sync: so applying a big sync never makes a long step on the receiving side.
   */
  turnReadBytes: 64 * 1024,
  /** A peer's socket is not read while more than this of its messages wait to be handled. */
  inboxPauseBytes: 1024 * 1024,
  /** While a node stops, how often it looks whether a peer's socket has sent everything. */
  drainPollMs: 5,
  /**
   * `ComponentDocs`: forget the docs of a node down this long. Membership: forget a member heard
   * of through gossip and never reached in this long.
   */
  forgetAfterMs: 60_000,
  /**
   * Members a node knows of at most (itself not counted): gossip past it is ignored. The full
   * mesh is meant for tens of nodes (docs/INTERNALS.md, "What grows with the number of nodes"),
   * and a peer could otherwise have this node dial thousands of made-up members for ever.
   */
  maxMembers: 1000,
  /**
   * Replicas of one peer's docs a node holds at most: docs it announces past this are ignored
   * (logged once). A node owns two docs per sworm (three while compacting) and its
   * application's own; a peer could otherwise announce docs until this node runs out of memory.
   */
  maxDocsPerPeer: 10_000,
  /**
   * Monitors one peer may hold on this node's processes at once (a call holds one while it
   * waits): past it a new one fires at once with reason `system_limit`, as Erlang's limits do.
   */
  maxMonitorsPerPeer: 100_000,
  /**
   * Links one peer may make to this node's processes at once: past it the peer's process gets
   * an exit `system_limit` at once, as a link to a process that is gone gets `noproc`.
   */
  maxLinksPerPeer: 100_000,
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
