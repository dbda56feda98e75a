// The observer page: one self-contained HTML document (inline CSS and JS, no assets, no build)
// that follows GET /observer/events (Server-Sent Events, a JSON snapshot per message) and
// redraws its tables from each snapshot. Names and details come from other nodes: the script
// only ever sets them as text, never as HTML.

/** The page for node `nodeName`; `nonce` allows its one inline script under the CSP. */
export function observerPage(nodeName: string, nonce: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sworm observer · ${escapeHtml(nodeName)}</title>
<style>
  :root { color-scheme: light dark; --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --dim: #6e7781; }
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; }
  header { display: flex; gap: 1rem; align-items: baseline; flex-wrap: wrap; }
  h1 { font-size: 1.3rem; margin: 0; }
  h2 { font-size: 1.05rem; margin: 1.5rem 0 0.5rem; }
  table { border-collapse: collapse; }
  th, td { text-align: left; padding: 0.2rem 0.8rem 0.2rem 0; border-bottom: 1px solid #8884; vertical-align: top; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
  .state { font-weight: 600; }
  .state-up { color: var(--ok); }
  .state-down { color: var(--bad); }
  .state-unreachable, .state-leaving, .state-known { color: var(--warn); }
  .state-left { color: var(--dim); }
  #conn[data-connection="live"] { color: var(--ok); }
  #conn[data-connection="reconnecting"], #conn[data-connection="connecting"] { color: var(--warn); }
  .dim { color: var(--dim); }
  dl { display: grid; grid-template-columns: max-content max-content; gap: 0.2rem 1rem; margin: 0; }
  dt { color: var(--dim); }
  dd { margin: 0; font-variant-numeric: tabular-nums; }
  .kind { font-weight: 600; }
  .kind-node_down, .kind-conflict, .kind-lost { color: var(--bad); }
  .kind-node_up { color: var(--ok); }
  .kind-restart, .kind-move, .kind-handoff { color: var(--warn); }
</style>
</head>
<body>
<header>
  <h1>Sworm observer</h1>
  <span>node <strong id="self">${escapeHtml(nodeName)}</strong></span>
  <span id="conn" data-connection="connecting">connecting…</span>
  <span id="at" class="dim"></span>
</header>

<h2>Nodes</h2>
<table id="nodes">
  <thead><tr><th>Node</th><th>URL</th><th>State</th><th class="num">Processes</th><th class="num">Workers</th></tr></thead>
  <tbody></tbody>
</table>

<h2>Workers per node</h2>
<p id="no-workers" class="dim" hidden>No supervisor is observed on this node.</p>
<table id="workers">
  <thead></thead>
  <tbody></tbody>
</table>

<h2>This node</h2>
<dl id="rates">
  <dt>messages handled</dt><dd id="rate-handled"></dd>
  <dt>messages in (mesh)</dt><dd id="rate-in"></dd>
  <dt>messages out (mesh)</dt><dd id="rate-out"></dd>
  <dt>processes</dt><dd id="processes"></dd>
  <dt>calls waiting</dt><dd id="pending"></dd>
  <dt>event-loop delay p99 (5 s)</dt><dd id="delay"></dd>
</dl>

<h2>Recent events <span class="dim">(newest first)</span></h2>
<p id="no-events" class="dim" hidden>Nothing yet.</p>
<table id="events">
  <thead><tr><th>Time</th><th>Kind</th><th>Node</th><th>Sworm</th><th>Name</th><th>Detail</th></tr></thead>
  <tbody></tbody>
</table>

<script nonce="${nonce}">
'use strict'
// The token came in the address (?token=): keep it for the event stream, then take it out of
// the address bar and history. The server also set a cookie holding it.
const token = new URLSearchParams(location.search).get('token')
if (token !== null) history.replaceState(null, '', location.pathname)
const streamUrl = '/observer/events' + (token ? '?token=' + encodeURIComponent(token) : '')

const $ = (id) => document.getElementById(id)

function el(tag, attrs, ...children) {
  const e = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith('data-')) e.setAttribute(k, String(v))
    else if (k === 'class') e.className = v
    else e[k] = v
  }
  for (const c of children) e.append(c instanceof Node ? c : String(c ?? ''))
  return e
}

