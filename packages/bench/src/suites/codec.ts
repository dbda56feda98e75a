// The payload codec, in this process: what encoding and decoding a typical message costs with
// the codec the nodes use (`encodeValue`/`decodeValue`: JSON for plain data, v8 for the rest),
// with Node's v8 serializer alone, with msgpackr (its record extension on, one Packr for both
// ends, as two nodes sharing structures would), and with JSON (binary as base64). One figure per
// codec: ns per message, encode plus decode, over a mix of four kinds of message, with each kind's
// time and size beside it. Nothing here crosses a socket; `cluster.cast` does.
import { isDeepStrictEqual } from 'node:util'
import * as v8 from 'node:v8'
import { Packr } from 'msgpackr'
import { decodeValue, encodeValue } from '@swormjs/cluster'
import type { Figure } from '../figure.js'
import {
  median,
  now,
  repeat,
  round,
  scaled,
  summarize,
  type Extra,
  type Measurement,
  type RunOptions,
  type Target,
} from '../measure.js'

/** Messages of each kind per run; `RunOptions.scale` shrinks it. */
const PER_KIND = 100_000

/** The kinds of message: what a call, a chat line, a sensor batch and a file chunk carry. */
const KINDS = {
  small: (i: number): unknown => ({ op: 'inc', by: 1, room: `room:${i % 1000}`, seq: i }),
  text: (i: number): unknown => ({
    op: 'say',
    from: `user:${i % 100}`,
    text: 'The quick brown fox jumps over the lazy dog. '.repeat(4) + String(i),
  }),
  numbers: (i: number): unknown => Array.from({ length: 100 }, (_, k) => (i + k) * 0.5),
  binary: (i: number): unknown => ({ chunk: i, bytes: new Uint8Array(1024).fill(i & 0xff) }),
} as const

type Kind = keyof typeof KINDS

/** A codec: bytes from a value, and the value back. */
interface Codec {
  encode(value: unknown): Uint8Array | string
  decode(bytes: Uint8Array | string): unknown
}

const packr = new Packr({ useRecords: true })

/** JSON with binary as base64, as a JSON wire would have to carry it. */
const jsonReplacer = (_key: string, v: unknown): unknown =>
  v instanceof Uint8Array ? { $b64: Buffer.from(v).toString('base64') } : v
const jsonReviver = (_key: string, v: unknown): unknown =>
  typeof v === 'object' && v !== null && '$b64' in v
    ? new Uint8Array(Buffer.from((v as { $b64: string }).$b64, 'base64'))
    : v

/** `v` with its binary as plain arrays: a codec may give a Buffer back for a Uint8Array. */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return Array.from(v)
  if (Array.isArray(v)) return v.map(plain)
  if (typeof v === 'object' && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]))
  }
  return v
}

const CODECS: Record<string, Codec> = {
  sworm: { encode: encodeValue, decode: (b) => decodeValue(b as Uint8Array) },
  v8: {
    encode: (v) => v8.serialize(v),
    decode: (b) => v8.deserialize(b as Uint8Array) as unknown,
  },
  msgpackr: {
    encode: (v) => packr.pack(v),
    decode: (b) => packr.unpack(b as Uint8Array) as unknown,
  },
  json: {
    encode: (v) => JSON.stringify(v, jsonReplacer),
    decode: (s) => JSON.parse(s as string, jsonReviver) as unknown,
  },
}

const target: Target = { op: '<=', value: 5000 }

/** One run: ns per message (encode and decode) and bytes, per kind. */
function runOnce(
  codec: Codec,
  messages: Record<Kind, unknown[]>,
): Record<Kind, { ns: number; bytes: number }> {
  const out = {} as Record<Kind, { ns: number; bytes: number }>
  for (const kind of Object.keys(KINDS) as Kind[]) {
    const values = messages[kind]
    let bytes = 0
    let sink = 0
    const t0 = now()
    for (const v of values) {
      const encoded = codec.encode(v)
      bytes += encoded.length
      const back = codec.decode(encoded)
      if (back !== undefined) sink++
    }
    const ms = now() - t0
    if (sink !== values.length) throw new Error(`${kind}: ${values.length - sink} values lost`)
    out[kind] = { ns: (ms * 1e6) / values.length, bytes: bytes / values.length }
  }
  return out
}

function codecFigure(name: string, codec: Codec): Figure {
  return {
    name: `codec_${name}`,
    description: `ns per message, encode and decode, with ${name === 'sworm' ? "the nodes' own codec (JSON for plain data, v8 for the rest)" : name}, the mean over four kinds (small object, text, 100 numbers, 1 KiB binary), ${PER_KIND} of each; each kind's ns and bytes beside (target <= ${target.value})`,
    run(options: RunOptions): Promise<Measurement> {
      const count = scaled(PER_KIND, options.scale, 1000)
      const messages = {} as Record<Kind, unknown[]>
      for (const kind of Object.keys(KINDS) as Kind[]) {
        messages[kind] = Array.from({ length: count }, (_, i) => KINDS[kind](i))
      }
      // Each value must come back equal before anything is timed.
      for (const kind of Object.keys(KINDS) as Kind[]) {
        const v = messages[kind][7]
        const back = codec.decode(codec.encode(v))
        if (!isDeepStrictEqual(plain(back), plain(v))) {
          throw new Error(`${name} does not carry a ${kind} message unchanged`)
        }
      }
      return repeat(
        options,
        `cluster.codec_${name}`,
        () => Promise.resolve(runOnce(codec, messages)),
        (r) =>
          (Object.keys(r) as Kind[])
            .map((k) => `${k} ${round(r[k].ns)} ns ${round(r[k].bytes)} B`)
            .join(', '),
      ).then((runs) => {
        const mean = (r: Record<Kind, { ns: number }>): number =>
          (Object.keys(r) as Kind[]).reduce((sum, k) => sum + r[k].ns, 0) / Object.keys(r).length
        const fields: Record<string, Extra> = {}
        for (const kind of Object.keys(KINDS) as Kind[]) {
          fields[`${kind}_ns`] = round(median(runs.map((r) => r[kind].ns)))
          fields[`${kind}_bytes`] = round(median(runs.map((r) => r[kind].bytes)))
        }
        return { ...summarize(runs.map(mean), 'ns', target), ...fields, count }
      })
    },
  }
}

/** The codec figures, one per codec, for the `cluster` suite. */
export const codecFigures: readonly Figure[] = Object.entries(CODECS).map(([name, codec]) =>
  codecFigure(name, codec),
)
