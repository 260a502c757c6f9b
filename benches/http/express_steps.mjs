// Where an Express request's auth time goes. Usage (from the repository root, release addon):
//
//   taskset -c 0 node benches/http/express_steps.mjs [seconds=5] [rounds=4]
//
// 1. A tight loop: jwtAuth + requiredScopes against plain request objects (distinct header
//    strings, a cached token), next to a do-nothing pair of the same shape (http_app.mjs `noop`).
// 2. A real Express server in this process, loaded by wrk (pinned to the other core), which asks
//    for the routes in turn, request by request (drift of the core's speed hits all alike). Each route
//    starts a timer in a first middleware and stops it in the handler: `/none` has nothing in
//    between, `/noop` and `/jwtgate` the two pairs as Express layers (as http_app.mjs has them),
//    so the difference to `/none` is what a pair costs in a server, Express's routing included.
//    `/steps` is a replica of jwtAuth + requiredScopes's success path (the same calls as
//    express.js) with a timer around every step. What the loop cannot show: the same code with
//    cold caches, between the HTTP parser, Express's router and the response.
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'
import { execFileSync, spawnSync } from 'node:child_process'

const root = new URL('../../', import.meta.url).pathname
const requireExample = createRequire(`${root}examples/express_app/package.json`)
const express = requireExample('express')
const jwtgate = requireExample('jwtgate')
const { jwtAuth, requiredScopes } = requireExample('jwtgate/express')
const { kAuthorize, buildProfile } = jwtgate[Symbol.for('jwtgate.internal')]

const seconds = Number(process.argv[2] ?? 5)
const rounds = Number(process.argv[3] ?? 4)
const loadCpu = process.env.BENCH_HTTP_LOAD_CPU ?? '1'
const config = JSON.parse(readFileSync(`${root}examples/fastapi_app/demo-config.json`, 'utf8'))
const token = execFileSync(`${root}.venv/bin/python`, [`${root}examples/fastapi_app/mint_token.py`, '--scope', 'read:items', '--ttl', '3600'], { encoding: 'utf8' }).trim()
const validator = new jwtgate.Validator(config)
const items = [{ id: 1, name: 'teapot' }]

// The noop pair of benches/node/http_app.mjs.
const readToken = (req, res, next) => {
  const header = req.headers.authorization
  if (header === undefined || !header.startsWith('Bearer ')) return res.status(401).set('WWW-Authenticate', 'Bearer').end()
  req.auth = { token: header.slice(7) }
  next()
}
const lookAtAuth = (req, res, next) => (req.auth ? next() : res.status(401).end())
const jwtgatePair = [jwtAuth({ validator }), requiredScopes('read:items')]
const noopPair = [readToken, lookAtAuth]

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)] }
const quantile = (sorted, q) => sorted[Math.floor(q * (sorted.length - 1))]

// 1. The tight loop.
{
  const headers = Array.from({ length: 1000 }, () => Buffer.from(`Bearer ${token}`).toString('latin1'))
  let passed = 0
  const next = (err) => { if (err) throw err; passed++ }
  const loop = ([a, b], n) => {
    const t = process.hrtime.bigint()
    for (let i = 0; i < n; i++) {
      const req = { headers: { host: 'x', authorization: headers[i % 1000] } }
      a(req, null, next)
      b(req, null, next)
    }
    return Number(process.hrtime.bigint() - t) / n
  }
  const res = { noop: [], jwtgate: [] }
  for (let r = 0; r < 15; r++) {
    for (const k of r % 2 ? ['noop', 'jwtgate'] : ['jwtgate', 'noop']) res[k].push(loop(k === 'noop' ? noopPair : jwtgatePair, 100000))
  }
  console.log(`jwtgate addon: ${buildProfile} build. 1. Tight loop, the pair per request (15 interleaved batches of 100,000):`)
  for (const [k, v] of Object.entries(res)) console.log(`  ${k.padEnd(8)} min ${(Math.min(...v) / 1000).toFixed(2)} µs   median ${(median(v) / 1000).toFixed(2)} µs`)
}

// 2. In a server (needs wrk and taskset; without them the loop above is the measurement).
if (spawnSync('wrk', ['--version']).error) {
  console.log('2. In an Express server under wrk: skipped (wrk is not installed)')
  process.exit(0)
}
const MAX = 2_000_000
const series = (names) => Object.fromEntries(names.map((n) => [n, { d: new Float64Array(MAX), n: 0 }]))
const add = (s, ns) => { if (s.n < MAX) s.d[s.n++] = ns }
const now = process.hrtime.bigint
const timers = series(['/none', '/noop', '/jwtgate'])
// The chain from `start` to the handler is synchronous on these paths (a cached token): one
// request at a time, so one variable holds the start (a property on req would itself cost).
let started = 0n
const start = (req, res, next) => {
  started = now()
  next()
}
const stop = (name) => (req, res) => {
  add(timers[name], Number(now() - started))
  res.json(items)
}
// jwtAuth + requiredScopes on a valid cached token, step by step (the same calls as express.js;
// tokenOf, the realm symbol and the verdicts are copies of its private ones).
const kRealm = Symbol('realm')
const tokenOf = (header) => {
  const value = header.trim()
  let start = 6
  while (value.charCodeAt(start) === 32 || value.charCodeAt(start) === 9) start++
  return value.slice(start)
}
const stepNames = ['req.headers.authorization', 'native check (header; first call)', 'native check (again, warm)',
  'auth object (token cut)', 'req.auth = (new property)', 'scopes verdict']
