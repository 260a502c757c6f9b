'use strict'
// A remote JWKS on a loopback node:http server: validateSync never touches the network,
// ready() and validate() fetch off the main thread, outages answer 503.

const { test } = require('node:test')
const assert = require('node:assert/strict')

const { Validator, ProviderUnavailableError } = require('..')
const { mintRs256, claims, jwksServer, deadUrl, publicJwk, ISSUER, AUDIENCE } = require('./helpers')

const remote = (jwksUri, extra = {}) => new Validator({ issuer: ISSUER, audience: AUDIENCE, tokenType: 'at+jwt', jwksUri, ...extra })

test('validateSync throws keys_not_loaded before ready(), works after', async () => {
  const server = await jwksServer()
  try {
    const v = remote(server.url)
    const token = mintRs256(claims())
    assert.throws(() => v.validateSync(token), (e) => {
      assert.ok(e instanceof ProviderUnavailableError)
      assert.deepEqual([e.kind, e.code, e.status], ['keys_not_loaded', 2002, 503])
      return true
    })
    await v.ready()
    assert.equal(v.validateSync(token).sub, 'user-1')
    const h = v.health()
    assert.equal(h.keySource, 'remote')
    assert.equal(h.jwks.loaded, true)
    assert.deepEqual(h.jwks.kids, ['rsa-a'])
    assert.equal(typeof h.jwks.ageSeconds, 'number', 'nested health fields are camelCase')
    assert.ok(server.requests >= 1)
    assert.ok(v.stats().syncDeferred >= 1)
  } finally {
    server.close()
  }
})

test('validate() fetches the keys itself when they are not loaded', async () => {
  const server = await jwksServer()
  try {
    const v = remote(server.url)
    const claimsOut = await v.validate(mintRs256(claims({ sub: 'dave' })))
    assert.equal(claimsOut.sub, 'dave')
    assert.equal(server.requests, 1)
  } finally {
    server.close()
  }
})

test('the event loop keeps running while a slow JWKS fetch is in flight', async () => {
  const server = await jwksServer()
  server.delayMs = 400
  try {
    const v = remote(server.url)
    const pending = v.validate(mintRs256(claims()))
    // Timers fire on time while the fetch waits: nothing blocks the main thread.
    const lags = []
    for (let i = 0; i < 10; i++) {
      const start = performance.now()
      await new Promise((resolve) => setTimeout(resolve, 10))
      lags.push(performance.now() - start)
    }
    assert.ok(Math.max(...lags) < 150, `timer lag ${Math.max(...lags)} ms`)
    assert.equal((await pending).sub, 'user-1')
  } finally {
    server.close()
  }
})

test('a new kid (key rotation) is fetched on the Promise path, refused on the sync path', async () => {
  const server = await jwksServer()
  try {
    const v = remote(server.url, { jwksRefreshCooldown: 0 })
    await v.ready()
    server.jwks = { keys: [publicJwk('rsa-a'), publicJwk('rsa-b')] }
    const rotated = mintRs256(claims({ sub: 'rotated' }), { key: 'rsa-b' })
    assert.throws(() => v.validateSync(rotated), { kind: 'keys_not_loaded' })
    assert.equal((await v.validate(rotated)).sub, 'rotated')
    assert.equal(v.validateSync(rotated).sub, 'rotated')
  } finally {
    server.close()
  }
})

test('an unreachable provider is a 503 ProviderUnavailableError, from ready() and validate()', async () => {
  const v = remote(await deadUrl(), { fetchTimeout: 2, fetchRetries: 0 })
  await assert.rejects(v.ready(), (e) => {
    assert.ok(e instanceof ProviderUnavailableError, `${e.name}: ${e.message}`)
    assert.equal(e.status, 503)
    assert.equal(e.kind, 'jwks_unavailable')
    return true
  })
  await assert.rejects(v.validate(mintRs256(claims())), { status: 503 })
})

test('a JWKS server answering 500 is jwks_unavailable', async () => {
  const server = await jwksServer()
  server.fail = true
  try {
    const v = remote(server.url, { fetchRetries: 0 })
    await assert.rejects(v.validate(mintRs256(claims())), { kind: 'jwks_unavailable', status: 503 })
  } finally {
    server.close()
  }
})

test('the slow path works in a worker thread that then exits', async () => {
  const { Worker } = require('node:worker_threads')
  const server = await jwksServer()
  try {
    const source = `
      const { parentPort, workerData } = require('node:worker_threads')
      const { Validator } = require(${JSON.stringify(require.resolve('..'))})
      const v = new Validator(workerData.options)
      v.validate(workerData.token).then((c) => parentPort.postMessage(c.sub), (e) => parentPort.postMessage(e.kind))
    `
    const options = { issuer: ISSUER, audience: AUDIENCE, tokenType: 'at+jwt', jwksUri: server.url }
    const sub = await new Promise((resolve, reject) => {
      const w = new Worker(source, { eval: true, workerData: { options, token: mintRs256(claims({ sub: 'in-worker' })) } })
      let got
      w.on('message', (m) => (got = m))
      w.on('error', reject)
      w.on('exit', (code) => (code === 0 ? resolve(got) : reject(new Error(`worker exited with ${code}`))))
    })
    assert.equal(sub, 'in-worker')
  } finally {
    server.close()
  }
})
