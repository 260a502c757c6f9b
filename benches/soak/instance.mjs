// One Node instance of the soak: the traffic and the protocol of instance.py (read its
// docstring). argv[2]: the configuration in snake_case (given to the Node face in camelCase, as
// a Node user writes it); argv[3]: the feed directory. The face is loaded from JWTGATE_NODE (a
// copy the driver made, so that a rebuild during the run cannot change the library under it).
//
// The JWT loop awaits `validate` (a resolved promise when the keys are loaded) and yields to the
// event loop every 500 validations; opaque tokens run in a second async loop at a bounded rate.
import { createRequire } from 'node:module'
import fs from 'node:fs'
import path from 'node:path'
import crypto from 'node:crypto'

const require = createRequire(import.meta.url)
const jwtgate = require(process.env.JWTGATE_NODE)

const MIX = [['hot', 50], ['fresh', 15], ['expired', 8], ['forged', 9], ['unknown_kid', 9], ['revoked', 9]]
const OPAQUE_PERIOD = 20
const GARBAGE_PERIOD = 200
const OPAQUE_REVOKED_PERIOD = 500
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

const camel = (k) => k.replace(/_([a-z])/g, (_, c) => c.toUpperCase())
const config = JSON.parse(process.argv[2])
const feedDir = process.argv[3]
const name = config.soak_name
delete config.soak_name
const v = new jwtgate.Validator(Object.fromEntries(Object.entries(config).map(([k, x]) => [camel(k), x])))
await v.ready()

// A seeded shuffle of the mix (order differs from Python's; the proportions are the same).
const order = MIX.flatMap(([c, n]) => Array(n).fill(c))
let seed = 17
for (let i = order.length - 1; i > 0; i--) {
  seed = (seed * 1103515245 + 12345) % 2147483648
  const j = seed % (i + 1)
  ;[order[i], order[j]] = [order[j], order[i]]
}

const feed = { mtime: 0n, freshName: '', data: {}, fresh: [], applied: new Set() }
function reload () {
  const file = path.join(feedDir, 'feed.json')
  const mtime = fs.statSync(file, { bigint: true }).mtimeNs
  if (mtime === feed.mtime) return
  const data = JSON.parse(fs.readFileSync(file, 'utf8'))
  feed.mtime = mtime
  if (data.fresh_file !== feed.freshName) {
    feed.fresh = JSON.parse(fs.readFileSync(path.join(feedDir, data.fresh_file), 'utf8'))
    feed.freshName = data.fresh_file
  }
  for (const jti of data.revoke_jtis) {
    if (!feed.applied.has(jti)) {
      v.revoke({ jti })
      feed.applied.add(jti)
    }
  }
  feed.data = data
}
reload()

const counts = {}
const count = (category, kind) => {
  const byKind = (counts[category] ??= {})
  byKind[kind] = (byKind[kind] ?? 0) + 1
}
const kindOf = (e) => (e && typeof e.kind === 'string' ? e.kind : 'exception')
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

let stopped = false
process.stdin.on('data', () => {})
process.stdin.on('end', () => { stopped = true })
process.stdin.resume()

const b64 = (s) => Buffer.from(s).toString('base64url')

async function opaqueLoop () {
  let i = 0
  let nextGarbage = 0
  let nextRevoked = 0
  while (!stopped) {
    const now = performance.now()
    let category, token
    if (now >= nextGarbage) {
      nextGarbage = now + GARBAGE_PERIOD
      const bytes = crypto.randomBytes(43)
      category = 'opaque_garbage'
      token = Array.from(bytes, (b) => B64[b & 63]).join('')
    } else if (now >= nextRevoked && feed.data.opaque_revoked?.length) {
      nextRevoked = now + OPAQUE_REVOKED_PERIOD
      category = 'opaque_revoked'
      token = feed.data.opaque_revoked[i % feed.data.opaque_revoked.length]
    } else if (feed.data.opaque?.length) {
      category = 'opaque'
      token = feed.data.opaque[i % feed.data.opaque.length]
    } else {
      await sleep(OPAQUE_PERIOD)
      continue
    }
    i++
    try {
      await v.validate(token)
      count(category, 'ok')
    } catch (e) {
      count(category, kindOf(e))
    }
    if (category === 'opaque') await sleep(OPAQUE_PERIOD)
  }
}

function report (final) {
  console.log(JSON.stringify({ final, stats: v.stats(), outcomes: counts }))
}

async function jwtLoop () {
  let n = 0
  // One index per category (see instance.py).
  const ix = Object.fromEntries(MIX.map(([c]) => [c, 0]))
  let nextReport = performance.now() + 1000
  while (!stopped) {
    for (let k = 0; k < 500; k++) {
      const category = order[n % order.length]
      n++
      const i = ++ix[category]
      const d = feed.data
      const fresh = feed.fresh
      let token
      if (category === 'hot') token = d.hot[i % d.hot.length]
      else if (category === 'fresh') token = fresh[i % fresh.length]
      else if (category === 'expired') token = d.expired[i % d.expired.length]
      else if (category === 'revoked') {
        if (!d.revoked.length) continue
        token = d.revoked[i % d.revoked.length]
      } else if (category === 'forged') {
        const a = fresh[i % fresh.length]
        const b = fresh[(i + 1) % fresh.length]
        token = a.slice(0, a.lastIndexOf('.')) + b.slice(b.lastIndexOf('.'))
      } else {
        const a = fresh[i % fresh.length]
        token = b64(JSON.stringify({ alg: 'RS256', typ: 'at+jwt', kid: `${name}-unknown-${i}` })) + a.slice(a.indexOf('.'))
      }
      try {
        await v.validate(token)
        count(category, 'ok')
      } catch (e) {
        count(category, kindOf(e))
      }
    }
    if (performance.now() >= nextReport) {
      nextReport += 1000
      reload()
      report(false)
    }
    await new Promise((resolve) => setImmediate(resolve))
  }
}

console.log(JSON.stringify({ ready: true, face: 'node', pid: process.pid }))
await Promise.all([jwtLoop(), opaqueLoop()])
report(true)
process.exit(0)
