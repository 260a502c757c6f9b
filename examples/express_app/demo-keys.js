'use strict'
// Demo mode only: the committed *test* key tests/keys/rsa-a.pem signs demo tokens and its public
// half is the validator's static JWKS. It protects nothing; never use it for anything real.

const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')

const ISSUER = 'https://issuer.test'
const AUDIENCE = 'https://api.test'
const KID = 'rsa-a'
const privateKey = crypto.createPrivateKey(fs.readFileSync(path.join(__dirname, '..', '..', 'tests', 'keys', 'rsa-a.pem')))

function demoJwks() {
  const jwk = crypto.createPublicKey(privateKey).export({ format: 'jwk' })
  return { keys: [{ ...jwk, kid: KID, alg: 'RS256', use: 'sig' }] }
}

function mintDemoToken({ sub = 'demo-user', scope = 'read:items', roles = [], ttl = 3600 } = {}) {
  const now = Math.floor(Date.now() / 1000)
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url')
  const input = `${enc({ alg: 'RS256', kid: KID, typ: 'at+jwt' })}.${enc({
    iss: ISSUER,
    aud: AUDIENCE,
    sub,
    client_id: 'demo-client',
    scope,
    roles,
    iat: now,
    exp: now + ttl,
    jti: crypto.randomUUID(),
  })}`
  return `${input}.${crypto.sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`
}

module.exports = { ISSUER, AUDIENCE, demoJwks, mintDemoToken }
