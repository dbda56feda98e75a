// Mutual TLS: nodes with certificates of one CA mesh over wss:// and call each other; a node
// whose certificate another CA signed is kept out. Certificates are made with `openssl`.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from '@sworm/actor'
import { TEST_COOKIE, waitUntil } from '../../src/index.js'
import { startNode, type NodeOptions, type TlsOptions } from '@sworm/cluster'
import { Inbox } from './helpers.js'

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

// Without openssl there is no way to make certificates here: the tests are skipped, not faked.
const describeTls = hasOpenssl() ? describe : describe.skip

describeTls('mutual TLS between nodes (openssl certificates)', () => {
  let dir: string
  const tls: Record<'a' | 'b' | 'rogue', TlsOptions> = {} as never

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sworm-tls-'))
    // Arguments as one line each, split on spaces (none of them holds a space).
    const openssl = (line: string): void => {
      execFileSync('openssl', line.split(' '), { cwd: dir, stdio: 'pipe' })
    }
    const newKey = '-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes'
    const ca = (name: string): void =>
      openssl(`req -x509 ${newKey} -keyout ${name}.key -out ${name}.crt -days 2 -subj /CN=${name}`)
    // A node certificate for 127.0.0.1 (the subjectAltName a wss://127.0.0.1 dial checks),
    // good for both server and client authentication.
    const leaf = (name: string, caName: string): void => {
      openssl(`req -new ${newKey} -keyout ${name}.key -out ${name}.csr -subj /CN=${name}`)
      writeFileSync(
        join(dir, `${name}.ext`),
        [
          'subjectAltName=IP:127.0.0.1',
          'basicConstraints=CA:FALSE',
          'keyUsage=digitalSignature,keyEncipherment',
          'extendedKeyUsage=serverAuth,clientAuth',
        ].join('\n'),
      )
      openssl(
        `x509 -req -in ${name}.csr -CA ${caName}.crt -CAkey ${caName}.key -CAcreateserial ` +
          `-out ${name}.crt -days 2 -extfile ${name}.ext`,
      )
    }
    ca('ca')
    ca('other-ca')
    leaf('a', 'ca')
    leaf('b', 'ca')
    leaf('rogue', 'other-ca')
    const read = (f: string): string => readFileSync(join(dir, f), 'utf8')
    const caPem = read('ca.crt')
    for (const name of ['a', 'b', 'rogue'] as const) {
      // The rogue node trusts the right CA: only its own certificate is wrong.
      tls[name] = { key: read(`${name}.key`), cert: read(`${name}.crt`), ca: caPem }
    }
  })

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
  })

  const base: NodeOptions = { cookie: TEST_COOKIE, logger: silentLogger }

  it('meshes over wss:// and carries a call', async () => {
    await using a = await startNode({ ...base, name: 'a', tls: tls.a })
    // With TLS on, the advertised URL is wss:// by default.
    expect(a.url).toBe(`wss://127.0.0.1:${a.port}`)
    await using b = await startNode({ ...base, name: 'b', tls: tls.b, seeds: [a.url] })
    await waitUntil(() => a.isUp(b.id) && b.isUp(a.id), 5000, 'a and b to connect over TLS')
    expect(b.nodes().map((n) => n.url)).toEqual([a.url])
    const inbox = a.runtime.spawn(Inbox, undefined)
    expect(await b.runtime.call(inbox, 'node')).toBe(a.id)
  })

  it('keeps out a node whose certificate another CA signed', async () => {
    await using a = await startNode({ ...base, name: 'a', tls: tls.a })
    let attempts = 0
    await using rogue = await startNode({
      ...base,
      name: 'rogue',
      tls: tls.rogue,
      seeds: [a.url],
      reconnectMinMs: 10,
      reconnectMaxMs: 50,
      rewriteUrl: (u) => {
        attempts++
        return u
      },
    })
    // It keeps trying; none of its attempts gets through.
    await waitUntil(() => attempts >= 4, 5000, 'the rogue node to dial a few times')
    expect(a.nodes()).toEqual([])
    expect(rogue.nodes()).toEqual([])

    // Control: a node with a good certificate joins a the same way.
    await using b = await startNode({ ...base, name: 'b', tls: tls.b, seeds: [a.url] })
    await waitUntil(() => a.isUp(b.id), 5000, 'b to join a')
    expect(a.nodes().map((n) => n.name)).toEqual(['b'])
  })
})
