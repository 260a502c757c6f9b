'use strict'
// Operating it (issue 16): jwtgate/prometheus in a prom-client registry, the Express admin
// routes, and the engine's events delivered to a pino-style logger when they happen.

const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const express = require('express')
const client = require('prom-client')

const { Validator, ConfigError, RevokedTokenError, removeLogger } = require('..')
const { adminRouter } = require('../express')
const { JwtGateCollector } = require('../prometheus')
const { mintRs256, claims, now, staticOptions, jwksServer, ISSUER, AUDIENCE } = require('./helpers')

const SCOPE = 'jwtgate:admin'

// --- jwtgate/prometheus -------------------------------------------------------------------------

test('the collector reports what stats() reports, histograms included', async () => {
  const v = new Validator(staticOptions())
  const token = mintRs256(claims())
  for (let i = 0; i < 200; i++) v.validateSync(token)
  assert.throws(() => v.validateSync(mintRs256(claims({ exp: now() - 120 }))))
  const registry = new client.Registry()
  new JwtGateCollector(v).register(registry)
  const stats = v.stats()
  const json = await registry.getMetricsAsJSON()
  const metric = (name) => json.find((m) => m.name === name)
  const value = (name, labels, metricName = name) =>
    metric(name).values.find(
      (x) => x.metricName === metricName && Object.entries(labels).every(([k, val]) => x.labels[k] === val),
    )?.value

  assert.equal(value('jwtgate_validations_total', { outcome: 'ok' }), stats.validationsOk)
  assert.equal(stats.validationsOk, 200)
  assert.equal(value('jwtgate_validations_total', { outcome: 'error', kind: 'expired' }), 1)
  assert.equal(value('jwtgate_cache_hits_total', {}), stats.cacheHits)
  assert.equal(value('jwtgate_cache_entries', {}), stats.cacheEntries)
  const local = stats.latency.validation.local
  assert.equal(local.count, 2)
  assert.equal(metric('jwtgate_validation_duration_seconds').type, 'histogram')
  assert.equal(value('jwtgate_validation_duration_seconds', { path: 'local' }, 'jwtgate_validation_duration_seconds_count'), 2)
  assert.equal(value('jwtgate_validation_duration_seconds', { path: 'local', le: '+Inf' }, 'jwtgate_validation_duration_seconds_bucket'), 2)
  const hit = stats.latency.validation.hit
  assert.equal(hit.count % 64, 0, 'hits are sampled 1 in 64 and weighted')
  assert.ok(Math.abs(hit.count - 199) <= 64, String(hit.count))
  assert.equal(value('jwtgate_validation_duration_seconds', { path: 'hit' }, 'jwtgate_validation_duration_seconds_count'), hit.count)
  assert.ok(hit.p50_ns <= hit.p95_ns && hit.p95_ns <= hit.p99_ns)

  const text = await registry.metrics()
  assert.match(text, /# TYPE jwtgate_validation_duration_seconds histogram/)
  assert.match(text, /jwtgate_provider_request_duration_seconds_bucket\{endpoint="jwks",le="0.001"\} 0/)
  // The same families as the engine's own text.
  const engine = new Set(v.metricFamilies().map((f) => f.name))
  for (const name of engine) assert.ok(metric(name), name)
})

test('collector: constant labels, and a family that appears later is adopted', async () => {
  const server = await jwksServer()
  try {
    const v = new Validator({ issuer: ISSUER, audience: AUDIENCE, jwksUri: server.url, allowHttp: true })
    const registry = new client.Registry()
    new JwtGateCollector(v, { labels: { api: 'orders' } }).register(registry)
    assert.equal(registry.getSingleMetric('jwtgate_issuer_jwks_age_seconds'), undefined)
    await v.ready()
    await new Promise((r) => setTimeout(r, 60))
    await registry.metrics() // sees the new family and registers it
    await new Promise((r) => setTimeout(r, 60))
    const text = await registry.metrics()
    assert.match(text, /jwtgate_issuer_jwks_age_seconds\{api="orders",issuer="https:\/\/issuer.test"\}/)
    assert.throws(() => new JwtGateCollector({}), TypeError)
  } finally {
    server.close()
  }
})

// --- adminRouter ---------------------------------------------------------------------------------

let server
let base
let v

before(async () => {
  v = new Validator(staticOptions())
  const app = express()
  app.use('/admin', adminRouter(v, { scope: SCOPE }))
  await new Promise((resolve) => {
    server = app.listen(0, '127.0.0.1', resolve)
  })
  base = `http://127.0.0.1:${server.address().port}/admin/`
})

after(() => server.close())

const adminToken = () => mintRs256(claims({ scope: SCOPE }))
const call = (path, { token, method = 'GET', body } = {}) =>
  fetch(base + path, {
    method,
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), 'Content-Type': 'application/json' },
    body,
  })

test('adminRouter: every route but the page needs a token with the admin scope', async () => {
  for (const [method, path] of [
    ['GET', 'stats'],
    ['GET', 'health'],
    ['GET', 'metrics'],
    ['POST', 'jwks/refresh'],
    ['POST', 'cache/clear'],
    ['POST', 'revoke'],
  ]) {
    const none = await call(path, { method })
    assert.equal(none.status, 401, path)
    assert.equal(none.headers.get('www-authenticate'), 'Bearer')
    assert.equal((await none.json()).kind, 'missing_token')
    const wrong = await call(path, { method, token: mintRs256(claims()) })
    assert.equal(wrong.status, 403, path)
    assert.match(wrong.headers.get('www-authenticate'), /scope="jwtgate:admin"/)
    const expired = await call(path, { method, token: mintRs256(claims({ scope: SCOPE, exp: now() - 120 })) })
    assert.equal(expired.status, 401, path)
  }
  const page = await call('dashboard')
  assert.equal(page.status, 200)
  assert.match(await page.text(), /^<!doctype html>/)
  assert.match(page.headers.get('content-security-policy'), /connect-src 'self'/)
})

