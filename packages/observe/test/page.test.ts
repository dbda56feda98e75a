// The observer page in a real browser (Debian's Chromium, driven by playwright-core): it shows
// the three nodes of a cluster up and their workers, then shows a killed node as down, live.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { chromium, type Browser, type Page } from 'playwright-core'
import type { Node } from '@swormjs/cluster'
import type { Registry } from '@swormjs/registry'
import type { DistributedSupervisor } from '@swormjs/supervisor'
import { observe, type Observer } from '../src/index.js'
import { startCluster, startComponents, stopAll, waitUntil } from './cluster.js'

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium'
const TOKEN = 'page-test-token'

/** The value of `attr` on every element `selector` matches, in order. */
async function attributes(page: Page, selector: string, attr: string): Promise<string[]> {
  const out: string[] = []
  for (const el of await page.locator(selector).all()) out.push((await el.getAttribute(attr)) ?? '')
  return out
}

/** The `data-state` of each node's row, by node name. */
async function statesOn(page: Page): Promise<Record<string, string>> {
  const names = await attributes(page, '#nodes tbody tr', 'data-node')
  const states = await attributes(page, '#nodes tbody tr', 'data-state')
  return Object.fromEntries(names.map((n, i) => [n, states[i]!]))
}

/** The sum of the numbers in the cells `selector` matches. */
async function sumOf(page: Page, selector: string): Promise<number> {
  const texts = await page.locator(selector).allTextContents()
  return texts.reduce((sum, t) => sum + Number(t), 0)
}

describe('the observer page in a browser', () => {
  let nodes: Node[]
  let regs: Registry[]
  let sups: DistributedSupervisor[]
  let obs: Observer

  beforeEach(async () => {
    nodes = await startCluster(3)
    ;({ regs, sups } = await startComponents(nodes))
    obs = observe(nodes[0]!, {
      page: { token: TOKEN },
      sworms: () => [{ name: 'Rooms', registry: regs[0]!, supervisor: sups[0]! }],
    })
  })
  afterEach(async () => {
    obs.close()
    await stopAll(nodes)
  })

  it('shows three nodes up, then a killed node as down', async () => {
    for (let i = 0; i < 9; i++) await sups[0]!.startChild({ id: `w${i}`, type: 'Worker' })
    await waitUntil(() => sups[0]!.countChildren().active === 9, 5000, 'the 9 children')

    let browser: Browser | undefined
    try {
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      })
      const page = await browser.newPage()
      const errors: string[] = []
      page.on('pageerror', (e) => errors.push(e.message))
      await page.goto(obs.url!)
      // The token left the address bar; the page stays in through its cookie and stream.
      expect(new URL(page.url()).search).toBe('')

      // Locators wait for what they name: here a third row marked up.
      await page.locator('#nodes tbody tr[data-state="up"]').nth(2).waitFor({ timeout: 5000 })
      expect(await statesOn(page)).toEqual({ n0: 'up', n1: 'up', n2: 'up' })
      expect(await page.getAttribute('#conn', 'data-connection')).toBe('live')
      // Workers per node add up to the 9 children, in the nodes table and per sworm.
      expect(await sumOf(page, '#nodes tbody td[data-workers]')).toBe(9)
      expect(await sumOf(page, '#workers tbody td[data-sworm="Rooms"]')).toBe(9)

      await nodes[2]!.kill()
      await page.locator('#nodes tbody tr[data-node="n2"][data-state="down"]').waitFor({
        timeout: 5000,
      })
      expect(await statesOn(page)).toEqual({ n0: 'up', n1: 'up', n2: 'down' })
      // The event is listed, with n2's children adopted by n0 after it: newest first.
      const down = page.locator('#events tbody tr[data-kind="node_down"]')
      await down.waitFor({ timeout: 5000 })
      expect(await down.textContent()).toContain('n2')
      const kinds = await attributes(page, '#events tbody tr', 'data-kind')
      const moved = kinds.lastIndexOf('move')
      if (moved >= 0) expect(moved).toBeLessThan(kinds.indexOf('node_down'))
      expect(errors).toEqual([])
    } finally {
      await browser?.close()
    }
  })
})
