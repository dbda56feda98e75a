// The far end of the baselines: a bare `ws` server in its own process on 127.0.0.1, with none of
// Sworm's code. It prints its port on the first line of stdout, then answers one client:
// - `Echo` frames come back as they are (the round trip of `baseline.ws_rtt_us`);
// - `Expect n` announces n messages, then `Batch` frames of 40-byte messages are read one message
//   at a time, and `Done` goes back once n were read (`baseline.ws_msgs_per_s`);
// - a `Yjs` frame is a Yjs update: applied to a fresh doc, whose map's size goes back
//   (`baseline.yjs_converge_ms`).
import { WebSocketServer, type RawData } from 'ws'
import * as Y from 'yjs'
import { PeerOp, YJS_MAP, readCount, writeCount } from './wsPeerOps.js'

const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false })
server.on('listening', () => {
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('the server has no port')
  process.stdout.write(`${address.port}\n`)
})

server.on('connection', (ws) => {
  let expected = 0
  let read = 0
  let checksum = 0
  ws.on('message', (data: RawData) => {
    const bytes = data as Buffer
    const op: number = bytes[0] ?? 0
    switch (op) {
      case PeerOp.Echo:
        ws.send(bytes)
        return
      case PeerOp.Expect:
        expected = readCount(bytes)
        read = 0
        return
      case PeerOp.Batch: {
        // Each 40-byte message is looked at, as a receiver would: its first four bytes.
        for (let at = 1; at + 40 <= bytes.length; at += 40) {
          checksum = (checksum + bytes.readUInt32LE(at)) | 0
          read++
        }
        if (read >= expected) ws.send(writeCount(PeerOp.Done, read))
        return
      }
      case PeerOp.Yjs: {
        const doc = new Y.Doc()
        Y.applyUpdate(doc, bytes.subarray(1))
        ws.send(writeCount(PeerOp.Done, doc.getMap(YJS_MAP).size))
        doc.destroy()
        return
      }
      default:
        ws.close(1003, `unknown op ${op} (checksum ${checksum})`)
    }
  })
})

process.on('SIGTERM', () => server.close(() => process.exit(0)))
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
