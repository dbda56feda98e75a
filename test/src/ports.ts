// Free ports on 127.0.0.1, for node processes that must know each other's addresses before
// they start (each seeded with all of them, as the pods of a StatefulSet are).
import { createServer } from 'node:net'

/** `n` ports free on 127.0.0.1 now (each was bound and released), for a cluster whose nodes must know each other's addresses before they start. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer()
          server.once('error', reject)
          server.listen(0, '127.0.0.1', () => resolve(server))
        }),
    ),
  )
  const ports = servers.map((s) => {
    const address = s.address()
    if (address === null || typeof address === 'string') throw new Error('no port')
    return address.port
  })
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
  return ports
}
