// Type definitions for jwtgate (hand-written, committed; checked by `tsc --strict` in `make test`).
// Option names are the canonical configuration (docs/config.md) in camelCase; durations are
// seconds and may have fractions.

/** A JSON Web Key Set (RFC 7517 §5). */
export interface Jwks {
  keys: Array<Record<string, unknown>>
}

/**
 * One issuer's policy and key source: the top-level options of a single-issuer validator, or
 * one entry of `issuers`.
 */
export interface IssuerOptions {
  /** Required. Compared to `iss` exactly; also the base URL for discovery. */
  issuer: string
  /** The audiences this API accepts; `aud` must contain one of them exactly. */
  audience?: string | string[]
  /** `false` accepts any audience (then `audience` may be omitted). Default `true`. */
  verifyAudience?: boolean
  /** A static JWKS (object or JSON text): no network at all. */
  jwks?: Jwks | string
  /** Fetch the JWKS from here. Without `jwks` and `jwksUri`, discovery from `issuer`. */
  jwksUri?: string
  /** HMAC secret (its UTF-8 bytes), at least 32 bytes. HS* keys never come from a JWKS. */
  sharedSecret?: string
  /** Allowed `alg` values, exact and case-sensitive; `none` cannot be listed. */
  algorithms?: string[]
  /** Required `typ` header as a media type, e.g. `at+jwt` (RFC 9068). Default: not checked. */
  tokenType?: string
  /**
   * Without `tokenType`, refuse what is certainly not an access token (RFC 8725 §3.11): a `typ`
   * of another JWT profile (`logout+jwt`, `id_token+jwt`, ...), ID-token or event claims
   * (`nonce`, `at_hash`, `c_hash`, `events`), a Keycloak payload `typ` other than `Bearer`.
   * Such tokens fail with kind `token_type_mismatch`. Default `true`.
   */
  accessTokensOnly?: boolean
  /** `exp` must be present. Default `true`. */
  requireExp?: boolean
  /** Claims that must be present (besides `iss`, `aud`, `exp`). */
  requiredClaims?: string[]
  /** Refuse tokens whose `iat` is older than this. */
  maxTokenAge?: number
  /** RFC 7662 endpoint; default: from the provider's metadata. */
  introspectionEndpoint?: string
  /** The resource server's credentials at the provider (enables introspection). */
  clientId?: string
  /** Not with `clientAuth: 'none'`. */
  clientSecret?: string
  /**
   * Default `client_secret_basic`. `none` sends no client authentication, for endpoints that take
   * none (Ory Hydra's admin port); RFC 7662 §2.1 wants the caller authenticated, so use it only
   * where the network protects the endpoint.
   */
  clientAuth?: 'client_secret_basic' | 'client_secret_post' | 'none'
  /** How long an active introspection answer is remembered. Default 60. */
  introspectionCacheTtl?: number
  /** How long `active: false` is remembered. Default 0 (off). */
  introspectionNegativeTtl?: number
  /**
   * Introspection calls per second this validator may make; beyond it a new opaque token fails
   * fast with `provider_unavailable` (cached ones keep validating). Default 100; 0 = unlimited.
   */
  introspectionRateLimit?: number
}

