// Typed errors and exit reasons: guards that test the code (not the prototype), and the wire form.
import { describe, expect, it } from 'vitest'
import {
  ActorErrorCode,
  AlreadyRegistered,
  CallTimeout,
  Exited,
  InitFailed,
  NoProc,
  NotFound,
  RemoteError,
  SwormError,
  describeReason,
  isNormalExit,
  reasonFromWire,
  reasonToWire,
} from '@swormjs/actor'

describe('typed errors', () => {
  it('carry a name, a code and a guard that works across copies of the package', () => {
    const e = new CallTimeout('<n.1>', 5000)
    expect(e).toBeInstanceOf(Error)
    expect(e.name).toBe('CallTimeout')
    expect(e.code).toBe(ActorErrorCode.CallTimeout)
    // What another copy of the package would throw: same brand and code, different prototype.
    const foreign = Object.assign(new Error('x'), {
      code: ActorErrorCode.CallTimeout,
      [Symbol.for('sworm.error')]: true,
    })
    expect(CallTimeout.is(foreign)).toBe(true)
    expect(NoProc.is(foreign)).toBe(false)
    expect(SwormError.is(foreign)).toBe(true)
    expect(SwormError.is({ code: 'NO_PROC' })).toBe(false)
  })

  it('never take a Node system error with a code for one of ours', () => {
    const enoent = Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' })
    const lookalike = Object.assign(new Error('not ours'), { code: ActorErrorCode.NotFound })
    expect(SwormError.is(enoent)).toBe(false)
    expect(NotFound.is(lookalike)).toBe(false)
    expect(NotFound.is(new NotFound('x'))).toBe(true)
  })

  it('keep what they are about', () => {
    expect(new AlreadyRegistered('svc', '<n.1>')).toMatchObject({
      registeredName: 'svc',
      pid: '<n.1>',
    })
    const boom = new Error('boom')
    expect(new Exited('<n.1>', boom).cause).toBe(boom)
    expect(new InitFailed('<n.1>', boom)).toMatchObject({ reason: boom, cause: boom })
    expect(new Exited('<n.1>', 'shutdown').message).toContain('shutdown')
  })
})

describe('exit reasons', () => {
  it('count normal, shutdown and { shutdown } as normal exits, nothing else', () => {
    for (const r of ['normal', 'shutdown', { shutdown: 'x' }]) expect(isNormalExit(r)).toBe(true)
    for (const r of ['killed', 'noproc', 'boom', new Error('shutdown'), { other: 1 }]) {
      expect(isNormalExit(r)).toBe(false)
    }
  })

  it('send an error across the wire as code, name, message and plain fields, never a stack', () => {
    const wire = reasonToWire(new NoProc('<n.1>'))
    expect(wire).toEqual({
      $error: {
        code: 'NO_PROC',
        name: 'NoProc',
        message: 'no process <n.1>',
        data: { target: '<n.1>', reason: 'noproc' },
      },
    })
    expect(JSON.stringify(wire)).not.toContain('at ')
    expect(
      JSON.stringify(reasonToWire(new Error('x', { cause: new Error('inner') }))),
    ).not.toContain('inner')
    const back = reasonFromWire(JSON.parse(JSON.stringify(wire)))
    expect(RemoteError.is(back)).toBe(true)
    expect(back).toMatchObject({
      code: 'NO_PROC',
      remoteName: 'NoProc',
      message: 'no process <n.1>',
      target: '<n.1>',
    })
    expect(NoProc.is(back)).toBe(true)
  })

  it('send plain reasons across the wire as they are', () => {
    for (const r of ['normal', 'killed', { shutdown: { why: 'deploy' } }]) {
      expect(reasonFromWire(JSON.parse(JSON.stringify(reasonToWire(r))))).toEqual(r)
    }
  })

  it('describe reasons for people', () => {
    expect(describeReason(new Error('boom'))).toBe('Error: boom')
    expect(describeReason('killed')).toBe('killed')
    expect(describeReason({ shutdown: 1 })).toBe('{"shutdown":1}')
  })
})
