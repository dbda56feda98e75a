// The demo: three nodes on 127.0.0.1, each with a supervisor of workers. A driver sends jobs to
// every worker over the mesh; some jobs crash their worker (the supervisor restarts it and the
// job is retried), and one node is killed midway (its jobs are retried on the others). It ends
// with a summary and exits 0 only if every job was answered correctly.
import {
  Actor,
  Exited,
  NoConnection,
  NoProc,
  silentLogger,
  Supervisor,
  type Pid,
} from '@sworm/actor'
import { startNode, type Node } from '@sworm/cluster'

const NODES = 3
const WORKERS_PER_NODE = 8
const JOBS = Number(process.env['DEMO_JOBS'] ?? 20_000)
const IN_FLIGHT = 64
const POISON_EVERY = 50 // one job in 50 crashes its worker
const KILL_AT = Math.floor(JOBS / 2)

interface Job {
  id: number
  values: number[]
  poison: boolean
}

/** Sums numbers; a poisoned job makes it throw, which crashes it (its supervisor restarts it). */
class Worker extends Actor<number> {
  handled = 0
  override handleCall(job: Job): number {
    if (job.poison && this.handled % 2 === 0) {
      this.handled++
      throw new Error(`poisoned job ${job.id}`)
    }
    this.handled++
    return job.values.reduce((a, b) => a + b, 0)
  }
}

const t0 = performance.now()
const log = (line: string): void => {
  process.stdout.write(`[${((performance.now() - t0) / 1000).toFixed(2).padStart(6)}s] ${line}\n`)
}

const cookie = 'demo-cookie'
const nodes: Node[] = []
for (let i = 0; i < NODES; i++) {
  const name = String.fromCharCode(97 + i)
  const node = await startNode({
    name,
    cookie,
    logger: silentLogger,
    seeds: nodes.length > 0 ? [nodes[0]!.url] : [],
    heartbeatIntervalMs: 500,
    heartbeatTimeoutMs: 1500,
  })
  node.on('nodeUp', (n) => log(`${name}: node ${n.name} up`))
  node.on('nodeDown', (n, reason) => log(`${name}: node ${n.name} down (${reason})`))
  nodes.push(node)
  log(`node ${name} listening on ${node.url}`)
}
const driverNode = nodes[0]!
const deadline = Date.now() + 10_000
while (!nodes.every((n) => n.nodes().length === NODES - 1)) {
  if (Date.now() > deadline) throw new Error('the mesh did not form')
  await new Promise((r) => setTimeout(r, 10))
}
log(`full mesh of ${NODES} nodes`)

const supervisors: Pid[] = []
for (const node of nodes) {
  supervisors.push(
    await Supervisor.start(node.runtime, {
      strategy: 'one_for_one',
      maxRestarts: 1000,
      maxSeconds: 1,
      children: Array.from({ length: WORKERS_PER_NODE }, (_, i) => ({
        id: `worker-${i}`,
        actor: Worker,
        args: i,
      })),
    }),
  )
}
log(`${NODES * WORKERS_PER_NODE} workers started under ${NODES} supervisors`)

/** The workers the driver can reach now, asked from each supervisor over the mesh. */
async function refreshWorkers(): Promise<Pid[]> {
  const out: Pid[] = []
  for (const [i, sup] of supervisors.entries()) {
    if (!driverNode.isUp(nodes[i]!.id) && i !== 0) continue
    try {
      const children = await Supervisor.whichChildren(driverNode.runtime, sup)
      for (const c of children) if (c.pid !== undefined) out.push(c.pid)
    } catch {
      // That node is gone: its workers are not offered any more.
    }
  }
  return out
}

let workers = await refreshWorkers()
let next = 0
let sent = 0
let answered = 0
let wrong = 0
let crashes = 0
let lostNode = 0
let retries = 0
let killedAt = 0
let recoveredAt = 0

async function runJob(job: Job): Promise<void> {
  const expected = job.values.reduce((a, b) => a + b, 0)
  for (let attempt = 0; attempt < 20; attempt++) {
    const pid = workers[next++ % workers.length]!
    try {
      const sum = await driverNode.runtime.call<number>(pid, job, { timeoutMs: 5000 })
      if (sum !== expected) wrong++
      answered++
      if (killedAt > 0 && recoveredAt === 0) recoveredAt = performance.now()
      return
    } catch (e) {
      retries++
      if (NoConnection.is(e)) lostNode++
      else if (Exited.is(e)) crashes++
      else if (!NoProc.is(e)) throw e
      workers = await refreshWorkers()
    }
  }
  throw new Error(`job ${job.id} failed 20 times`)
}

let lastReport = performance.now()
const running = new Set<Promise<void>>()
for (let id = 0; id < JOBS; id++) {
  const job: Job = {
    id,
    values: Array.from({ length: 10 }, (_, k) => id + k),
    poison: id % POISON_EVERY === POISON_EVERY - 1,
  }
  sent++
  const p = runJob(job).finally(() => running.delete(p))
  running.add(p)
  if (running.size >= IN_FLIGHT) await Promise.race(running)
  if (id === KILL_AT) {
    const victim = nodes[NODES - 1]!
    log(`killing node ${victim.name} abruptly (as kill -9 would), with calls in flight`)
    killedAt = performance.now()
    await victim.kill()
  }
  if (performance.now() - lastReport > 500) {
    lastReport = performance.now()
    log(
      `jobs sent ${sent}, answered ${answered}, worker crashes ${crashes}, calls lost with the node ${lostNode}`,
    )
  }
}
await Promise.all(running)
const elapsed = (performance.now() - t0) / 1000

for (const node of nodes) await node.stop()

const rows: Array<[string, string]> = [
  ['nodes', String(NODES)],
  ['workers', String(NODES * WORKERS_PER_NODE)],
  ['jobs sent', String(sent)],
  ['jobs answered', String(answered)],
  ['wrong answers', String(wrong)],
  ['lost jobs', String(sent - answered)],
  ['calls failed by a worker crash', String(crashes)],
  ['calls cut by the killed node', String(lostNode)],
  ['retries', String(retries)],
  [
    'recovery after the kill',
    recoveredAt > 0 ? `${(recoveredAt - killedAt).toFixed(1)} ms` : 'n/a',
  ],
  ['jobs per second', (answered / elapsed).toFixed(0)],
]
const width = Math.max(...rows.map(([k]) => k.length))
process.stdout.write('\nsummary\n')
for (const [k, v] of rows) process.stdout.write(`  ${k.padEnd(width)}  ${v}\n`)
const ok = answered === sent && wrong === 0
process.stdout.write(
  ok ? '\nOK: every job answered correctly\n' : '\nFAILED: jobs were lost or wrong\n',
)
process.exit(ok ? 0 : 1)