/** The options of the engine, shared by every issuer of a validator. */
export interface EngineOptions {
  /**
   * Where the engine's audit and key-set events go (none by default): a pino-compatible logger,
   * called on the JS thread as `logger.info({ target, event, ... }, message)`. Events are the
   * process's: every logger given gets every validator's. `removeLogger(logger)` stops it.
   */
  logger?: EventLogger
  /** Clock skew tolerated on `exp`, `nbf`, `iat`. Default 30, at most 300. */
  leeway?: number
  /** Longer tokens are refused before any parsing. Default 16384 (64 to 1048576). */
  maxTokenBytes?: number
  /** Validated tokens remembered; `0` turns the result cache off. Default 100000. */
  cacheMaxEntries?: number
  /** Longest a token is remembered (never past its `exp`). Default 300. */
  cacheMaxTtl?: number
  /** JWKS lifetime without `Cache-Control: max-age`. Default 600. */
  jwksTtl?: number
  /**
   * `max-age` is clamped to `[jwksMinTtl, jwksMaxTtl]`. Defaults 60 and 3600: a key the provider
   * withdraws stops validating within an hour.
   */
  jwksMinTtl?: number
  jwksMaxTtl?: number
  /**
   * Limits the JWKS refreshes that unknown `kid`s cause: the first unknown kid after any other
   * fetch refreshes at once (a rotation is accepted with one more fetch), further ones within
   * this time of that refresh fail fast with `key_not_found`. After a failed fetch, every fetch
   * waits this long. Default 30.
   */
  jwksRefreshCooldown?: number
  /** How long stale keys keep serving while the provider is down. Default 21600 (6 h). */
  jwksMaxStale?: number
  /** One HTTP attempt: connect, headers and body. Default 5. */
  fetchTimeout?: number
  /** Allow `http://` URLs to non-loopback hosts. Default `false`. */
  allowHttp?: boolean
  /** Which path a token takes. Default `auto`. */
  mode?: 'auto' | 'local' | 'introspect'
  /** Retries after a connect error, timeout, 5xx or 429. Default 2. */
  fetchRetries?: number
  /** First retry backoff, doubled each retry. Default 0.1. */
  fetchRetryBackoff?: number
  /** Total time for a fetch, retries included. Default 10. */
  fetchDeadline?: number
  /** Consecutive failures that open an endpoint's circuit; 0 disables. Default 5. */
  breakerThreshold?: number
  /** How long an open circuit fails fast. Default 30. */
  breakerCooldown?: number
  /**
   * Fleet mode (docs/fleet.md): instances sharing one Redis share introspection answers, key
   * sets and revocations. `redis://` or `rediss://` URL, with user and password if any.
   * Exclusive with `redisClusterUrls`; `fleetSecret` is then required.
   */
  redisUrl?: string
  /** Seed node URLs of a Redis Cluster. */
  redisClusterUrls?: string[]
  /** Prefix of every Redis key and channel. Default `jwtgate:`. */
  redisPrefix?: string
  /** Seconds per Redis command; slower is a failure and the instance goes on alone. Default 0.05. */
  redisTimeout?: number
  /** At least 32 bytes, the same on every instance: keys and authenticates what jwtgate writes to Redis. */
  fleetSecret?: string
}

/** One issuer: its options and the engine's at the top level. */
export interface SingleIssuerOptions extends IssuerOptions, EngineOptions {
  issuers?: never
}

/**
 * Several issuers in one validator. A JWS is routed by its `iss` and verified with that issuer's
 * keys only; an `iss` that names no entry is `issuer_mismatch`, with no network traffic. Opaque
 * tokens go to the one entry with introspection (two such entries are a ConfigError).
 */
export interface ManyIssuerOptions extends EngineOptions {
  /** 1 to 64 entries, each with a different `issuer`. */
  issuers: IssuerOptions[]
  /** Defaults for the entries that leave them out. */
  verifyAudience?: boolean
  accessTokensOnly?: boolean
  requireExp?: boolean
  clientAuth?: IssuerOptions['clientAuth']
  introspectionCacheTtl?: number
  introspectionNegativeTtl?: number
  introspectionRateLimit?: number
  // Exclusive with `issuers`, or set in each entry: a ConfigError at the top level.
  issuer?: never
  audience?: never
  jwks?: never
  jwksUri?: never
  sharedSecret?: never
  algorithms?: never
  tokenType?: never
  requiredClaims?: never
  maxTokenAge?: never
  introspectionEndpoint?: never
  clientId?: never
  clientSecret?: never
}

/** The options of `new Validator()`: the canonical configuration (docs/config.md) in camelCase. */
export type ValidatorOptions = SingleIssuerOptions | ManyIssuerOptions

/**
 * Verified claims. The object is deep-frozen: every request presenting the same token shares it.
 */
export interface Claims {
  readonly iss?: string
  readonly sub?: string
  readonly aud?: string | readonly string[]
  readonly exp?: number
  readonly nbf?: number
  readonly iat?: number
  readonly jti?: string
  readonly scope?: string
  readonly scp?: string | readonly string[]
  readonly client_id?: string
  readonly [claim: string]: unknown
}

/** The protected JOSE header (`{}` for introspected tokens). */
export interface JoseHeader {
  readonly alg?: string
  readonly kid?: string
  readonly typ?: string
  readonly [parameter: string]: unknown
}

