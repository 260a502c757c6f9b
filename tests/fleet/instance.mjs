// One Node instance of the fleet test: a jwtgate Validator driven by JSON lines (the protocol
// of instance.py). argv[2] is the configuration in snake_case; it is given to the Node face in
// camelCase, as a Node user writes it.
import { createRequire } from 'node:module'
import readline from 'node:readline'

const require = createRequire(import.meta.url)
const jwtgate = require('../../bindings-node')

const camel = (k) => k.replace(/_([a-z])/g, (_, c) => c.toUpperCase())
const options = Object.fromEntries(Object.entries(JSON.parse(process.argv[2])).map(([k, v]) => [camel(k), v]))
const v = new jwtgate.Validator(options)
await v.ready()
console.log(JSON.stringify({ ready: true, face: 'node' }))

const answer = async (cmd) => {
  try {
    switch (cmd.op) {
      case 'validate':
        return { ok: true, sub: (await v.validate(cmd.token)).sub }
      case 'validate_local':
        return { ok: true, sub: v.validateSync(cmd.token).sub }
      case 'revoke':
        return { ok: true, removed: v.revoke({ jti: cmd.jti }) }
      case 'stats':
        return { ok: true, stats: v.stats() }
      case 'health':
        return { ok: true, health: v.health() }
      case 'poll_revoked': {
        const start = performance.now()
        while (performance.now() - start < cmd.seconds * 1000) {
          try {
            v.validateSync(cmd.token)
          } catch (e) {
            if (e.kind === 'revoked') return { ok: true, after: (performance.now() - start) / 1000 }
          }
          await new Promise((resolve) => setTimeout(resolve, 1))
        }
        return { ok: false, kind: 'timeout' }
      }
      default:
        return { ok: false, kind: 'unknown_op' }
    }
  } catch (e) {
    return { ok: false, kind: e.kind ?? 'exception', message: String(e.message) }
  }
}

// One command at a time, in order (the driver waits for each answer).
const lines = readline.createInterface({ input: process.stdin })
for await (const line of lines) {
  console.log(JSON.stringify(await answer(JSON.parse(line))))
}