const steps = series(stepNames)
const verdicts = new WeakMap()
const replica = (req, res, next) => {
  const t0 = now()
  const header = req.headers.authorization
  const t1 = now()
  const entry = validator[kAuthorize](header)
  const t2 = now()
  validator[kAuthorize](header)
  const t3 = now()
  const auth = { payload: entry.payload, header: entry.header, token: tokenOf(header), [kRealm]: undefined }
  const t4 = now()
  req.auth = auth
  const t5 = now()
  let verdict = verdicts.get(req.auth.payload)
  if (verdict === undefined) verdicts.set(req.auth.payload, (verdict = null))
  const ok = verdict === null
  const t6 = now()
  const ts = [t0, t1, t2, t3, t4, t5, t6]
  stepNames.forEach((name, i) => add(steps[name], Number(ts[i + 1] - ts[i])))
  return ok ? next() : res.status(403).end()
}
const app = express()
app.get('/none', start, stop('/none'))
app.get('/noop', start, ...noopPair, stop('/noop'))
app.get('/jwtgate', start, ...jwtgatePair, stop('/jwtgate'))
app.get('/steps', replica, (req, res) => res.json(items))
const server = await new Promise((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)) })
const base = `http://127.0.0.1:${server.address().port}`

// wrk runs in a child process: this process must keep serving meanwhile, hence the async spawn.
// It asks for the routes in turn, request by request (a Lua script): every route meets the same
// moments of the core's speed (on a shared VM it drifts by ±10-20 % within seconds).
const { spawn } = await import('node:child_process')
const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs')
const paths = ['/none', '/noop', '/jwtgate', '/steps']
const dir = mkdtempSync('/tmp/jwtgate-express-steps-')
const lua = `${dir}/paths.lua`
writeFileSync(lua, `local paths = {${paths.map((p) => `"${p}"`).join(', ')}}\nlocal i = 0\nrequest = function()\n  i = i + 1\n  return wrk.format(nil, paths[i % #paths + 1])\nend\n`)
const wrk = (secs, path) => new Promise((resolve, reject) => {
  const target = path === undefined ? ['-s', lua, base] : [base + path]
  const args = ['-c', loadCpu, 'wrk', '-t1', '-c32', `-d${secs}s`, '-H', `Authorization: Bearer ${token}`, ...target]
  const child = spawn('taskset', args, { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (b) => { out += b })
  child.on('exit', (code) => (code === 0
    ? resolve({ rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]), requests: Number(/(\d+) requests in/.exec(out)[1]) })
    : reject(new Error(`wrk: ${code}`))))
})
if (spawnSync('taskset', ['-c', loadCpu, 'true']).status !== 0) throw new Error('taskset is needed')
await wrk(1) // warm-up
for (const s of [...Object.values(timers), ...Object.values(steps)]) s.n = 0
const rps = []
const noneAlone = [] // server CPU time per request of /none alone: the whole request of a no-auth app
for (let r = 0; r < rounds; r++) {
  rps.push((await wrk(seconds)).rps)
  const saved = Object.values(timers).map((s) => s.n)
  const before = process.cpuUsage()
  const { requests } = await wrk(1, '/none')
  const used = process.cpuUsage(before)
  noneAlone.push((used.user + used.system) / requests)
  Object.values(timers).forEach((s, i) => { s.n = saved[i] }) // keep the mixed runs' times only
}
server.close()
rmSync(dir, { recursive: true })
const line = (name, s) => {
  const d = s.d.slice(0, s.n).sort()
  let sum = 0
  for (const x of d) sum += x
  return `  ${name.padEnd(28)} p50 ${(quantile(d, 0.5) / 1000).toFixed(2).padStart(6)} µs   mean ${(sum / d.length / 1000).toFixed(2).padStart(6)} µs   p90 ${(quantile(d, 0.9) / 1000).toFixed(2).padStart(6)} µs   (${d.length} requests)`
}
console.log(`2. In an Express server under wrk (this process on its core, wrk on CPU ${loadCpu}, the routes in turn; ${rounds} runs of ${seconds} s; ${median(rps).toFixed(0)} req/s):`)
const wholeNone = median(noneAlone)
const meanOf = (s) => { let sum = 0; for (let i = 0; i < s.n; i++) sum += s.d[i]; return sum / s.n / 1000 }
console.log(`  /none alone: ${wholeNone.toFixed(1)} µs of server CPU per request (median of ${rounds} runs of 1 s)`)
console.log('  from the first middleware to the handler; predicted % of the no-auth app\'s req/s = that CPU/req against it plus the mean difference to /none:')
for (const [name, s] of Object.entries(timers)) {
  console.log(`${line(name, s)}   ${(100 * wholeNone / (wholeNone + meanOf(s) - meanOf(timers['/none']))).toFixed(1)} %`)
}
console.log('  jwtgate pair, step by step (/steps):')
for (const [name, s] of Object.entries(steps)) console.log(line(name, s))