export interface RevokeSpec {
  /** Revoke the token with this `jti` (not empty)... */
  jti?: string
  /** ...until this time (Date or Unix seconds, in the future; default: for the life of the validator). */
  until?: Date | number
  /** Revoke every token of this subject (not empty)... */
  sub?: string
  /** ...issued at or before this time (Date or Unix seconds, not in the future; default: now). */
  issuedBefore?: Date | number
}

export interface Stats {
  validationsOk: number
  validationsFailed: number
  /** Failures by error kind (kinds never seen are left out). */
  failuresByKind: Record<string, number>
  cacheHits: number
  cacheMisses: number
  cacheEntries: number
  /** Synchronous calls told `keys_not_loaded`. */
  syncDeferred: number
  jwksFetchesOk: number
  jwksFetchesFailed: number
  jwksKeysRejected: number
  /** Fetches started, by reason (`initial`, `unknown_kid`, `scheduled`, `expired`, `manual`). */
  jwksRefreshes: Record<string, number>
  staleServed: number
  unknownKidFastFailures: number
  /** Introspection calls made, and their answers. */
  introspectionRequests: number
  introspectionActive: number
  introspectionInactive: number
  introspectionErrors: number
  /** Opaque tokens answered from the result cache or the negative cache. */
  introspectionCacheHits: number
  /** New opaque tokens refused without a call: `introspectionRateLimit`, or a 429's `Retry-After`. */
  introspectionThrottled: number
  httpRetries: number
  breakerTransitions: number
  /** Fleet mode (zero without Redis): answers and key sets found in Redis, or not. */
  redisL2Hits: number
  redisL2Misses: number
  /** Redis commands that failed, timed out or were skipped (circuit open). */
  redisErrors: number
  /** Values in Redis that failed the `fleetSecret` check: never used. */
  redisTampered: number
  /** Waits for another instance's provider call (distributed single flight). */
  redisLeaseWaits: number
  redisRevocationsPublished: number
  redisRevocationsReceived: number
  /** Key sets taken from Redis instead of the provider. */
  redisJwksShared: number
  /** Latency histograms with p50/p95/p99 (nanoseconds; cache hits sampled 1 in 64, weighted). */
  latency: Latency
  [counter: string]: number | Record<string, number> | Latency
}

/** One histogram of `stats().latency` (times in nanoseconds). */
export interface Histogram {
  count: number
  sum_ns: number
  /** `[upper bound, cumulative count]` per bucket, ascending; `+Inf` is `count`. */
  buckets: Array<[number, number]>
  p50_ns: number
  p95_ns: number
  p99_ns: number
}

export interface Latency {
  validation: { hit: Histogram; local: Histogram; introspection: Histogram }
  provider: { discovery: Histogram; jwks: Histogram; introspection: Histogram }
}

/** One family of the engine's Prometheus text (`metricFamilies()`). */
export interface MetricFamily {
  name: string
  help: string
  type: 'counter' | 'gauge' | 'histogram'
  samples: Array<{ name: string; labels: Array<[string, string]>; value: number }>
}

/** A pino-compatible logger (console works too): `logger.info(fields, message)`. */
export interface EventLogger {
  level?: string
  error(fields: Record<string, unknown>, message: string): void
  warn(fields: Record<string, unknown>, message: string): void
  info(fields: Record<string, unknown>, message: string): void
  debug?(fields: Record<string, unknown>, message: string): void
  trace?(fields: Record<string, unknown>, message: string): void
}

export interface BreakerHealth {
  endpoint: string
  state: 'closed' | 'open' | 'half_open'
  consecutiveFailures: number
  lastError: string | null
}

export interface JwksHealth {
  loaded: boolean
  keys: number
  kids: string[]
  /** Seconds since the last successful fetch. */
  ageSeconds: number | null
  /** `stale`: past its lifetime, still used; `expired`: past `jwksMaxStale`. */
  freshness: 'fresh' | 'stale' | 'expired' | 'empty'
  /** Names the provider's URL and the OS error: for operators only (CWE-209). */
  lastError: string | null
  /**
   * What `lastError` is: `misconfiguration` (retrying will not help, e.g. the provider's
   * metadata names another issuer: check `issuer`'s trailing slash and host) or `outage`;
   * `null` when the last fetch worked.
   */
  problem: 'misconfiguration' | 'outage' | null
  fetchesOk: number
  fetchesFailed: number
  breaker: BreakerHealth
}

