// Node options: a typo, a wrong type, a bad seed or impossible heartbeats fail `startNode` with
// BadConfig naming what is wrong (and leave nothing listening); seed host names go through
// `resolveHost`, and every address it returns is dialed.
import { describe, expect, it } from 'vitest'
import { silentLogger } from '@swormjs/actor'
import { FaultProxy, TEST_COOKIE, waitUntil } from '../../src/index.js'
import { BadConfig, startNode, type NodeOptions } from '@swormjs/cluster'

const base: NodeOptions = { cookie: TEST_COOKIE, logger: silentLogger }

/** Listening TCP servers of this OS process, to show a failed start leaves none behind. */
const listening = (): number =>
  process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length

/** Expects `startNode(options)` to reject with BadConfig whose message matches `pattern`. */
async function expectBadConfig(options: unknown, pattern: RegExp): Promise<void> {
  const before = listening()
  let error: unknown
  try {
    const node = await startNode(options as NodeOptions)
    await node.stop()
  } catch (e) {
    error = e
  }
  expect(BadConfig.is(error), `BadConfig for ${String(pattern)}, got ${String(error)}`).toBe(true)
  expect((error as Error).message).toMatch(pattern)
  expect(listening()).toBe(before)
}

describe('node options', () => {
  it('rejects an unknown option, naming it', async () => {
    await expectBadConfig({ ...base, heartbeatIntervalMS: 100 }, /'heartbeatIntervalMS'/)
    await expectBadConfig({ ...base, seed: ['ws://127.0.0.1:1'] }, /unknown node option 'seed'/)
  })

  it('rejects an option named like a method of Object as unknown', async () => {
    await expectBadConfig({ ...base, toString: 'x' }, /unknown node option 'toString'/)
    await expectBadConfig({ ...base, constructor: 'x' }, /unknown node option 'constructor'/)
  })

  it('rejects an option of the wrong type, naming it', async () => {
    await expectBadConfig({ ...base, heartbeatIntervalMs: '1000' }, /'heartbeatIntervalMs'.*number/)
    await expectBadConfig({ ...base, seeds: 'ws://127.0.0.1:1' }, /'seeds'.*array/)
    await expectBadConfig({ ...base, cookie: 42 }, /'cookie'.*string/)
    await expectBadConfig({ ...base, port: -1 }, /'port'/)
    await expectBadConfig({ ...base, reconnectMinMs: Number.NaN }, /'reconnectMinMs'/)
  })

  it('rejects a seed that is not a ws:// or wss:// URL', async () => {
    for (const seed of [
      'http://127.0.0.1:4000',
      '127.0.0.1:4000',
      'ws://',
      'ws://bad host:4000',
      'ws://127.0.0.1:99999',
    ]) {
      await expectBadConfig({ ...base, seeds: [seed] }, /seed/)
    }
  })

  it('rejects a heartbeat timeout that is not longer than the interval', async () => {
    await expectBadConfig(
      { ...base, heartbeatIntervalMs: 500, heartbeatTimeoutMs: 500 },
      /heartbeatTimeoutMs/,
    )
    // Against the default interval (1000) too.
    await expectBadConfig({ ...base, heartbeatTimeoutMs: 800 }, /heartbeatTimeoutMs/)
    // A lone interval is checked against the default of what replaced the timeout.
    await expectBadConfig({ ...base, heartbeatIntervalMs: 5000 }, /acceptableHeartbeatPauseMs/)
  })

  it('rejects failure detection that cannot work, naming the key', async () => {
    await expectBadConfig(
      { ...base, acceptableHeartbeatPauseMs: 500 },
      /acceptableHeartbeatPauseMs \(500\) must be at least heartbeatIntervalMs \(1000\)/,
    )
    await expectBadConfig(
      { ...base, heartbeatIntervalMs: 200, acceptableHeartbeatPauseMs: 100 },
      /acceptableHeartbeatPauseMs/,
    )
    await expectBadConfig(
      { ...base, heartbeatIntervalMs: 0 },
      /'heartbeatIntervalMs'.*larger than 0/,
    )
    await expectBadConfig({ ...base, phiThreshold: 0 }, /'phiThreshold'.*larger than 0/)
    await expectBadConfig({ ...base, phiThreshold: '8' }, /'phiThreshold'.*number/)
    await expectBadConfig(
      { ...base, minHeartbeatStdDeviationMs: 0 },
      /'minHeartbeatStdDeviationMs'.*larger than 0/,
    )
    await expectBadConfig({ ...base, downAfterUnreachableMs: -1 }, /'downAfterUnreachableMs'/)
    // The deprecated timeout stands for the options that replace it: not both.
    await expectBadConfig(
      { ...base, heartbeatTimeoutMs: 3000, downAfterUnreachableMs: 5000 },
      /'heartbeatTimeoutMs'.*'downAfterUnreachableMs'/,
    )
  })

  it('dials a seed host name at the address resolveHost gives', async () => {
    await using a = await startNode({ ...base, name: 'a' })
    const asked: string[] = []
    await using b = await startNode({
      ...base,
      name: 'b',
      // `seed.test` exists nowhere (RFC 2606): only the injected resolver can find it.
      seeds: [`ws://seed.test:${a.port}`],
      resolveHost: async (host) => {
        asked.push(host)
        return ['127.0.0.1']
      },
    })
    await waitUntil(() => b.isUp(a.id) && a.isUp(b.id), 5000, 'b to join a through seed.test')
    expect(asked).toContain('seed.test')
  })

  it('dials every address a seed host name resolves to', async () => {
    // Two nodes cannot share a port on 127.0.0.1, and no other address may be used. So the
    // resolver answers with two addresses from TEST-NET-1 (RFC 5737), and `rewriteUrl` routes
    // each to a FaultProxy in front of one node: what is checked is that the joining node dials
    // both resolved addresses (each proxy sees a connection) and reaches both nodes, which do
    // not know each other. Nothing ever connects to 192.0.2.x: `rewriteUrl` maps every URL.
    await using a = await startNode({ ...base, name: 'a' })
    await using c = await startNode({ ...base, name: 'c' })
    await using toA = await FaultProxy.start({ target: { port: a.port } })
    await using toC = await FaultProxy.start({ target: { port: c.port } })
    await using nowhere = await FaultProxy.start({ target: { port: 9 }, mode: 'close' })
    const routes = new Map([
      ['ws://192.0.2.1:4000', toA.wsUrl],
      ['ws://192.0.2.2:4000', toC.wsUrl],
      [a.url, a.url],
      [c.url, c.url],
    ])
    await using b = await startNode({
      ...base,
      name: 'b',
      seeds: ['ws://cluster.test:4000'],
      resolveHost: async () => ['192.0.2.1', '192.0.2.2'],
      rewriteUrl: (u) => routes.get(u) ?? nowhere.wsUrl,
    })
    await waitUntil(() => b.isUp(a.id) && b.isUp(c.id), 5000, 'b to reach both addresses')
    expect(toA.stats().accepted).toBeGreaterThanOrEqual(1)
    expect(toC.stats().accepted).toBeGreaterThanOrEqual(1)
    // And gossip from b then joins a and c.
    await waitUntil(() => a.isUp(c.id) && c.isUp(a.id), 5000, 'a and c to meet')
  })
})
