// currentProcess(): code running for a process (its handlers, also after an await) knows which
// process and runtime it runs for; code outside any process sees none.
import { describe, expect, it } from 'vitest'
import { Actor, Runtime, currentProcess, silentLogger, type Pid } from '@swormjs/actor'

/** Reports what currentProcess() says, before and after an await, from init and handlers. */
class Reporter extends Actor<void> {
  seenInInit: Pid | undefined
  override init(): void {
    this.seenInInit = currentProcess()?.pid
  }
  override async handleCall(msg: string): Promise<unknown> {
    if (msg === 'init') return this.seenInInit
    const before = currentProcess()
    await new Promise((r) => setTimeout(r, 1))
    const after = currentProcess()
    return [before?.pid, after?.pid, after?.runtime === this.runtime]
  }
}

describe('currentProcess', () => {
  it('names the running process in init, in handlers and after an await', async () => {
    await using rt = new Runtime({ logger: silentLogger })
    const pid = await rt.start(Reporter, undefined)
    expect(await rt.call(pid, 'init')).toBe(pid)
    expect(await rt.call(pid, 'handle')).toEqual([pid, pid, true])
  })

  it('keeps two runtimes’ processes apart, and is empty outside any process', async () => {
    await using a = new Runtime({ logger: silentLogger })
    await using b = new Runtime({ logger: silentLogger })
    const pa = await a.start(Reporter, undefined)
    const pb = await b.start(Reporter, undefined)
    const [ra, rb] = await Promise.all([a.call(pa, 'handle'), b.call(pb, 'handle')])
    expect(ra).toEqual([pa, pa, true])
    expect(rb).toEqual([pb, pb, true])
    expect(currentProcess()).toBeUndefined()
  })
})