export interface IntrospectionHealth {
  /** `null` until discovered. */
  endpoint: string | null
  breaker: BreakerHealth
  /** Requests sent to this issuer's endpoint. */
  requests: number
  /**
   * The endpoint refused our own request (HTTP 400/401/403) the last time: `clientId`,
   * `clientSecret` or `clientAuth` is wrong (for Keycloak: the client is not in the tokens'
   * `aud`). Retrying will not fix it.
   */
  misconfigured: boolean
}

/** One issuer's part of `health()`. */
export interface IssuerHealth {
  issuer: string
  keySource: 'static' | 'remote' | 'shared_secret'
  /** `null` for static keys and HMAC-only issuers. */
  jwks: JwksHealth | null
  discovery: BreakerHealth | null
  introspection: IntrospectionHealth | null
}

/**
 * The top-level fields describe the first issuer (of a single-issuer validator: the only one);
 * `issuers` has every issuer, in the order of the options.
 */
export interface Health extends IssuerHealth {
  cacheEntries: number
  issuers: IssuerHealth[]
  /** Fleet mode: the Redis connection, subscription and breaker; `null` without Redis. */
  fleet: FleetHealth | null
}

export interface FleetHealth {
  mode: 'single' | 'cluster'
  /** The Redis URLs, without user or password. */
  nodes: string[]
  /** The last command (or the subscription) reached Redis. */
  connected: boolean
  /** Revocations from other instances arrive. */
  subscribed: boolean
  /** Revocations made here that Redis has not taken yet (retried). */
  pendingRevocations: number
  breaker: BreakerHealth
  lastError: string | null
}

export class Validator {
  /** @throws {ConfigError} when an option is invalid (the message names it) */
  constructor(options: ValidatorOptions)
  /**
   * Validates, fetching keys or introspecting when needed. Never blocks the event loop nor a
   * libuv pool thread (the network runs on the engine's own runtime); a cache hit resolves
   * without a thread hop.
   */
  validate<T extends Claims = Claims>(token: string): Promise<Readonly<T>>
  /**
   * Validates without any network I/O: from the result cache or with keys already loaded.
   * @throws {ProviderUnavailableError} kind `keys_not_loaded` when keys must be fetched first
   * @throws {InvalidTokenError} when the token is bad
   * @throws {TypeError} when `token` is not a string
   */
  validateSync<T extends Claims = Claims>(token: string): Readonly<T>
  /**
   * Loads remote keys now (start-up). Static and HMAC validators are always ready.
   * @throws {ProviderUnavailableError} (rejects) when a provider cannot be reached
   * @throws {ConfigError} (rejects) when retrying cannot help: the provider's metadata names
   *   another issuer
   */
  ready(): Promise<void>
  /**
   * Fetches the key sets now: every issuer's, or only `issuer`'s (its `issuer` option, exactly),
   * unless a fetch of that set started in the last second. After a key is added or withdrawn at
   * the provider, this applies it at once instead of at the next scheduled refresh. Static and
   * HMAC-only issuers resolve at once.
   * @throws {ConfigError} (rejects) when `issuer` is not configured
   * @throws {ProviderUnavailableError} (rejects) when a provider cannot be reached
   * @throws {TypeError} (rejects) when `issuer` is not a string
   */
  refreshKeys(issuer?: string): Promise<void>
  /**
   * Drops every cached result (validated tokens and introspection answers): each token is
   * validated afresh on its next use.
   * @returns how many cached results were dropped
   */
  clearCache(): number
  /**
   * @returns how many cached results were dropped
   * @throws {ConfigError} for an empty id, a time that is not finite (NaN, an invalid Date), an
   *   `until` already past, an `issuedBefore` that is negative or in the future: a revocation
   *   never fails open
   * @throws {TypeError} for arguments of the wrong type
   */
  revoke(spec: RevokeSpec): number
  stats(): Stats
  /** Prometheus text exposition format. */
  metricsText(): string
  /** The Prometheus text's families as data (what jwtgate/prometheus registers). */
  metricFamilies(): MetricFamily[]
  health(): Health
}

