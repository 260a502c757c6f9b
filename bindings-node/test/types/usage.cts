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

// Operating it: the admin routes, the prom-client collector, an event logger.
import jwtProm = require('jwtgate/prometheus')
const admin = jwtExpress.adminRouter(validator, { scope: 'jwtgate:admin' })
http.createServer((req, res) => admin(req, res, () => res.end()))
declare const registry: jwtProm.RegistryLike
new jwtProm.JwtGateCollector(validator, { labels: { api: 'orders' } }).register(registry)
const p50: number = validator.stats().latency.validation.hit.p50_ns
const families: jwtgate.MetricFamily[] = validator.metricFamilies()
const logged = new jwtgate.Validator({ issuer: 'https://id.example.com', audience: 'api', logger: console })
jwtgate.removeLogger(console)
void p50
void families
void logged
