'use strict'
// Fleet mode from Node (docs/fleet.md): the camelCase options reach the core, Redis down never
// fails a request, and health/stats carry the fleet's state. Node and Python instances sharing
// a real Redis (and a Redis Cluster) are tested across processes in tests/fleet/run.py.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const net = require('node:net')

const { Validator, ConfigError, RevokedTokenError } = require('..')
const { mintRs256, claims, staticOptions } = require('./helpers')

const fleetSecret = 'node-face-fleet-secret-0123456789abcdef'

function closedPort() {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

test('fleet options are the core options, in camelCase', () => {
  assert.throws(
    () => new Validator(staticOptions({ redisUrl: 'redis://127.0.0.1:1' })),
    (e) => e instanceof ConfigError && e.message.startsWith('fleetSecret'),
  )
  assert.throws(
    () => new Validator(staticOptions({ redisUrl: 'http://user:hunter2@127.0.0.1:1', fleetSecret })),
    (e) => e instanceof ConfigError && e.message.startsWith('redisUrl') && !e.message.includes('hunter2'),
  )
  assert.throws(
    () => new Validator(staticOptions({ fleetSecret })),
    (e) => e instanceof ConfigError && e.message.startsWith('fleetSecret'),
  )
})

test('with Redis down every request is answered and health says so', async () => {
  const port = await closedPort()
  const v = new Validator(staticOptions({ redisUrl: `redis://127.0.0.1:${port}`, fleetSecret, redisTimeout: 0.05 }))
  await v.ready()
  for (let i = 0; i < 10; i++) {
    const token = mintRs256(claims({ jti: `down-${i}` }))
    assert.equal((await v.validate(token)).jti, `down-${i}`)
  }
  // A revocation applies here at once and waits for Redis.
  v.revoke({ jti: 'down-1' })
  await assert.rejects(v.validate(mintRs256(claims({ jti: 'down-1' }))), RevokedTokenError)
  const fleet = v.health().fleet
  assert.equal(fleet.mode, 'single')
  assert.equal(fleet.connected, false)
  assert.deepEqual(fleet.nodes, [`redis://127.0.0.1:${port}`])
  assert.equal(typeof v.stats().redisErrors, 'number')
  assert.equal(new Validator(staticOptions()).health().fleet, null)
})