/** The stable snake_case kind names of the core. */
export type ErrorKind =
  | 'malformed'
  | 'token_too_large'
  | 'unsupported_token'
  | 'unsupported_header'
  | 'missing_token'
  | 'invalid_request'
  | 'algorithm_not_allowed'
  | 'key_not_found'
  | 'signature_invalid'
  | 'expired'
  | 'not_yet_valid'
  | 'issued_in_future'
  | 'token_too_old'
  | 'issuer_mismatch'
  | 'audience_mismatch'
  | 'missing_claim'
  | 'invalid_claim'
  | 'token_type_mismatch'
  | 'revoked'
  | 'inactive'
  | 'insufficient_scope'
  | 'jwks_unavailable'
  | 'provider_unavailable'
  | 'keys_not_loaded'
  | 'config'
  | 'internal'

/** The core's error classes (`ErrorKind::class`): each names one class below. */
export type ErrorClass =
  | 'invalid_token'
  | 'malformed'
  | 'signature'
  | 'expired'
  | 'invalid_claims'
  | 'revoked'
  | 'insufficient_scope'
  | 'provider_unavailable'
  | 'keys_not_loaded'
  | 'config'
  | 'internal'

/** The JSON body of the HTTP answer to an error, as every jwtgate face sends it. */
export interface ErrorBody {
  /** RFC 6750 §3.1 / RFC 6749 error code; `unauthorized` for a request without a token. */
  error: string
  /** The message (token faults) or the kind's `clientDescription`; absent without a token. */
  error_description?: string
  kind: ErrorKind
}

export class JwtGateError extends Error {
  /** Stable snake_case name, e.g. `expired`. */
  readonly kind: ErrorKind
  /**
   * What an HTTP answer may tell the client in place of `message`, or `null` when the message
   * is about the token and safe to return. Set for provider, config and internal errors, whose
   * messages name the provider's URL, the OS error or a credentials hint (CWE-209): log
   * `message`; `body` and `headers` already use this.
   */
  readonly clientDescription: string | null
  /** Stable numeric code, e.g. 1200 (never reused). */
  readonly code: number
  /** The HTTP status to answer with: 400, 401, 403, 503 or 500. */
  readonly status: number
  /** http-errors convention: the same as `status`. */
  statusCode: number
  /** http-errors convention: whether `message` may be shown to a client (never for a 5xx). */
  expose: boolean
  /**
   * The headers of the HTTP answer (the core's): `WWW-Authenticate` (RFC 6750 §3) for 400, 401
   * and 403, none otherwise; jwtgate/express adds its `realm` and the route's scopes.
   */
  headers: Record<string, string>
  /** The JSON body of the HTTP answer (the core's). */
  body: ErrorBody
  constructor(message: string, kind: ErrorKind, code: number, status: number)
}
/** The token is bad: RFC 6750 `invalid_token`, status 401; also a request without a token (`missing_token`). */
export class InvalidTokenError extends JwtGateError {}
/** Not a well-formed token, too large, or a header we refuse; a malformed `Authorization` header (`invalid_request`, 400). */
export class MalformedTokenError extends InvalidTokenError {}
/** The signature does not verify, no key matches, or the algorithm is not allowed. */
export class SignatureError extends InvalidTokenError {}
/** `exp` has passed. */
export class ExpiredTokenError extends InvalidTokenError {}
/** A registered claim or the `typ` header fails the policy (issuer, audience, ...). */
export class InvalidClaimsError extends InvalidTokenError {}
/** Revoked by `jti` or subject, or inactive at introspection. */
export class RevokedTokenError extends InvalidTokenError {}
/** A required scope is missing: RFC 6750 `insufficient_scope`, status 403. */
export class InsufficientScopeError extends JwtGateError {}
/** The provider or its keys cannot be reached: status 503. */
export class ProviderUnavailableError extends JwtGateError {}
/** `validateSync` needed keys that are not loaded yet (kind `keys_not_loaded`). */
export class KeysNotLoadedError extends ProviderUnavailableError {}
/** Invalid options; the message names the option. Status 500. */
export class ConfigError extends JwtGateError {}
/** A bug in jwtgate (kind `internal`). Status 500. */
export class InternalError extends JwtGateError {}

export interface ErrorKindInfo {
  readonly kind: ErrorKind
  readonly code: number
  readonly status: number
  /** The class its errors are (the core's table, the same in every face). */
  readonly class: ErrorClass
  /** What a client is told in place of the message; `null` for token faults. */
  readonly clientDescription: string | null
}
/** Every core error kind, in code order. */
export const errorKinds: readonly ErrorKindInfo[]
/** The version of the jwtgate core. */
export const version: string
/** Stops sending the engine's events to `logger`. */
export function removeLogger(logger: EventLogger): void
