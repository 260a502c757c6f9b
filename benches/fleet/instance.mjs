// One Node instance of the fleet benchmark (benches/fleet/run.py starts it): the protocol of
// instance.py, command by command. The configuration arrives in snake_case and is given to the
// Node face in camelCase, as a Node user writes it (redisUrl, fleetSecret, ...).
//
// jwtgate comes from JWTGATE_NODE (the copy of the release build that `make bench-fleet`
// takes), ioredis from benches/fleet/node_modules (`npm ci`).
//
// Clock: process.hrtime.bigint() is libuv's uv_hrtime(), clock_gettime(CLOCK_MONOTONIC) on
// Linux: the clock Python's time.monotonic_ns() reads (run.py checks that they agree).
import { createRequire } from 'node:module'
import readline from 'node:readline'
import Redis from 'ioredis'

const require = createRequire(import.meta.url)
const jwtgate = require(process.env.JWTGATE_NODE)
const FACE = 'node'

const camel = (k) => k.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase())
const camelOptions = (o) => Object.fromEntries(Object.entries(o).map(([k, val]) => [camel(k), val]))
const now = () => process.hrtime.bigint()
const send = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
// A synchronous sleep of a fraction of a millisecond (the polling loop must not yield to the
// event loop: the revocation arrives on jwtgate's own threads, not through JavaScript).
const cell = new Int32Array(new SharedArrayBuffer(4))
const sleepSync = (ms) => Atomics.wait(cell, 0, 0, ms)

const outcomeSync = (v, token) => {
  try {
    v.validateSync(token)
    return 'ok'
  } catch (e) {
    return e.kind ?? 'exception'
  }
}
const outcome = async (v, token) => {
  try {
    await v.validate(token)
    return 'ok'
  } catch (e) {
    return e.kind ?? 'exception'
  }
}

async function timed(n, before, call) {
  const samples = []
  for (let i = 0; i < n; i++) {
    before()
    const t0 = now()
    await call()
    samples.push(Number(now() - t0))
  }
  return samples
}

function timedSync(n, call) {
  const samples = []
  for (let i = 0; i < n; i++) {
    const t0 = now()
    call()
    samples.push(Number(now() - t0))
  }
  return samples
}

let v = null
send({ hello: FACE, pid: process.pid })

const lines = readline.createInterface({ input: process.stdin })
for await (const line of lines) {
  const cmd = JSON.parse(line)
  switch (cmd.op) {
    case 'start': {
      const t0 = now()
      v = new jwtgate.Validator(camelOptions(cmd.config))
      await v.ready()
      send({ ok: true, ready_ms: Number(now() - t0) / 1e6 })
      break
    }
    case 'now':
      send({ mono_ns: Number(now()) })
      break
    case 'validate': {
      const counts = {}
      for (const token of cmd.tokens) {
        const k = await outcome(v, token)
        counts[k] = (counts[k] ?? 0) + 1
      }
      send({ counts })
      break
    }
    case 'watch': {
      const deadline = now() + BigInt(Math.round(cmd.seconds * 1e9))
      const before = outcomeSync(v, cmd.token)
      send({ watching: true, before })
      let seen = null
      let other = null
      let polls = 0
      while (now() < deadline) {
        polls++
        try {
          v.validateSync(cmd.token)
        } catch (e) {
          if (e.kind === 'revoked') {
            seen = Number(now())
            break
          }
          other = e.kind
        }
        if (cmd.poll_us) sleepSync(cmd.poll_us / 1000)
      }
      send({ seen_ns: seen, polls, other })
      break
    }
    case 'revoke': {
      const t0 = now()
      v.revoke({ jti: cmd.jti })
      send({ t0_ns: Number(t0), t1_ns: Number(now()) })
      break
    }
    case 'stats':
      send({ stats: v.stats(), health: v.health() })
      break
    case 'l2': {
      const kinds = new Set([await outcome(v, cmd.token)])
      const samples = await timed(
        cmd.n,
        () => v.clearCache(),
        async () => kinds.add(await outcome(v, cmd.token)),
      )
      send({ samples_ns: samples, outcomes: [...kinds].sort() })
      break
    }
    case 'bare_get': {
      const client = new Redis(cmd.url, { lazyConnect: true, enableAutoPipelining: false })
      await client.connect()
      const size = (await client.getBuffer(cmd.key))?.length ?? 0
      const samples = await timed(cmd.n, () => {}, () => client.getBuffer(cmd.key))
      client.disconnect()
      const version = JSON.parse(
        (await import('node:fs')).readFileSync(new URL('./node_modules/ioredis/package.json', import.meta.url)),
      ).version
      send({ samples_ns: samples, size, client: `ioredis ${version}` })
      break
    }
    case 'local': {
      const cold = new jwtgate.Validator({ ...camelOptions(cmd.config), cacheMaxEntries: 0 })
      const warm = new jwtgate.Validator(camelOptions(cmd.config))
      const out = {}
      for (const [alg, token] of Object.entries(cmd.tokens)) {
        for (let i = 0; i < 20; i++) cold.validateSync(token)
        out[alg] = timedSync(cmd.n, () => cold.validateSync(token))
      }
      const token = Object.values(cmd.tokens)[0]
      warm.validateSync(token)
      out.l1_hit = timedSync(cmd.n, () => warm.validateSync(token))
      send({ samples_ns: out })
      break
    }
    case 'exit':
      send({ bye: true })
      process.exit(0)
      break
    default:
      send({ error: `unknown op ${cmd.op}` })
  }
}
