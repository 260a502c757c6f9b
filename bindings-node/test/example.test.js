'use strict'
// examples/express_app as a user runs it: `node server.js` in its own process (demo mode), driven
// over HTTP. `make test` installs the example's dependencies first; run alone, the test installs
// them itself (as the Makefile does) and fails if it cannot: a test that skips itself is a test
// that never runs where it is most needed, on a fresh clone.

const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { spawn } = require('node:child_process')
const path = require('node:path')

const { EXAMPLE: dir, ensureExampleInstalled } = require('./helpers')

let child
let base
let mint

before(async () => {
  ensureExampleInstalled()
  mint = require(path.join(dir, 'demo-keys')).mintDemoToken
  child = spawn(process.execPath, ['server.js'], { cwd: dir, env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'inherit'] })
  base = await new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`the example did not start: ${out}`)), 15_000)
    child.stdout.on('data', (chunk) => {
      out += chunk
      const m = /listening on (http:\/\/\S+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(m[1])
      }
    })
    child.on('exit', (code) => reject(new Error(`the example exited with ${code}: ${out}`)))
  })
})

after(() => {
  if (child) child.kill('SIGTERM')
})

async function call(route, { token, method = 'GET', body } = {}) {
  const headers = { 'content-type': 'application/json' }
  if (token) headers.authorization = `Bearer ${token}`
  const res = await fetch(base + route, { method, headers, body: body && JSON.stringify(body) })
  return { status: res.status, challenge: res.headers.get('www-authenticate'), body: await res.json().catch(() => null) }
}

test('public, protected and scoped routes of the example', async () => {
  assert.equal((await call('/public')).status, 200)

  const missing = await call('/api/me')
  assert.equal(missing.status, 401)
  assert.equal(missing.challenge, 'Bearer')
  assert.deepEqual(missing.body, { error: 'unauthorized', kind: 'missing_token' })

  const reader = mint({ sub: 'reader', scope: 'read:items' })
  const me = await call('/api/me', { token: reader })
  assert.deepEqual(me.body, { sub: 'reader', scope: 'read:items', alg: 'RS256', kid: 'rsa-a' })
  assert.equal((await call('/api/items', { token: reader })).status, 200)

  const denied = await call('/api/items', { token: reader, method: 'POST', body: { name: 'x' } })
  assert.equal(denied.status, 403)
  assert.match(denied.challenge, /error="insufficient_scope".*scope="write:items"/)

  const writer = mint({ sub: 'writer', scope: 'read:items write:items' })
  const created = await call('/api/items', { token: writer, method: 'POST', body: { name: 'second' } })
  assert.equal(created.status, 201)
  assert.equal(created.body.owner, 'writer')

  assert.equal((await call('/api/admin', { token: reader })).status, 401)
  const admin = await call('/api/admin', { token: mint({ roles: ['admin'] }) })
  assert.equal(admin.status, 200)
  assert.ok(admin.body.validator.validationsOk >= 4)

  const expired = await call('/api/me', { token: mint({ ttl: -3600 }) })
  assert.equal(expired.status, 401)
  assert.deepEqual(expired.body, { error: 'invalid_token', error_description: 'token has expired', kind: 'expired' })
  assert.equal((await call('/healthz')).body.keySource, 'static')
})

test('the admin routes of the example refresh the keys and clear the cache', async () => {
  const admin = mint({ sub: 'admin', roles: ['admin'] })
  const reader = mint({ sub: 'reader', scope: 'read:items' })
  assert.equal((await call('/api/me', { token: reader })).status, 200) // cached now

  assert.equal((await call('/api/admin/clear-cache', { token: reader, method: 'POST' })).status, 401)
  assert.equal((await call('/api/admin/refresh-keys', { token: reader, method: 'POST' })).status, 401)

  const cleared = await call('/api/admin/clear-cache', { token: admin, method: 'POST' })
  assert.equal(cleared.status, 200)
  assert.ok(cleared.body.removed >= 2, `removed ${cleared.body.removed}`) // the reader's and the admin's
  const misses = (await call('/api/admin', { token: admin })).body.validator.cacheMisses
  await call('/api/me', { token: reader })
  assert.equal((await call('/api/admin', { token: admin })).body.validator.cacheMisses, misses + 1, 'the reader was validated afresh')

  const refreshed = await call('/api/admin/refresh-keys', { token: admin, method: 'POST' })
  assert.deepEqual([refreshed.status, refreshed.body], [200, { refreshed: ['https://issuer.test'] }])
  const one = await call('/api/admin/refresh-keys?issuer=https%3A%2F%2Fissuer.test', { token: admin, method: 'POST' })
  assert.deepEqual([one.status, one.body], [200, { refreshed: ['https://issuer.test'] }])
  const unknown = await call('/api/admin/refresh-keys?issuer=https%3A%2F%2Fevil.test', { token: admin, method: 'POST' })
  assert.deepEqual([unknown.status, unknown.body.error], [404, 'unknown_issuer'])
})
