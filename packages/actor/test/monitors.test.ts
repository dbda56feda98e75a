// Monitors: one-way, one DOWN per monitor with the target's reason, none after demonitor.
import { describe, expect, it, vi } from 'vitest'
import {
  Runtime,
  formatPid,
  isDownMessage,
  settle,
  silentLogger,
  type ExitReason,
  type Pid,
} from '@swormjs/actor'
import { exitOf, spawnInbox } from './helpers.js'

describe('monitors', () => {
  it('delivers one DOWN message with the ref, the pid and the reason', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const watcher = spawnInbox(rt)
    const target = spawnInbox(rt)
    const ref = rt.monitor(watcher.pid, target.pid)
    const boom = new Error('boom')
    rt.exit(target.pid, boom)
    await vi.waitFor(() => expect(watcher.messages).toHaveLength(1))
    await settle()
    expect(watcher.messages).toEqual([{ type: 'DOWN', ref, pid: target.pid, reason: boom }])
    expect(isDownMessage(watcher.messages[0])).toBe(true)
  })

  it('reports normal, killed and custom reasons as they are', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const watcher = spawnInbox(rt)
    const reasons: [ExitReason, ExitReason][] = [
      ['normal', 'normal'],
      ['kill', 'killed'],
      ['shutdown', 'shutdown'],
      [{ shutdown: 'bye' }, { shutdown: 'bye' }],
    ]
    for (const [sent] of reasons) {
      const target = rt.spawn(() => undefined)
      rt.monitor(watcher.pid, target)
      if (sent === 'normal') await rt.stop(target)
      else rt.exit(target, sent)
    }
    await vi.waitFor(() => expect(watcher.messages).toHaveLength(reasons.length))
    expect(watcher.messages.map((m) => (m as { reason: unknown }).reason)).toEqual(
      reasons.map(([, got]) => got),
    )
  })

  it('fires each of two monitors on the same target once, under its own ref', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const watcher = spawnInbox(rt)
    const target = spawnInbox(rt)
    const r1 = rt.monitor(watcher.pid, target.pid)
    const r2 = rt.monitor(watcher.pid, target.pid)
    expect(r1).not.toBe(r2)
    rt.exit(target.pid, 'crashed')
    await vi.waitFor(() => expect(watcher.messages).toHaveLength(2))
    await settle()
    expect(watcher.messages.map((m) => (m as { ref: unknown }).ref)).toEqual([r1, r2])
  })

  it('calls a function watcher exactly once with the reason and the pid', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const target = spawnInbox(rt)
    const watcher = vi.fn<(reason: ExitReason, pid: Pid) => void>()
    rt.monitor(watcher, target.pid)
    rt.exit(target.pid, 'crashed')
    rt.exit(target.pid, 'again') // a dead process has no second death
    await settle()
    expect(watcher).toHaveBeenCalledTimes(1)
    expect(watcher).toHaveBeenCalledWith('crashed', target.pid)
  })

  it('delivers nothing after demonitor', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const watcher = spawnInbox(rt)
    const target = spawnInbox(rt)
    const ref = rt.monitor(watcher.pid, target.pid)
    expect(rt.processInfo(watcher.pid)?.monitors).toEqual([ref])
    rt.demonitor(ref)
    expect(rt.processInfo(watcher.pid)?.monitors).toEqual([])
    expect(rt.processInfo(target.pid)?.monitoredBy).toBe(0)
    const ends = exitOf(rt, target.pid)
    rt.exit(target.pid, 'crashed')
    await ends
    await settle()
    expect(watcher.messages).toEqual([])
  })

  it('demonitors from inside a process with ctx.demonitor', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const target = spawnInbox(rt)
    const got: unknown[] = []
    const watcher = rt.spawn((msg, ctx) => {
      if (msg === 'watch') ctx.demonitor(ctx.monitor(target.pid))
      else got.push(msg)
    })
    rt.send(watcher, 'watch')
    await settle()
    rt.exit(target.pid, 'crashed')
    await settle()
    expect(got).toEqual([])
  })

  it('gives a noproc DOWN when monitoring a pid that has exited', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const watcher = spawnInbox(rt)
    const dead = spawnInbox(rt)
    await rt.stop(dead.pid)
    const ref = rt.monitor(watcher.pid, dead.pid)
    await vi.waitFor(() => expect(watcher.messages).toHaveLength(1))
    expect(watcher.messages).toEqual([{ type: 'DOWN', ref, pid: dead.pid, reason: 'noproc' }])
  })

  it('gives a noproc DOWN for a local pid that never existed', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const ghost = formatPid(rt.nodeId, 777)
    await expect(exitOf(rt, ghost)).resolves.toBe('noproc')
  })

  it('is one-way: the end of the watcher leaves the target alone and drops the monitor', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const watcher = spawnInbox(rt)
    const target = spawnInbox(rt)
    rt.monitor(watcher.pid, target.pid)
    expect(rt.processInfo(target.pid)?.monitoredBy).toBe(1)
    rt.exit(watcher.pid, 'crashed')
    await exitOf(rt, watcher.pid)
    expect(rt.isAlive(target.pid)).toBe(true)
    expect(rt.processInfo(target.pid)?.monitoredBy).toBe(0)
  })

  it('monitors from inside a process with ctx.monitor and gets DOWN in mailbox order', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const target = spawnInbox(rt)
    const got: unknown[] = []
    let ref: unknown
    const watcher = rt.spawn((msg, ctx) => {
      if (msg === 'watch') ref = ctx.monitor(target.pid)
      else got.push(msg)
    })
    rt.send(watcher, 'watch')
    await settle()
    rt.send(watcher, 'before')
    rt.exit(target.pid, 'crashed')
    await vi.waitFor(() => expect(got).toHaveLength(2))
    expect(got).toEqual(['before', { type: 'DOWN', ref, pid: target.pid, reason: 'crashed' }])
  })
})
