// The cluster across real OS processes: mesh by gossip, remote calls, monitors and links, a
// kill -9, and a node with the wrong cookie. Links cut by a proxy: cluster.partition.multiprocess.
import { afterAll, describe, expect, it } from 'vitest'
import {
  FaultProxy,
  TEST_COOKIE,
  killAllChildren,
  spawnNode,
  type ChildNode,
} from '../src/index.js'
import {
  SLOW_MS,
  at,
  clusterNodeScript,
  info,
  nodeDownOf,
  peerIds,
  seededCluster,
} from './clusterProcesses.js'

/** The promise of failure detection: a node whose process died is down everywhere within 1 s. */
const KILL_DETECTION_MS = 1000

afterAll(killAllChildren)

/**
 * Waits until every frame `from` sent to the node of `pidOnTarget` before this call has arrived:
 * a call travels on the same connection, after the link or monitor frames, so its reply says so.
 */
async function barrier(from: ChildNode, pidOnTarget: string): Promise<void> {
  expect(await from.request({ op: 'call', pid: pidOnTarget, msg: 'barrier' })).toEqual({
    echo: 'barrier',
  })
}

describe('cluster across processes', () => {
  it('forms a full mesh of three processes from one seed', { timeout: 60_000 }, async () => {
    await using cluster = await seededCluster(['A', 'B', 'C'])
    const [a, b, c] = cluster.nodes
    const [ia, ib, ic] = cluster.infos
    expect(await peerIds(a!)).toEqual([ib!.id, ic!.id].sort())
    expect(await peerIds(b!)).toEqual([ia!.id, ic!.id].sort())
    // C was only given A: it learnt B from A's member list.
    expect(await peerIds(c!)).toEqual([ia!.id, ib!.id].sort())
    expect(c!.events.some((e) => e.event === 'nodeUp' && e.id === ib!.id)).toBe(true)
  })

  it('calls, monitors and links processes on another node', { timeout: 60_000 }, async () => {
    await using cluster = await seededCluster(['A', 'B'])
    const [a, b] = cluster.nodes

    const echo = (await a!.request({ op: 'spawnEcho' })) as string
    expect(await b!.request({ op: 'call', pid: echo, msg: { hello: [1, 'two'] } })).toEqual({
      echo: { hello: [1, 'two'] },
    })
    expect(await b!.request({ op: 'cast', pid: echo, count: 3 })).toBe(3)
    expect(await b!.request({ op: 'call', pid: echo, msg: { op: 'count' } })).toBe(3)

    await b!.request({ op: 'watch', pid: echo })
    await barrier(b!, echo)
    await a!.request({ op: 'kill', pid: echo })
    const down = await b!.waitForEvent((e) => e.event === 'DOWN' && e.pid === echo, SLOW_MS)
    expect(down['reason']).toBe(JSON.stringify('killed'))

    const linked = (await a!.request({ op: 'spawnEcho' })) as string
    await b!.request({ op: 'watch', pid: linked, link: true })
    await barrier(b!, linked)
    await a!.request({ op: 'kill', pid: linked })
    const exit = await b!.waitForEvent((e) => e.event === 'EXIT' && e.from === linked, SLOW_MS)
    expect(exit['reason']).toBe(JSON.stringify('killed'))
  })

  it(
    'marks a kill -9ed node down within 1 s and fires monitors and links with noconnection',
    { timeout: 60_000 },
    async () => {
      await using cluster = await seededCluster(['A', 'B', 'C'])
      const [a, b, c] = cluster.nodes
      const [ia, ib, ic] = cluster.infos
      const victim = (await c!.request({ op: 'spawnEcho' })) as string
      await a!.request({ op: 'watch', pid: victim })
      await b!.request({ op: 'watch', pid: victim, link: true })
      await barrier(a!, victim)
      await barrier(b!, victim)

      const killedAt = Date.now()
      await c!.kill9()
      const [downA, downB, monitorDown, linkExit] = await Promise.all([
        nodeDownOf(a!, ic!.id),
        nodeDownOf(b!, ic!.id),
        a!.waitForEvent((e) => e.event === 'DOWN' && e.pid === victim, SLOW_MS),
        b!.waitForEvent((e) => e.event === 'EXIT' && e.from === victim, SLOW_MS),
      ])
      const delays = [downA, downB, monitorDown, linkExit].map((e) => at(e) - killedAt)
      console.info(`kill -9 → nodeDown A ${delays[0]} ms, B ${delays[1]} ms`)
      for (const delay of delays) expect(delay).toBeLessThanOrEqual(KILL_DETECTION_MS)
      expect(downA['reason']).toBe('closed')
      expect(monitorDown['reason']).toBe(JSON.stringify('noconnection'))
      expect(linkExit['reason']).toBe(JSON.stringify('noconnection'))
      expect(await peerIds(a!)).toEqual([ib!.id])
      expect(await peerIds(b!)).toEqual([ia!.id])
    },
  )

  it(
    'refuses a node with another cookie, logs it on both sides, and does not redial in a loop',
    { timeout: 60_000 },
    async () => {
      await using good = spawnNode({
        script: clusterNodeScript,
        name: 'good',
        env: { NODE_NAME: 'good', SWORM_COOKIE: TEST_COOKIE },
        readyTimeoutMs: SLOW_MS,
      })
      const goodInfo = await info(good)
      await using proxy = await FaultProxy.start({ target: { port: goodInfo.port } })
      await using intruder = spawnNode({
        script: clusterNodeScript,
        name: 'intruder',
        env: {
          NODE_NAME: 'intruder',
          SWORM_COOKIE: 'another-cookie-entirely',
          SEEDS: JSON.stringify([proxy.wsUrl]),
        },
        readyTimeoutMs: SLOW_MS,
      })
      await intruder.ready

      const refusal = (node: ChildNode, peer: string): Record<string, unknown> | undefined =>
        node.stderr
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line) as Record<string, unknown>)
          .find(
            (l) =>
              l['level'] === 'error' &&
              l['reason'] === 'cookie' &&
              /cookie/.test(String(l['msg'])) &&
              (l['peer'] === peer || String(l['msg']).includes(peer)),
          )
      const deadline = Date.now() + SLOW_MS
      while (refusal(good, 'intruder') === undefined || refusal(intruder, 'good') === undefined) {
        if (Date.now() > deadline) {
          throw new Error(
            `no refusal logged\n--- good ---\n${good.stderr}\n--- intruder ---\n${intruder.stderr}`,
          )
        }
        await new Promise((r) => setTimeout(r, 20))
      }
      expect(refusal(good, 'intruder')!['msg']).toMatch(/cookie mismatch/)
      expect(refusal(intruder, 'good')!['msg']).toMatch(/cookie mismatch/)

      // Watch the link for a while: a refused dialer waits refusedRetryMs (30 s) before trying again.
      const observeFrom = Date.now()
      while (Date.now() - observeFrom < 2000) await new Promise((r) => setTimeout(r, 100))
      expect(proxy.stats().accepted).toBeLessThanOrEqual(2)
      expect(await peerIds(good)).toEqual([])
      expect(await peerIds(intruder)).toEqual([])
      expect(good.events.some((e) => e.event === 'nodeUp')).toBe(false)
      expect(intruder.events.some((e) => e.event === 'nodeUp')).toBe(false)
    },
  )
})
