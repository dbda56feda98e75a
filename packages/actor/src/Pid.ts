// Process and reference identifiers: branded strings with a stable printed form, so that they
// are cheap map keys and cross the wire as they are. A pid is `<node.serial>`, a ref `#node.serial`.
import { InvalidPid } from './errors.js'

declare const PidBrand: unique symbol
declare const RefBrand: unique symbol
declare const NodeIdBrand: unique symbol

/** The incarnation id of a node: a uuid made fresh at every start. */
export type NodeId = string & {
  /** Compile-time brand only: no such property exists at run time. */
  readonly [NodeIdBrand]: true
}
/** Names one process: its node incarnation and a serial. Printed as `<node.serial>`. */
export type Pid = string & {
  /** Compile-time brand only: no such property exists at run time. */
  readonly [PidBrand]: true
}
/** A unique reference (monitors, calls, timers). Printed as `#node.serial`. */
export type Ref = string & {
  /** Compile-time brand only: no such property exists at run time. */
  readonly [RefBrand]: true
}

/** Builds a pid from its parts. */
export function formatPid(node: NodeId, serial: number): Pid {
  return `<${node}.${serial}>` as Pid
}

/** True when `u` has the printed form of a pid. */
export function isPid(u: unknown): u is Pid {
  return (
    typeof u === 'string' &&
    u.length > 4 &&
    u.charCodeAt(0) === 60 /* < */ &&
    u.charCodeAt(u.length - 1) === 62 /* > */ &&
    u.lastIndexOf('.') > 1
  )
}

/** Splits a pid into its node and serial; throws `InvalidPid` for anything else. */
export function parsePid(s: string): {
  /** The node incarnation that made the pid. */
  node: NodeId
  /** The pid's serial within that node. */
  serial: number
} {
  if (!isPid(s)) throw new InvalidPid(s)
  const dot = s.lastIndexOf('.')
  const digits = s.slice(dot + 1, -1)
  // Only the canonical decimal form `formatPid` prints: no '', ' 1', '1e3', '0x10' or '01'.
  if (!/^(?:0|[1-9][0-9]*)$/.test(digits)) throw new InvalidPid(s)
  const serial = Number(digits)
  if (!Number.isSafeInteger(serial)) throw new InvalidPid(s)
  return { node: s.slice(1, dot) as NodeId, serial }
}

/** Checks that `s` is a pid and returns it typed as one; throws `InvalidPid` otherwise. */
export function toPid(s: string): Pid {
  parsePid(s)
  return s as Pid
}

/** The node part of a pid (no validation beyond the shape). */
export function nodeOf(pid: Pid): NodeId {
  return pid.slice(1, pid.lastIndexOf('.')) as NodeId
}

/**
 * The serial of a pid (the number after its node), read without making a string; throws
 * `InvalidPid` when what follows the last `.` is not digits.
 */
export function serialOf(pid: Pid): number {
  const n = serialIn(pid)
  if (n < 0) throw new InvalidPid(pid)
  return n
}

/**
 * The serial of `s` read as a pid's (the digits between its last `.` and the closing `>`), or -1
 * when `s` has no such digits. Nothing else of the shape is checked: the caller compares.
 */
export function serialIn(s: unknown): number {
  if (typeof s !== 'string') return -1
  let n = 0
  let scale = 1
  for (let i = s.length - 2; i > 0; i--) {
    const c = s.charCodeAt(i)
    if (c === 46 /* . */ && scale > 1) return n
    if (c < 48 || c > 57) break
    n += (c - 48) * scale
    scale *= 10
  }
  return -1
}

/** Builds a ref from its parts. */
export function formatRef(node: NodeId, serial: number): Ref {
  return `#${node}.${serial}` as Ref
}

/** True when `u` has the printed form of a ref. */
export function isRef(u: unknown): u is Ref {
  return typeof u === 'string' && u.charCodeAt(0) === 35 /* # */ && u.lastIndexOf('.') > 1
}

/** The node that made a ref (replies to a call go there). */
export function nodeOfRef(ref: Ref): NodeId {
  return ref.slice(1, ref.lastIndexOf('.')) as NodeId
}
