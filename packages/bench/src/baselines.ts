// The machine's own limits, measured in the same run as the figures compared with them: the same
// code for every suite. An absolute figure says little from one machine to the next (this one's
// speed drifts from run to run); a figure divided by the limit measured beside it does.
// - `map_get_ns`: a plain `Map.get` over 100,000 string keys in random order, by equal strings
//   made apart from the keys, timed the way `registry.whereis` is (median of ten rounds).
// - `ws_rtt_us`: a raw `ws` round trip on loopback to another process that echoes, 40 bytes.
// - `ws_msgs_per_s`: 40-byte messages packed 1,000 to a frame, over raw `ws` to another process
//   that reads every message, until it says it read them all.
// - `yjs_converge_ms`: 100,000 names set in a Yjs map (one transaction), the update encoded, sent
//   over raw `ws` and applied to a fresh doc in another process, until it says how many it holds.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { PeerOp, YJS_MAP, readCount, writeCount } from './child/wsPeerOps.js'
import {
  median,
  now,
  nsPerLookup,
  percentile,
  repeat,
  round,
  scaled,
  type RunOptions,
} from './measure.js'

/** The limits a figure can be compared with. */
export type BaselineName = 'map_get_ns' | 'ws_rtt_us' | 'ws_msgs_per_s' | 'yjs_converge_ms'

/** Every baseline, in the order a suite prints them. */
export const BASELINES: readonly BaselineName[] = [
  'map_get_ns',
  'ws_rtt_us',
  'ws_msgs_per_s',
  'yjs_converge_ms',
]

/** What a baseline measured: its median, unit, and the spread of its runs. */
export interface BaselineValue {
  readonly value: number
  readonly unit: string
  readonly runs: number
  readonly min: number
  readonly max: number
  /** How much work one run did (keys, round trips, messages, names). */
  readonly count: number
}

/** Full-size workloads; `RunOptions.scale` shrinks them. */
const MAP_KEYS = 100_000
const MAP_LOOKUPS = 1_000_000
const MAP_ROUNDS = 10
const RTT_ROUND_TRIPS = 5_000
const MSG_BYTES = 40
const MSGS_PER_FRAME = 1_000
const MSGS = 2_000_000
const YJS_NAMES = 100_000

/** The peer process, compiled; found from `dist` and from `src` (a test runs the suite from there). */
const PEER = new URL('../dist/child/wsPeer.js', import.meta.url)

/** Measures `name`: `options.runs` runs (after `options.warmup`), their median and spread. */
export async function measureBaseline(
  name: BaselineName,
  options: RunOptions,
): Promise<BaselineValue> {
  switch (name) {
    case 'map_get_ns':
      return mapGet(options)
    case 'ws_rtt_us':
      return withPeer((peer) => wsRtt(peer, options))
    case 'ws_msgs_per_s':
      return withPeer((peer) => wsMessages(peer, options))
    case 'yjs_converge_ms':
      return withPeer((peer) => yjsConverge(peer, options))
  }
}

function summed(samples: readonly number[], unit: string, count: number): BaselineValue {
  return {
    value: round(median(samples)),
    unit,
    runs: samples.length,
    min: round(Math.min(...samples)),
    max: round(Math.max(...samples)),
    count,
  }
}

async function mapGet(options: RunOptions): Promise<BaselineValue> {
  const count = scaled(MAP_KEYS, options.scale)
  const lookups = scaled(MAP_LOOKUPS, options.scale, 10_000)
  // The keys look like a registry's (`name:<i>`), and map to objects, as its entries do. The
  // lookups use equal strings made apart from the keys, as a lookup by a name that came in a
  // request does (and `registry.whereis` does): not the key objects themselves.
  const stored = Array.from({ length: count }, (_, i) => `name:${i}`)
  const map = new Map<string, { p: string }>()
  for (const k of stored) map.set(k, { p: `<0.${k.length}.0>` })
  const keys = Array.from({ length: count }, (_, i) => `name:${String(i)}`)
  const order = Uint32Array.from({ length: lookups }, () => Math.floor(Math.random() * count))
  const once = (): Promise<number> =>
    Promise.resolve(
      nsPerLookup(lookups, MAP_ROUNDS, (i) => map.get(keys[order[i]!]!) !== undefined),
    )
  const samples = await repeat(options, 'baseline.map_get_ns', once, (v) => `${round(v)} ns`)
  return summed(samples, 'ns', count)
}

/** A client connected to a fresh peer process. */
interface Peer {
  readonly ws: WebSocket
  /** Resolves with the next frame the peer sends. */
  next(): Promise<Buffer>
}

