'use strict'
// tests/vectors/http.json through jwtgate/express: for every case, an Express app with jwtAuth
// (realm as the case says) and requiredScopes(...) when the case requires scopes, answering
// errors with the handler README.md recommends, gets the request with the case's Authorization
// value over real HTTP. Status, WWW-Authenticate and the JSON body must be the ones every face
// gives (the core's HTTP edge), and a request that goes through must reach the handler as the
// case's `sub`.

const { test, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const http = require('node:http')
const path = require('node:path')
const express = require('express')

const { Validator, JwtGateError } = require('..')
const { jwtAuth, requiredScopes } = require('../express')
const { VECTORS, camelOptions } = require('./helpers')

const doc = JSON.parse(fs.readFileSync(path.join(VECTORS, 'http.json'), 'utf8'))
const validators = new Map()
const servers = []

after(() => {
  for (const s of servers) s.close()
})

// `provider_down` points at a port where nothing listens (127.0.0.1:9): the fetch fails at once.
function validatorFor(name) {
  if (!validators.has(name)) validators.set(name, new Validator(camelOptions(doc.configs[name])))
  return validators.get(name)
}

async function appFor(c) {
  const app = express()
  const chain = [jwtAuth({ validator: validatorFor(c.config), realm: c.realm ?? undefined })]
  if (c.scopes.length > 0) chain.push(requiredScopes(...c.scopes))
  app.get('/', ...chain, (req, res) => res.json({ sub: req.auth.payload.sub }))
  // The error handler of README.md.
  app.use((err, req, res, next) => {
    if (!(err instanceof JwtGateError)) return next(err)
    res.status(err.status).set(err.headers).json(err.body)
  })
  const server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  servers.push(server)
  return server.address().port
}

// node:http rather than fetch: the Authorization value goes out exactly as the case has it.
function get(port, authorization) {
  const headers = authorization === null ? {} : { authorization }
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/', headers }, (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk) => (body += chunk))
        res.on('end', () => resolve({ status: res.statusCode, challenge: res.headers['www-authenticate'], body }))
      })
      .on('error', reject)
  })
}

test('http.json has the cases every face answers', () => {
  assert.equal(doc.suite, 'http')
  assert.ok(doc.cases.length >= 10, `${doc.cases.length} cases`)
})

for (const c of doc.cases) {
  test(`http.json: ${c.name}`, async () => {
    const r = await get(await appFor(c), c.authorization)
    assert.equal(r.status, c.expect.status, r.body)
    const body = JSON.parse(r.body)
    if (c.expect.status === 200) {
      assert.deepEqual(body, { sub: c.expect.sub })
      return
    }
    assert.equal(r.challenge, c.expect.challenge ?? undefined)
    assert.deepEqual(body, c.expect.body)
  })
}
