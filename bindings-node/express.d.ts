// Type definitions for jwtgate/express. Structural types over node:http, so they fit Express
// (app.use / app.get accept them) without a dependency on @types/express.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Claims, JoseHeader, Validator, ValidatorOptions } from './index'

/** What jwtAuth puts on `req.auth` (the express-oauth2-jwt-bearer / express-jwt convention). */
export interface AuthResult<T extends Claims = Claims> {
  /** The verified claims (deep-frozen, shared by every request presenting the token). */
  readonly payload: Readonly<T>
  /** The protected header. */
  readonly header: JoseHeader
  /** The raw bearer token. */
  readonly token: string
}

declare global {
  namespace Express {
    interface Request {
      /** Set by jwtgate/express's jwtAuth when the bearer token is valid. */
      auth?: AuthResult
    }
  }
}

/**
 * A middleware: on failure it calls `next(err)` with a JwtGateError carrying the answer:
 * `status`, `headers` (`WWW-Authenticate`) and the JSON `body`.
 */
export type Middleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void

export interface JwtAuthOptions {
  /** A shared validator. */
  validator: Validator
  /** `false`: requests without bearer credentials pass without `req.auth`. Default `true`. */
  authRequired?: boolean
  /** The `realm` of the `WWW-Authenticate` challenges (RFC 6750 §3), here and in the middlewares after it. */
  realm?: string
}

export type JwtAuthValidatorOptions = ValidatorOptions & {
  /** `false`: requests without bearer credentials pass without `req.auth`. Default `true`. */
  authRequired?: boolean
  /** The `realm` of the `WWW-Authenticate` challenges (RFC 6750 §3), here and in the middlewares after it. */
  realm?: string
}

/**
 * Validates `Authorization: Bearer <token>` and sets `req.auth`. Errors: 401 with
 * `WWW-Authenticate: Bearer` (no token) or `Bearer error="invalid_token", ...`, 400
 * `invalid_request` (a malformed header), 503 when keys or the provider cannot be reached. The
 * error passed to `next` keeps its full message (for your logs); answer clients with
 * `err.headers` and `err.body`, which never carry a provider error's message (CWE-209).
 */
export function jwtAuth(options: JwtAuthOptions | JwtAuthValidatorOptions): Middleware

/**
 * Requires every listed scope (`scope` or `scp` claim). 403 `insufficient_scope` with
 * `scope="..."` otherwise. Use after jwtAuth.
 */
export function requiredScopes(...scopes: Array<string | string[]>): Middleware

/**
 * Runs `check(payload, req)`; a falsy result (or a promise of one) answers 401 invalid_token.
 */
export function claimCheck<T extends Claims = Claims>(
  check: (payload: Readonly<T>, req: IncomingMessage) => boolean | Promise<boolean>,
  description?: string,
): Middleware

/** Options of adminRouter: the admin scope is required (no default: the routes are never open). */
export interface AdminRouterOptions {
  scope: string
  realm?: string
}

/**
 * The admin routes (GET stats, health, metrics, dashboard; POST jwks/refresh, cache/clear,
 * revoke) as one middleware: `app.use('/admin', adminRouter(validator, { scope: 'jwtgate:admin' }))`.
 */
export function adminRouter(
  validator: Validator,
  options: AdminRouterOptions,
): (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void