const num = (n) => (n === null || n === undefined ? '–' : Number(n).toLocaleString('en'))
const rate = (n) => (n < 10 ? n.toFixed(1) : Math.round(n).toLocaleString('en')) + ' /s'
const time = (at) => new Date(at).toLocaleTimeString('en-GB', { hour12: false }) + '.' + String(at % 1000).padStart(3, '0')
// A node's observer page is served by the same HTTP server as its cluster URL.
const pageOf = (url) => url.replace(/^ws(s?):/, 'http$1:') + '/'

function setConnection(state, text) {
  const c = $('conn')
  c.dataset.connection = state
  c.textContent = text
}

function render(s) {
  $('at').textContent = 'updated ' + time(s.at)

  $('nodes').tBodies[0].replaceChildren(
    ...s.nodes.map((n) =>
      el('tr', { 'data-node': n.name, 'data-node-id': n.id, 'data-state': n.state, 'data-self': n.self },
        el('td', {}, el('a', { href: pageOf(n.url) }, n.name), n.self ? el('span', { class: 'dim' }, ' (this node)') : ''),
        el('td', {}, n.url),
        el('td', {}, el('span', { class: 'state state-' + n.state }, n.state)),
        el('td', { class: 'num', 'data-processes': '' }, num(n.processes)),
        el('td', { class: 'num', 'data-workers': '' }, num(n.workers)),
      ),
    ),
  )

  const groups = s.workers
  $('no-workers').hidden = groups.length > 0
  $('workers').hidden = groups.length === 0
  $('workers').tHead.replaceChildren(
    el('tr', {}, el('th', {}, 'Node'), ...groups.map((g) => el('th', { class: 'num', title: g.kind }, g.name))),
  )
  $('workers').tBodies[0].replaceChildren(
    ...s.nodes
      .filter((n) => n.state === 'up' || n.state === 'unreachable' || n.state === 'leaving' || groups.some((g) => g.byNode[n.id]))
      .map((n) =>
        el('tr', { 'data-node': n.name },
          el('td', {}, n.name),
          ...groups.map((g) => el('td', { class: 'num', 'data-sworm': g.name }, num(g.byNode[n.id] ?? 0))),
        ),
      ),
    el('tr', {}, el('th', {}, 'total'), ...groups.map((g) => el('th', { class: 'num' }, num(g.total)))),
  )

  $('rate-handled').textContent = rate(s.rates.messagesHandled) + ' (' + num(s.totals.messagesHandled) + ' in all)'
  $('rate-in').textContent = rate(s.rates.messagesIn) + ' (' + num(s.totals.messagesIn) + ' in all)'
  $('rate-out').textContent = rate(s.rates.messagesOut) + ' (' + num(s.totals.messagesOut) + ' in all)'
  $('processes').textContent = num(s.totals.processes)
  $('pending').textContent = num(s.totals.pendingCalls)
  $('delay').textContent = s.eventLoopDelayMs.p99.toFixed(1) + ' ms (mean ' + s.eventLoopDelayMs.mean.toFixed(1) + ' ms)'

  $('no-events').hidden = s.events.length > 0
  $('events').tBodies[0].replaceChildren(
    ...s.events.map((e) =>
      el('tr', { 'data-kind': e.kind },
        el('td', { class: 'dim' }, time(e.at)),
        el('td', { class: 'kind kind-' + e.kind }, e.kind),
        el('td', {}, e.node ?? ''),
        el('td', {}, e.sworm ?? ''),
        el('td', {}, e.name ?? ''),
        el('td', {}, e.detail ?? ''),
      ),
    ),
  )
}

// EventSource reconnects by itself after a network error; after a refusal (401, or the node
// gone for good) it gives up, so start a new one a little later.
function follow() {
  const es = new EventSource(streamUrl)
  es.onopen = () => setConnection('live', 'live')
  es.onmessage = (m) => render(JSON.parse(m.data))
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) {
      setConnection('reconnecting', 'disconnected; retrying…')
      setTimeout(follow, 2000)
    } else setConnection('reconnecting', 'reconnecting…')
  }
}
follow()
</script>
</body>
</html>
`
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}
