// Who gets the observer page: nobody while it is off; with it on, only requests carrying the
// token (query, cookie or bearer header). Bad options fail at once with BadArgument.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { BadArgument } from '@swormjs/actor'
import type { Node } from '@swormjs/cluster'
import { observe, type ObserveOptions, type ObserverState } from '../src/index.js'
import { get, startCluster, stopAll } from './cluster.js'

const TOKEN = 's3cret-token'

describe('the observer page and its token', () => {
  let nodes: Node[]
  let node: Node

  beforeEach(async () => {
    nodes = await startCluster(1)
    node = nodes[0]!
  })
  afterEach(async () => {
    await stopAll(nodes)
  })

  it('is not served while the page is off; /metrics is', async () => {
    using _obs = observe(node)
    expect((await get(node, '/')).status).toBe(404)
    expect((await get(node, `/?token=${TOKEN}`)).status).toBe(404)
    expect((await get(node, '/observer/state')).status).toBe(404)
    expect((await get(node, '/metrics')).status).toBe(200)
  })

  it('refuses requests without the right token with 401', async () => {
    using obs = observe(node, { page: { token: TOKEN } })
    expect(obs.url).toBe(`${node.url.replace('ws:', 'http:')}/?token=${TOKEN}`)
    for (const [path, init] of [
      ['/', {}],
      ['/?token=wrong', {}],
      [`/?token=${TOKEN}x`, {}],
      ['/', { headers: { authorization: 'Bearer wrong' } }],
      ['/', { headers: { cookie: 'sworm_observer=wrong' } }],
      ['/observer/state', {}],
      ['/observer/events', {}],
    ] as const) {
      const res = await get(node, path, init)
      expect(res.status, path).toBe(401)
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/)
      expect(await res.text()).toMatch(/^unauthorized/)
    }
  })

  it('serves the page with the token as query, cookie or bearer header', async () => {
    using _obs = observe(node, { page: { token: TOKEN } })
    const viaQuery = await get(node, `/?token=${TOKEN}`)
    expect(viaQuery.status).toBe(200)
    expect(viaQuery.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(await viaQuery.text()).toContain('<title>Sworm observer · n0</title>')
    const cookie = viaQuery.headers.get('set-cookie')!
    expect(cookie).toMatch(/^sworm_observer=s3cret-token; Path=\/; HttpOnly; SameSite=Strict/)

    const viaCookie = await get(node, '/', { headers: { cookie: cookie.split(';')[0]! } })
    expect(viaCookie.status).toBe(200)
    expect(viaCookie.headers.get('set-cookie')).toBeNull()
    const viaHeader = await get(node, '/', { headers: { authorization: `Bearer ${TOKEN}` } })
    expect(viaHeader.status).toBe(200)

    const state = await get(node, '/observer/state', {
      headers: { authorization: `Bearer ${TOKEN}` },
    })
    expect(state.status).toBe(200)
    const body = (await state.json()) as ObserverState
    expect(body.nodes).toEqual([
      expect.objectContaining({ name: 'n0', state: 'up', self: true, workers: null }),
    ])
    // Paths the page does not serve stay 404, with or without the token.
    expect((await get(node, `/nope?token=${TOKEN}`)).status).toBe(404)
  })

  it('streams snapshots to the page as server-sent events', async () => {
    using obs = observe(node, { page: { token: TOKEN } })
    const ac = new AbortController()
    const res = await get(node, `/observer/events?token=${TOKEN}`, { signal: ac.signal })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
    let text = ''
    const nextSnapshot = async (): Promise<ObserverState> => {
      for (;;) {
        const end = text.indexOf('\n\n', text.indexOf('data: '))
        if (text.includes('data: ') && end >= 0) {
          const start = text.indexOf('data: ')
          const data = text.slice(start + 'data: '.length, end)
          text = text.slice(end + 2)
          return JSON.parse(data) as ObserverState
        }
        const { value, done } = await reader.read()
        if (done) throw new Error('the stream ended')
        text += value
      }
    }
    expect((await nextSnapshot()).node.name).toBe('n0')
    obs.note({ kind: 'handoff', sworm: 'Rooms', name: 'room:1' })
    let s = await nextSnapshot()
    while (s.events.length === 0) s = await nextSnapshot()
    expect(s.events[0]).toMatchObject({ kind: 'handoff', sworm: 'Rooms', name: 'room:1' })
    ac.abort()
  })

  it('throws BadArgument for a page without a token, and for bad options', () => {
    const bad: unknown[] = [
      { page: {} },
      { page: { token: '' } },
      { page: true },
      { metrics: 'yes' },
      { registries: [] },
      { pages: false },
    ]
    for (const options of bad) {
      expect(() => observe(node, options as ObserveOptions), JSON.stringify(options)).toThrow(
        BadArgument,
      )
    }
    // A failed call leaves nothing behind: the node can be observed.
    observe(node).close()
  })

  it('observes a node once at a time, and serves nothing more once closed', async () => {
    const obs = observe(node, { page: { token: TOKEN } })
    expect(() => observe(node)).toThrow(/already observed/)
    expect(() => obs.note({ kind: '' })).toThrow(BadArgument)
    obs.close()
    obs.close()
    expect((await get(node, `/?token=${TOKEN}`)).status).toBe(404)
    expect((await get(node, '/metrics')).status).toBe(404)
    using _again = observe(node)
    expect((await get(node, '/metrics')).status).toBe(200)
  })
})
