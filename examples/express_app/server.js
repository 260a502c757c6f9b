'use strict'
// Starts the example API.
//   Your provider:  JWTGATE_ISSUER=https://id.example.com JWTGATE_AUDIENCE=https://api.example.com node server.js
//                   (keys by OpenID discovery from the issuer, or JWTGATE_JWKS_URI)
//   A config file:  JWTGATE_CONFIG=config.json node server.js   (the canonical JSON of docs/config.md)
//   Demo mode:      node server.js   (no variables: test keys, tokens from mint-demo-token.js)
// PORT (default 3000; 0 picks a free port) and HOST (default 127.0.0.1).

const { Validator } = require('jwtgate')
const { createApp } = require('./app')
const demo = require('./demo-keys')

async function main() {
  const configFile = process.env.JWTGATE_CONFIG
  const issuer = process.env.JWTGATE_ISSUER
  const options = configFile
    ? JSON.parse(require('node:fs').readFileSync(configFile, 'utf8'))
    : issuer
    ? {
        issuer,
        audience: process.env.JWTGATE_AUDIENCE,
        jwksUri: process.env.JWTGATE_JWKS_URI || undefined,
        tokenType: process.env.JWTGATE_TOKEN_TYPE || undefined,
      }
    : { issuer: demo.ISSUER, audience: demo.AUDIENCE, tokenType: 'at+jwt', jwks: demo.demoJwks() }
  const validator = new Validator(options)
  // Load remote keys before taking traffic (a no-op for the demo's static keys).
  await validator.ready()

  const app = createApp({ validator })
  const server = app.listen(Number(process.env.PORT ?? 3000), process.env.HOST || '127.0.0.1', () => {
    const { address, port } = server.address()
    console.log(`listening on http://${address}:${port} (${configFile || (issuer ? `issuer ${issuer}` : 'demo mode')})`)
  })
  const stop = () => server.close(() => process.exit(0))
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

main().catch((err) => {
  console.error(`cannot start: ${err.name} (${err.kind ?? 'no kind'}): ${err.message}`)
  process.exit(1)
})
