// The demo's fleet scene, Node side: the protocol of fleet_instance.py, with the Node face
// (bindings-node). The configuration (argv[2]) arrives in snake_case and is given in camelCase,
// as a Node user writes it: { redisUrl, fleetSecret, ... }.
import { createRequire } from 'node:module'
import readline from 'node:readline'

const require = createRequire(import.meta.url)
const { Validator } = require('../../bindings-node')

const camel = (k) => k.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase())
const options = Object.fromEntries(Object.entries(JSON.parse(process.argv[2])).map(([k, v]) => [camel(k), v]))
const v = new Validator(options)
await v.ready() // keys loaded, and subscribed to the fleet's revocations
const send = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
send({ ready: true })

// process.hrtime is CLOCK_MONOTONIC on Linux: the clock Python's time.monotonic_ns() reads.
const now = () => process.hrtime.bigint()
const cell = new Int32Array(new SharedArrayBuffer(4))

for await (const line of readline.createInterface({ input: process.stdin })) {
  const cmd = JSON.parse(line)
  if (cmd.op === 'validate') {
    try {
      const claims = await v.validate(cmd.token)
      send({ ok: true, sub: claims.sub })
    } catch (e) {
      send({ ok: false, kind: e.kind })
    }
  } else if (cmd.op === 'revoke') {
    const t0 = now()
    v.revoke({ jti: cmd.jti })
    send({ t0_ns: Number(t0) })
  } else if (cmd.op === 'watch') {
    // Answers at once, then asks validateSync every 0.1 ms (a synchronous wait: the revocation
    // arrives on jwtgate's own threads, not through the event loop) until the token is refused.
    send({ watching: true })
    const deadline = now() + 5_000_000_000n
    let seen = null
    while (now() < deadline) {
      try {
        v.validateSync(cmd.token)
      } catch (e) {
        if (e.kind === 'revoked') {
          seen = Number(now())
          break
        }
      }
      Atomics.wait(cell, 0, 0, 0.1)
    }
    send({ seen_ns: seen })
  } else if (cmd.op === 'stats') {
    send({ stats: v.stats(), fleet: v.health().fleet })
  }
}
