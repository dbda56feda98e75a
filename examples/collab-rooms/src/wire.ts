// The y-websocket protocol as the connection processes speak it: messages to and from a client,
// read and written with lib0 encoding. A connection holds no Y.Doc, so the sync messages are
// built from bytes the room worker computed (state vectors and updates), not from a doc.
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'

/** y-websocket message types (the first varuint of a message). */
export const MessageType = { sync: 0, awareness: 1, auth: 2, queryAwareness: 3 } as const

/** y-protocols sync message types (the second varuint of a sync message). */
export const SyncType = { step1: 0, step2: 1, update: 2 } as const

/** A message from a client, read. */
export type ClientMessage =
  | { type: 'step1'; sv: Uint8Array }
  | { type: 'step2'; update: Uint8Array }
  | { type: 'update'; update: Uint8Array }
  | { type: 'awareness'; update: Uint8Array }
  | { type: 'query-awareness' }
  | { type: 'other'; code: number }

/** Reads one y-websocket message; throws on malformed bytes. */
export function readClientMessage(bytes: Uint8Array): ClientMessage {
  const dec = decoding.createDecoder(bytes)
  const type = decoding.readVarUint(dec)
  switch (type) {
    case MessageType.sync: {
      const sub = decoding.readVarUint(dec)
      const payload = decoding.readVarUint8Array(dec)
      if (sub === SyncType.step1) return { type: 'step1', sv: payload }
      if (sub === SyncType.step2) return { type: 'step2', update: payload }
      if (sub === SyncType.update) return { type: 'update', update: payload }
      return { type: 'other', code: sub }
    }
    case MessageType.awareness:
      return { type: 'awareness', update: decoding.readVarUint8Array(dec) }
    case MessageType.queryAwareness:
      return { type: 'query-awareness' }
    default:
      return { type: 'other', code: type }
  }
}

function syncMessage(sub: number, payload: Uint8Array): Uint8Array {
  const enc = encoding.createEncoder()
  encoding.writeVarUint(enc, MessageType.sync)
  encoding.writeVarUint(enc, sub)
  encoding.writeVarUint8Array(enc, payload)
  return encoding.toUint8Array(enc)
}

/** Sync step 1: the room's state vector; the client answers with step 2, what the room lacks. */
export const step1 = (sv: Uint8Array): Uint8Array => syncMessage(SyncType.step1, sv)
/** Sync step 2: what the client lacks; the client counts itself synced when it arrives. */
export const step2 = (update: Uint8Array): Uint8Array => syncMessage(SyncType.step2, update)
/** An update made elsewhere. */
export const updateMessage = (update: Uint8Array): Uint8Array =>
  syncMessage(SyncType.update, update)

export function awarenessMessage(update: Uint8Array): Uint8Array {
  const enc = encoding.createEncoder()
  encoding.writeVarUint(enc, MessageType.awareness)
  encoding.writeVarUint8Array(enc, update)
  return encoding.toUint8Array(enc)
}

export function queryAwarenessMessage(): Uint8Array {
  const enc = encoding.createEncoder()
  encoding.writeVarUint(enc, MessageType.queryAwareness)
  return encoding.toUint8Array(enc)
}

/** An update that changes nothing (what a fresh client sends as its step 2). */
export function isEmptyUpdate(update: Uint8Array): boolean {
  return update.length === 2 && update[0] === 0 && update[1] === 0
}

/**
 * The clients an awareness update speaks of, with their clocks, and whether it removes them
 * (the y-protocols layout: a count, then per client its id, clock and state as JSON).
 */
export function awarenessEntries(
  update: Uint8Array,
): Array<{ clientId: number; clock: number; removed: boolean }> {
  const dec = decoding.createDecoder(update)
  const n = decoding.readVarUint(dec)
  const out: Array<{ clientId: number; clock: number; removed: boolean }> = []
  for (let i = 0; i < n; i++) {
    const clientId = decoding.readVarUint(dec)
    const clock = decoding.readVarUint(dec)
    const removed = decoding.readVarString(dec) === 'null'
    out.push({ clientId, clock, removed })
  }
  return out
}

/** An awareness update that removes these clients (state `null`, one clock later). */
export function awarenessRemoval(clocks: Iterable<[clientId: number, clock: number]>): Uint8Array {
  const list = [...clocks]
  const enc = encoding.createEncoder()
  encoding.writeVarUint(enc, list.length)
  for (const [clientId, clock] of list) {
    encoding.writeVarUint(enc, clientId)
    encoding.writeVarUint(enc, clock + 1)
    encoding.writeVarString(enc, 'null')
  }
  return encoding.toUint8Array(enc)
}
