// Typed usage of the CommonJS entries (require), checked by `tsc --strict`. Never run.
import jwtgate = require('jwtgate')
import jwtExpress = require('jwtgate/express')
import http = require('node:http')

const validator = new jwtgate.Validator({ issuer: 'https://id.example.com', audience: 'api' })
const auth = jwtExpress.jwtAuth({ validator })

// The middleware also fits a plain node:http server.
http.createServer((req, res) => {
  auth(req, res, (err?: unknown) => {
    if (err instanceof jwtgate.JwtGateError) {
      res.writeHead(err.status, err.headers).end(JSON.stringify(err.body))
      return
    }
    res.end('ok')
  })
})

export const kind: jwtgate.ErrorKind = 'expired'
