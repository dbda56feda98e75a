// A seeded chaos run: real node processes running a sworm of counters with handoff on, clients
// on every node calling them by name, a nemesis (kill -9 and restart, SIGSTOP pauses shorter and
// longer than the downing bound, black-holed links, graceful restarts) and, after each heal, the
// checker. The same seed gives the same schedule.
//
// What is promised, and so checked after each heal (README "Splits", "Handoff"; DESIGN "Sworm"):
// - The cluster settles within `settleMs`: every node sees every other up, resolves every name,
//   to the same pid as every other node, and exactly one counter runs per name, that pid.
// - No acknowledged increment is lost, except on a counter one of whose copies ran on a node
//   killed during the step: a crash hands nothing over, so its name restarts from zero. Anything
//   else keeps every acknowledged increment: a graceful move hands the count over
//   (`endHandoff`); a pause or a partition leaves the paused (or cut off) copy running, and if
//   the other side started a second copy meanwhile (from zero, as for a dead node), the heal
//   keeps the earliest registration and hands it the loser's count (`sworm:resolve_conflict`),
//   which the counter adds to its own (a copy that moves before its conflict is settled, under
//   active redistribution, hands its count to the running one the same way). Since each copy
//   counts from zero or from the count handed to it, the sum counts every increment once. So after each heal, for a counter not excused,
//   count ≥ (count read at the previous check) + (increments acknowledged since).
// - No increment counts twice: a count never exceeds the increments ever sent to the name
//   (no handed-over state replayed, no message delivered twice).
// - Every call ends, with a count or an error that has a `code`, within its timeout plus
//   `slackMs` (not judged for a client whose own process was paused during the call).
// - A pause shorter than the downing bound declares nobody down.
import { nodeOf, type Pid } from '@swormjs/actor'
import { mulberry32 } from '../seeded.js'
import { ChaosNodes, slotName } from './ChaosNodes.js'
import { checkCounts, settle, type Bounds, type Finding } from './checker.js'
import { Ledger } from './Ledger.js'
import { describeStep, schedule, type NemesisTiming, type Step } from './nemesis.js'
import { hold } from './poll.js'
import { countByKind, type Violation, type ViolationKind } from './violations.js'

/** Options of {@link runChaos}. */
export interface ChaosOptions {
  readonly seed: number
  readonly nodes: number
  readonly steps: number
  /** How many counters (`c0`, `c1`, ...). */
  readonly counters: number
  /** Client loops per node, each calling one counter at a time. */
  readonly clientsPerNode: number
  /** Each client waits this long between two calls. */
  readonly gapMs: number
  readonly callTimeoutMs: number
  /** What a call may take past its timeout on a loaded machine. */
  readonly slackMs: number
  /** Bound on the cluster settling after a heal. */
  readonly settleMs: number
  readonly timing: NemesisTiming
  /** Failure detection of every node (`DOWN_AFTER_UNREACHABLE_MS` and the others). */
  readonly env: Readonly<Record<string, string>>
  /**
   * Whether a restarted node gets its names back (`active`, moved with their counts) or stays
   * empty until a fault moves names there (`passive`). Default: `CHAOS_REDISTRIBUTION`, else by
   * the seed (odd: active), so that the seed alone names the run.
   */
  readonly redistribution?: 'passive' | 'active'
  /** Each line of the run's log, as it happens. */
  readonly log: (line: string) => void
}

/** What a run found. */
export interface ChaosReport {
  readonly seed: number
  readonly redistribution: 'passive' | 'active'
  readonly steps: readonly string[]
  readonly callsOk: number
  readonly callsFailed: number
  readonly failedByCode: Readonly<Record<string, number>>
  /** The longest a call took, its client not paused meanwhile (bounded by timeout + slack). */
  readonly slowestCallMs: number
  readonly violations: readonly Violation[]
  readonly byKind: Readonly<Record<ViolationKind, number>>
  /** Conflicts merged without state, moves without state: what may explain a lost increment. */
  readonly notes: readonly string[]
  /** True when the run stopped early because the cluster did not settle. */
  readonly aborted: boolean
  readonly durationMs: number
}

/**
 * The short form, for CI: 3 nodes; suspected ~1.06 s after the last heartbeat (200 + 600 +
 * 5.2 × 50), down 2 s later (~3.3 s in all, judged within an interval): a short pause stays
 * under 1.2 s, a long one passes 4.5 s.
 */
