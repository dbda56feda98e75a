// The README's program, as it runs on every machine of a cluster: one node, a sworm of counters,
// and one count of `page:home` from each node. Every node runs the same program; started at the
// same instant on three machines they end with one counter at 3. The environment says where:
//   PORT (default 4001), HOST (default 0.0.0.0), ADVERTISE (default: from HOST and PORT),
//   SEEDS (comma-separated, default ws://sworm-0.sworm:4001), MIN_NODES (default 3),
//   SWORM_COOKIE (required to join others), NODE_NAME (default node-<port>).
import { startNode } from '@swormjs/sworm'
import { Counter, Counters } from './counter.js' // the Counter and Counters of the README

const env = process.env
const node = await startNode({
  ...(env['NODE_NAME'] ? { name: env['NODE_NAME'] } : {}),
  host: env['HOST'] ?? '0.0.0.0',
  port: Number(env['PORT'] ?? 4001),
  ...(env['ADVERTISE'] ? { advertise: env['ADVERTISE'] } : {}),
  seeds: (env['SEEDS'] ?? 'ws://sworm-0.sworm:4001').split(','),
  ...(env['SWORM_COOKIE'] ? { cookie: env['SWORM_COOKIE'] } : {}),
  minNodes: Number(env['MIN_NODES'] ?? 3), // startNode resolves once 3 nodes run Counters
  health: true, // /healthz and /readyz, for probes
  children: [Counters],
})
process.on('SIGTERM', () => void node.stop()) // a graceful stop moves the counters, counts and all
// The same line on every node: the first to reach the name's node starts it, the others find it.
await Counters.whereisOrRegisterName('page:home', Counter, { start: 0 })
const count = await Counters.ref('page:home', Counter).call('inc') // typed: a number
console.log(`${node.name}: page:home = ${count}, counted on ${Counters.find('page:home')?.name}`)
