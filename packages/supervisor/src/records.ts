// The shapes a child takes: the spec a caller gives, the normalised record that travels between
// nodes, and the entry in its node's doc.
import { BadArgument, type Pid, type RestartPolicy } from '@swormjs/actor'

/** What `startChild` takes. The id is stable and given by the caller (for sworms, the name). */
export interface ChildSpec {
  /** The child's id, unique across the cluster: it also decides where the child goes. */
  id: string
  /** The actor type, by the stable name every node registered it under (`actors`). */
  type: string
  /** Must be serialisable: it travels to the node that runs the child. */
  args?: unknown
  /** Default `permanent`. */
  restart?: RestartPolicy
  /** Default: the supervisor's `shutdownMs`. */
  shutdownMs?: number
}

/** A spec with every field set. */
export interface ChildRecord {
  id: string
  type: string
  args: unknown
  restart: RestartPolicy
  shutdownMs: number
}

/** A running child in its node's doc: type, args, restart, shutdown, start clock, pid. */
export interface DocChild {
  t: string
  a: unknown
  r: RestartPolicy
  s: number
  c: number
  p: Pid
}

export function normalize(spec: ChildSpec, defaultShutdownMs: number): ChildRecord {
  if (typeof spec !== 'object' || spec === null)
    throw new BadArgument('a child spec must be an object')
  if (typeof spec.id !== 'string' || spec.id === '')
    throw new BadArgument('a child spec needs a string id')
  if (typeof spec.type !== 'string' || spec.type === '') {
    throw new BadArgument(`child ${spec.id} needs an actor type name`)
  }
  const restart = spec.restart ?? 'permanent'
  if (restart !== 'permanent' && restart !== 'transient' && restart !== 'temporary') {
    throw new BadArgument(`child ${spec.id}: restart must be permanent, transient or temporary`)
  }
  const shutdownMs = spec.shutdownMs ?? defaultShutdownMs
  if (!(typeof shutdownMs === 'number' && shutdownMs >= 0)) {
    throw new BadArgument(`child ${spec.id}: shutdownMs must be a number ≥ 0`)
  }
  return { id: spec.id, type: spec.type, args: spec.args, restart, shutdownMs }
}

export function fromDoc(id: string, c: DocChild): ChildRecord {
  return { id, type: c.t, args: c.a, restart: c.r, shutdownMs: c.s }
}

/** How a child comes to start on a node: moved or adopted `from` a node, with its start clock and handed-over state. */
export interface StartOptions {
  clock?: number
  handoff?: unknown
  from?: string
  /** Adopted: `from` went down (its `init` gets `start.adopted`). */
  adopted?: boolean
}

/** A started child: its pid, and what its `init` returned (see `Runtime.startWithInfo`). */
export interface Started {
  /** The started child's process. */
  pid: Pid
  /** What its `init` returned. */
  info: unknown
}