export const chaosDefaults: Omit<ChaosOptions, 'seed' | 'log'> = {
  nodes: 3,
  steps: 6,
  counters: 24,
  clientsPerNode: 2,
  gapMs: 20,
  callTimeoutMs: 2000,
  slackMs: 1000,
  settleMs: 20_000,
  timing: {
    killDownMs: [300, 1500],
    shortPauseMs: [500, 1200],
    longPauseMs: [4500, 5500],
    shortPartitionMs: [500, 1200],
    longPartitionMs: [4500, 5500],
  },
  env: {
    HEARTBEAT_INTERVAL_MS: '200',
    ACCEPTABLE_HEARTBEAT_PAUSE_MS: '600',
    MIN_HEARTBEAT_STD_DEVIATION_MS: '50',
    DOWN_AFTER_UNREACHABLE_MS: '2000',
    RECONNECT_MAX_MS: '300',
  },
}

/** The redistribution of a run: `CHAOS_REDISTRIBUTION` when set, else active for an odd seed. */
function redistributionFor(seed: number): 'passive' | 'active' {
  const given = process.env['CHAOS_REDISTRIBUTION']
  if (given === 'active' || given === 'passive') return given
  return seed % 2 === 1 ? 'active' : 'passive'
}

/** How long the count of a counter may take to reach its bound after the settle (a merge in flight). */
const COUNT_WAIT_MS = 6000
/** Bound on starting nodes and on each request to one. */
const BOUND_MS = 20_000