async function withPeer<T>(fn: (peer: Peer) => Promise<T>): Promise<T> {
  const path = fileURLToPath(PEER)
  if (!existsSync(path)) throw new Error(`${path} does not exist: build @swormjs/bench first`)
  const child = spawn(process.execPath, [path], { stdio: ['pipe', 'pipe', 'inherit'] })
  try {
    const port = await firstLine(child)
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false })
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve)
      ws.once('error', reject)
    })
    const waiting: Array<(b: Buffer) => void> = []
    ws.on('message', (data) => waiting.shift()?.(data as Buffer))
    const peer: Peer = {
      ws,
      next: () => new Promise<Buffer>((resolve) => waiting.push(resolve)),
    }
    try {
      return await fn(peer)
    } finally {
      ws.terminate()
    }
  } finally {
    child.kill('SIGKILL')
  }
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = ''
    child.stdout!.setEncoding('utf8')
    child.stdout!.on('data', (chunk: string) => {
      text += chunk
      const nl = text.indexOf('\n')
      if (nl >= 0) resolve(text.slice(0, nl).trim())
    })
    child.once('exit', (code) => reject(new Error(`the ws peer exited (${String(code)})`)))
    child.once('error', reject)
  })
}

async function wsRtt(peer: Peer, options: RunOptions): Promise<BaselineValue> {
  const count = scaled(RTT_ROUND_TRIPS, options.scale, 200)
  const frame = Buffer.alloc(MSG_BYTES)
  frame[0] = PeerOp.Echo
  const once = async (): Promise<number> => {
    const rtts: number[] = []
    for (let i = 0; i < count; i++) {
      const t0 = now()
      const back = peer.next()
      peer.ws.send(frame)
      await back
      rtts.push((now() - t0) * 1000)
    }
    rtts.sort((a, b) => a - b)
    return percentile(rtts, 50, true)
  }
  const samples = await repeat(options, 'baseline.ws_rtt_us', once, (v) => `${round(v)} µs`)
  return summed(samples, 'µs', count)
}

async function wsMessages(peer: Peer, options: RunOptions): Promise<BaselineValue> {
  const frames = Math.max(10, Math.round(scaled(MSGS, options.scale) / MSGS_PER_FRAME))
  const count = frames * MSGS_PER_FRAME
  const batch = Buffer.alloc(1 + MSG_BYTES * MSGS_PER_FRAME)
  batch[0] = PeerOp.Batch
  for (let i = 0; i < MSGS_PER_FRAME; i++) batch.writeUInt32LE(i, 1 + i * MSG_BYTES)
  const once = async (): Promise<number> => {
    const t0 = now()
    peer.ws.send(writeCount(PeerOp.Expect, count))
    const done = peer.next()
    // As a sender of many messages would: a frame at a time, yielding when the socket is full.
    for (let i = 0; i < frames; i++) {
      peer.ws.send(batch)
      if (peer.ws.bufferedAmount > 1 << 20) await drained(peer.ws)
    }
    const read = readCount(await done)
    if (read !== count) throw new Error(`the peer read ${read} of ${count} messages`)
    return (count * 1000) / (now() - t0)
  }
  const samples = await repeat(
    options,
    'baseline.ws_msgs_per_s',
    once,
    (v) => `${round(v)} messages/s`,
  )
  return summed(samples, 'messages/s', count)
}

function drained(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (ws.bufferedAmount < 1 << 18) resolve()
      else setImmediate(check)
    }
    check()
  })
}

async function yjsConverge(peer: Peer, options: RunOptions): Promise<BaselineValue> {
  const count = scaled(YJS_NAMES, options.scale)
  const keys = Array.from({ length: count }, (_, i) => `name:${i}`)
  const once = async (): Promise<number> => {
    const t0 = now()
    const doc = new Y.Doc()
    const names = doc.getMap<{ p: string; c: number }>(YJS_MAP)
    doc.transact(() => {
      for (let i = 0; i < count; i++) names.set(keys[i]!, { p: `<0.${i}.0>`, c: i })
    })
    const update = Y.encodeStateAsUpdate(doc)
    const frame = Buffer.alloc(1 + update.length)
    frame[0] = PeerOp.Yjs
    frame.set(update, 1)
    const done = peer.next()
    peer.ws.send(frame)
    const size = readCount(await done)
    if (size !== count) throw new Error(`the peer's doc holds ${size} of ${count} names`)
    doc.destroy()
    return now() - t0
  }
  const samples = await repeat(options, 'baseline.yjs_converge_ms', once, (v) => `${round(v)} ms`)
  return summed(samples, 'ms', count)
}