test('adminRouter: the scope is required and never empty', () => {
  assert.throws(() => adminRouter(v), TypeError)
  assert.throws(() => adminRouter(v, {}), TypeError)
  assert.throws(() => adminRouter(v, { scope: '' }), ConfigError)
  assert.throws(() => adminRouter(v, { scope: 'a b' }), ConfigError)
  assert.throws(() => adminRouter({}, { scope: SCOPE }), TypeError)
})

test('adminRouter: each route does what it says', async () => {
  const token = adminToken()
  const user = mintRs256(claims({ sub: 'alice', jti: 'jti-node-1' }))
  v.validateSync(user)

  const stats = await call('stats', { token })
  assert.equal(stats.status, 200)
  assert.equal((await stats.json()).validations_ok, v.stats().validationsOk)
  const health = await call('health', { token })
  assert.equal(health.status, 200)
  assert.equal((await health.json()).status, 'healthy')
  const metrics = await call('metrics', { token })
  assert.match(metrics.headers.get('content-type'), /^text\/plain/)
  assert.match(await metrics.text(), /jwtgate_validation_duration_seconds_bucket/)

  const entries = v.stats().cacheEntries
  const cleared = await call('cache/clear', { token, method: 'POST' })
  assert.deepEqual(await cleared.json(), { removed: entries })
  assert.equal(v.stats().cacheEntries, 0)

  v.validateSync(user)
  const revoked = await call('revoke', { token, method: 'POST', body: JSON.stringify({ jti: 'jti-node-1' }) })
  assert.equal(revoked.status, 200)
  assert.deepEqual(await revoked.json(), { revoked: 'jti', removed: 1 })
  assert.throws(() => v.validateSync(user), RevokedTokenError)
  const bySub = await call('revoke', { token, method: 'POST', body: JSON.stringify({ sub: 'bob' }) })
  assert.equal((await bySub.json()).revoked, 'sub')
  assert.throws(() => v.validateSync(mintRs256(claims({ sub: 'bob', iat: now() - 10 }))), RevokedTokenError)

  const refresh = await call('jwks/refresh', { token, method: 'POST' })
  assert.deepEqual(await refresh.json(), { refreshed: true })
  const unknown = await call('jwks/refresh', { token, method: 'POST', body: '{"issuer":"https://elsewhere"}' })
  assert.equal(unknown.status, 400)
  assert.equal((await unknown.json()).kind, 'config')
})

test('adminRouter: bad revoke bodies are a typed 400', async () => {
  const token = adminToken()
  for (const body of ['', '[]', '{', '{"jti":5}', '{"jti":"a","sub":"b"}', '{"jti":"a","x":1}', '{"jti":"a","jti":"b"}', '{}', 'x'.repeat(20000)]) {
    const r = await call('revoke', { token, method: 'POST', body })
    assert.equal(r.status, 400, body.slice(0, 40))
    const doc = await r.json()
    assert.equal(doc.error, 'invalid_request')
    assert.equal(doc.kind, 'invalid_request')
  }
  const past = await call('revoke', { token, method: 'POST', body: '{"jti":"a","until":1}' })
  assert.equal(past.status, 400)
  assert.equal((await past.json()).kind, 'config')
})

// --- events ---------------------------------------------------------------------------------------

test('events: a background refresh reaches the logger when it happens, pino-style', async () => {
  const server = await jwksServer()
  server.fail = true
  server.delayMs = 300 // the fetch ends well after validateSync has returned
  const records = []
  let arrived
  const seen = new Promise((resolve) => {
    arrived = resolve
  })
  const logger = {
    level: 'info',
    info: (fields, msg) => records.push(['info', fields, msg]),
    warn: (fields, msg) => {
      records.push(['warn', fields, msg])
      if (fields.target === 'jwtgate::jwks') arrived()
    },
    error: (fields, msg) => records.push(['error', fields, msg]),
    debug: () => assert.fail('debug is below the logger level'),
  }
  try {
    const remote = new Validator({ issuer: ISSUER, audience: AUDIENCE, jwksUri: server.url, allowHttp: true, fetchRetries: 0, logger })
    assert.throws(() => remote.validateSync(mintRs256(claims())), { kind: 'keys_not_loaded' })
    // No call into jwtgate from here on.
    const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error(JSON.stringify(records))), 10000).unref())
    await Promise.race([seen, timeout])
    const [level, fields, msg] = records.find((r) => r[1].target === 'jwtgate::jwks')
    assert.equal(level, 'warn')
    assert.equal(fields.issuer, ISSUER)
    assert.match(msg, /JWKS fetch failed/)
    // Audit events carry their `event` field, as Python's records do.
    remote.clearCache()
    await new Promise((r) => setTimeout(r, 50))
    const cleared = records.find((r) => r[1].event === 'cache_cleared')
    assert.ok(cleared, JSON.stringify(records))
    assert.equal(cleared[1].target, 'jwtgate::audit')
    assert.equal(cleared[1].removed, '0')
  } finally {
    removeLogger(logger)
    server.close()
  }
  assert.throws(() => new Validator({ ...staticOptions(), logger: 'console' }), TypeError)
})