/** Runs the schedule of `options.seed` and checks after every step; never throws for a violation. */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now()
  const { seed, log } = options
  const redistribution = options.redistribution ?? redistributionFor(seed)
  const plan = schedule(mulberry32(seed), options.steps, options.nodes, options.timing)
  const names = Array.from({ length: options.counters }, (_, i) => `c${i}`)
  const violations: Violation[] = []
  let step = 0
  const report = (f: Finding): void => {
    violations.push({ ...f, step })
    log(`seed=${seed} step ${step}: VIOLATION ${f.kind}: ${f.detail}`)
  }
  const ledger = new Ledger({
    timeoutMs: options.callTimeoutMs,
    slackMs: options.slackMs,
    nodeName: slotName,
    report,
  })
  log(
    `chaos seed=${seed}: ${options.nodes} nodes, ${options.steps} steps, ${names.length} counters, ` +
      `${redistribution} redistribution (rerun with CHAOS_SEED=${seed})`,
  )
  const steps = plan.map((s) => describeStep(s, slotName))
  await using nodes = await ChaosNodes.start({
    count: options.nodes,
    env: { ...options.env, REDISTRIBUTION: redistribution },
    boundMs: BOUND_MS,
    stopTimeoutMs: BOUND_MS,
    sink: (slot, incarnation, events) => ledger.accept(slot, incarnation, events),
  })
  const slots = Array.from({ length: nodes.count }, (_, i) => i)

  const startLoad = (i: number): Promise<unknown> =>
    nodes.request(i, {
      op: 'loadStart',
      names,
      seed: (seed + 7919 * (i + 1) + 104_729 * nodes.incarnation(i)) >>> 0,
      clients: options.clientsPerNode,
      timeoutMs: options.callTimeoutMs,
      gapMs: options.gapMs,
    })
  /** Stops every client; a client whose calls do not all end in time leaves them pending. */
  const stopLoad = async (): Promise<void> => {
    const bound = options.callTimeoutMs + options.slackMs + options.gapMs + 5000
    await Promise.all(
      slots.map((i) => nodes.request(i, { op: 'loadStop' }, bound).catch(() => undefined)),
    )
    nodes.drain()
    for (const i of slots) ledger.closeIncarnation(i, nodes.incarnation(i), true)
  }
  const workersOn = async (i: number): Promise<string[]> =>
    ((await nodes.request(i, { op: 'workers' })) as Array<[string, string]>).map(([n]) => n)

  await nodes.request(0, { op: 'register', names })
  let aborted = false
  const initial = await settle(nodes, names, options.settleMs)
  for (const f of initial) report(f)
  aborted = initial.length > 0
  const baseline = new Map(names.map((n) => [n, 0]))
  if (!aborted) for (const i of slots) await startLoad(i)

  for (const fault of aborted ? [] : plan) {
    step++
    log(`seed=${seed} step ${step}/${plan.length}: ${describeStep(fault, slotName)}`)
    const t0 = Date.now()
    /** Counters excused from the lower bound this step: one of their copies died with a kill. */
    const excused = new Set<string>()
    const pausedId = fault.kind === 'pause' && !fault.long ? nodes.id(fault.node) : undefined
    await apply(fault, excused)
    const healedAt = Date.now()
    const findings = await settle(nodes, names, options.settleMs)
    const settledMs = Date.now() - healedAt
    await stopLoad()
    for (const f of findings) report(f)
    if (findings.length > 0) {
      log(`seed=${seed} step ${step}: not settled after ${options.settleMs} ms; the run stops here`)
      aborted = true
      break
    }
    if (pausedId !== undefined) checkNoDown(fault as Extract<Step, { kind: 'pause' }>, pausedId, t0)

    const acked = ledger.takeAcked()
    const bounds = new Map<string, Bounds>()
    for (const name of names) {
      const atLeast = excused.has(name) ? undefined : baseline.get(name)! + (acked.get(name) ?? 0)
      bounds.set(name, { atLeast, atMost: ledger.sent(name) })
    }
    const holders = new Map((await nodes.request(0, { op: 'registered' })) as Array<[string, Pid]>)
    const hostOf = (name: string): string => {
      const pid = holders.get(name)
      return pid === undefined ? 'none' : (ids().get(nodeOf(pid)) ?? nodeOf(pid))
    }
    const { counts, findings: countFindings } = await checkCounts(
      nodes,
      step % nodes.count,
      bounds,
      COUNT_WAIT_MS,
      hostOf,
    )
    for (const f of countFindings) report(f)
    for (const [name, n] of counts) baseline.set(name, n)
    log(
      `seed=${seed} step ${step}: settled ${settledMs} ms after the heal; ` +
        `calls ok ${ledger.callsOk}, failed ${ledger.callsFailed}; ${ledger.downs.length} downs, ` +
        `${ledger.handoffs} handoffs, ${ledger.conflicts} conflicts so far; ` +
        `${excused.size} counters excused; ${violations.length} violations so far`,
    )
    for (const i of slots) await startLoad(i)
  }
  if (!aborted) await stopLoad()
  for (const note of ledger.notes) log(`seed=${seed} note: ${note}`)

  return {
    seed,
    redistribution,
    steps,
    callsOk: ledger.callsOk,
    callsFailed: ledger.callsFailed,
    failedByCode: Object.fromEntries(ledger.failedByCode),
    slowestCallMs: ledger.slowestCallMs,
    violations,
    byKind: countByKind(violations),
    notes: ledger.notes,
    aborted,
    durationMs: Date.now() - started,
  }

  /** Applies one fault and heals it; `excused` gets the counters a kill may reset. */
  async function apply(fault: Step, excused: Set<string>): Promise<void> {
    switch (fault.kind) {
      case 'kill': {
        for (const name of await workersOn(fault.node)) excused.add(name)
        const incarnation = nodes.incarnation(fault.node)
        await nodes.kill(fault.node)
        ledger.closeIncarnation(fault.node, incarnation, false)
        await hold(fault.downMs)
        await nodes.restart(fault.node)
        await startLoad(fault.node)
        return
      }
      case 'pause': {
        const from = Date.now()
        nodes.pause(fault.node)
        try {
          await hold(fault.ms)
        } finally {
          nodes.resume(fault.node)
          ledger.paused(fault.node, from, Date.now())
        }
        return
      }
      case 'partition': {
        const others = slots.filter((i) => !fault.side.includes(i))
        const each = (mode: 'blackhole' | 'pass'): void => {
          for (const a of fault.side) for (const b of others) nodes.setLink(a, b, mode)
        }
        each('blackhole')
        try {
          await hold(fault.ms)
        } finally {
          each('pass')
        }
        return
      }
      case 'restart': {
        const held = await workersOn(fault.node)
        const incarnation = nodes.incarnation(fault.node)
        const clean = await nodes.stop(fault.node)
        if (!clean) {
          report({
            kind: 'stopHung',
            detail: `${nodes.name(fault.node)} did not leave within ${BOUND_MS} ms and was killed`,
          })
          for (const name of held) excused.add(name)
        }
        ledger.closeIncarnation(fault.node, incarnation, clean)
        await nodes.restart(fault.node)
        await startLoad(fault.node)
        return
      }
    }
  }

  /** A short pause: nobody declared the paused node down, and it declared nobody down. */
  function checkNoDown(
    fault: Extract<Step, { kind: 'pause' }>,
    pausedId: string,
    since: number,
  ): void {
    for (const down of ledger.downs) {
      if (down.at < since) continue
      if (down.id === pausedId || down.slot === fault.node) {
        report({
          kind: 'falseDown',
          detail:
            `${nodes.name(down.slot)} declared ${ids().get(down.id) ?? down.id} down ` +
            `(${down.reason}) over a ${fault.ms} ms pause of ${nodes.name(fault.node)}`,
        })
      }
    }
  }

  /** The current node ids, by the node's name. */
  function ids(): Map<string, string> {
    return new Map(slots.map((i) => [nodes.id(i), nodes.name(i)]))
  }
}
