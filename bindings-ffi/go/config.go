package jwtgate

import (
	"encoding/json"
	"time"
)

// Config is the canonical jwtgate configuration: the same names (the json tags), the same
// defaults and the same checks as every other face. Unset (nil, zero-length) fields take
// the engine's defaults; durations are in seconds. See core/src/config.rs for each field.
//
// A Config can be loaded from the JSON document other faces use with encoding/json, or
// that document can be passed as-is to NewFromJSON.
//
// One issuer is configured with Issuer and the per-issuer fields below it (Audience, JWKS,
// ...); several with Issuers, one IssuerConfig each. The two forms are exclusive: with
// Issuers, leave Issuer and the per-issuer fields unset (the engine refuses them as a config
// error), except those with a default (VerifyAudience, AccessTokensOnly, RequireExp,
// ClientAuth, the introspection TTLs and rate limit), which become every entry's default.
type Config struct {
	// Issuer is required unless Issuers is given: compared to "iss" exactly, and the base URL
	// for discovery when neither JWKS nor JWKSURI is given.
	Issuer string `json:"issuer"`
	// Issuers: several issuers in one validator. A JWS is routed by its "iss" and verified
	// with that issuer's keys only (keys never cross issuers); an "iss" that names no entry is
	// ErrIssuerMismatch, and an issuer that is not configured is never contacted. Opaque
	// tokens go to the one entry with introspection (ClientID). At most 64 entries, each with
	// a different Issuer. A non-nil empty slice is sent as an empty list (and refused).
	Issuers []IssuerConfig `json:"issuers,omitempty"`
	// Audience: the audiences this API accepts; "aud" must contain one of them exactly.
	Audience Audiences `json:"audience,omitempty"`
	// VerifyAudience: set to false to accept tokens for any audience. Default true.
	VerifyAudience *bool `json:"verify_audience,omitempty"`
	// JWKS is a static key set (a JSON object, or a JSON string holding one): no network.
	JWKS json.RawMessage `json:"jwks,omitempty"`
	// JWKSURI is where to fetch the key set.
	JWKSURI string `json:"jwks_uri,omitempty"`
	// SharedSecret enables HS256/384/512 (at least 32 bytes). HMAC keys never come from a JWKS.
	SharedSecret string `json:"shared_secret,omitempty"`
	// Algorithms allowed, matched exactly. nil: the engine's default. An empty non-nil
	// slice is sent as an empty list (and refused), never widened to the default.
	Algorithms []string `json:"algorithms,omitempty"`
	// Leeway tolerated on exp, nbf and iat, in seconds. Default 30, at most 300.
	Leeway *float64 `json:"leeway,omitempty"`
	// TokenType is the required "typ" header, e.g. "at+jwt" (RFC 9068).
	TokenType string `json:"token_type,omitempty"`
	// AccessTokensOnly: without TokenType, refuse what is certainly not an access token
	// (RFC 8725 §3.11) as token_type_mismatch: a "typ" of another JWT profile (logout+jwt,
	// secevent+jwt, id_token+jwt, ...), ID-token or event claims (nonce, at_hash, c_hash,
	// events), a Keycloak payload "typ" of ID, Refresh, Offline or Logout. A plain "typ: JWT"
	// access token passes. Default true; Bool(false) turns it off.
	AccessTokensOnly *bool `json:"access_tokens_only,omitempty"`
	// RequireExp: "exp" must be present. Default true.
	RequireExp *bool `json:"require_exp,omitempty"`
	// RequiredClaims must be present besides iss, exp and aud.
	RequiredClaims []string `json:"required_claims,omitempty"`
	// MaxTokenAge refuses tokens whose "iat" is older, in seconds.
	MaxTokenAge *float64 `json:"max_token_age,omitempty"`
	// MaxTokenBytes: longer tokens are refused before parsing. Default 16384.
	MaxTokenBytes *int `json:"max_token_bytes,omitempty"`
	// CacheMaxEntries: validated tokens remembered. Default 100000; 0 turns the cache off.
	CacheMaxEntries *int `json:"cache_max_entries,omitempty"`
	// CacheMaxTTL: longest a validated token is remembered, in seconds. Default 300.
	CacheMaxTTL *float64 `json:"cache_max_ttl,omitempty"`
	// JWKSTTL: key set lifetime without Cache-Control max-age, in seconds. Default 600.
	JWKSTTL *float64 `json:"jwks_ttl,omitempty"`
	// JWKSMinTTL and JWKSMaxTTL clamp max-age, in seconds. Defaults 60 and 3600: a key the
	// provider withdraws stops validating within an hour, whatever its max-age says.
	JWKSMinTTL *float64 `json:"jwks_min_ttl,omitempty"`
	JWKSMaxTTL *float64 `json:"jwks_max_ttl,omitempty"`
	// JWKSRefreshCooldown limits the key set refreshes that unknown kids cause, in seconds:
	// the first unknown kid after any other fetch refreshes at once (so a rotated key is
	// accepted with one more fetch), further unknown kids within this time of that refresh
	// fail fast with ErrKeyNotFound. After a failed fetch, every fetch waits this long.
	// Default 30.
	JWKSRefreshCooldown *float64 `json:"jwks_refresh_cooldown,omitempty"`
	// JWKSMaxStale: how long expired keys are still used while the provider is down, in
	// seconds. Default 21600 (6 h).
	JWKSMaxStale *float64 `json:"jwks_max_stale,omitempty"`
	// FetchTimeout: total time for one HTTP fetch, in seconds. Default 5.
	FetchTimeout *float64 `json:"fetch_timeout,omitempty"`
	// AllowHTTP allows http:// URLs for non-loopback hosts. Default false.
	AllowHTTP bool `json:"allow_http,omitempty"`

	// Mode: "auto" (JWTs locally, opaque tokens to introspection), "local" or "introspect".
	Mode string `json:"mode,omitempty"`
	// IntrospectionEndpoint (RFC 7662). Default: from the provider metadata.
	IntrospectionEndpoint string `json:"introspection_endpoint,omitempty"`
	// ClientID and ClientSecret authenticate introspection calls; setting ClientID enables it.
	ClientID     string `json:"client_id,omitempty"`
	ClientSecret string `json:"client_secret,omitempty"`
	// ClientAuth: "client_secret_basic" (default), "client_secret_post", or "none" for
	// endpoints that take no client authentication (Ory Hydra's admin port; then no
	// ClientSecret, and ClientID only enables introspection). RFC 7662 §2.1 wants the caller
	// authenticated: use "none" only where the network protects the endpoint.
	ClientAuth string `json:"client_auth,omitempty"`
	// IntrospectionCacheTTL and IntrospectionNegativeTTL, in seconds.
	IntrospectionCacheTTL    *float64 `json:"introspection_cache_ttl,omitempty"`
	IntrospectionNegativeTTL *float64 `json:"introspection_negative_ttl,omitempty"`
	// IntrospectionRateLimit: introspection calls per second this validator may make;
	// beyond it a new opaque token fails fast with provider_unavailable (503) while cached
	// results keep validating. Default 100; Float(0) means unlimited.
	IntrospectionRateLimit *float64 `json:"introspection_rate_limit,omitempty"`
	// FetchRetries, FetchRetryBackoff (seconds) and FetchDeadline (seconds, all retries).
	FetchRetries      *int     `json:"fetch_retries,omitempty"`
	FetchRetryBackoff *float64 `json:"fetch_retry_backoff,omitempty"`
	FetchDeadline     *float64 `json:"fetch_deadline,omitempty"`
	// BreakerThreshold (failed fetches that open a circuit; 0 disables) and
	// BreakerCooldown (seconds).
	BreakerThreshold *int     `json:"breaker_threshold,omitempty"`
	BreakerCooldown  *float64 `json:"breaker_cooldown,omitempty"`
	// Fleet mode (docs/fleet.md): instances sharing one Redis share introspection answers,
	// key sets and revocations. RedisURL ("redis://" or "rediss://", with user and password
	// if any) or RedisClusterURLs (seed nodes); FleetSecret (at least 32 bytes, the same on
	// every instance) is then required. RedisPrefix defaults to "jwtgate:", RedisTimeout
	// (seconds per command) to 0.05. Redis down never fails a request.
	RedisURL         string   `json:"redis_url,omitempty"`
	RedisClusterURLs []string `json:"redis_cluster_urls,omitempty"`
	RedisPrefix      string   `json:"redis_prefix,omitempty"`
	RedisTimeout     *float64 `json:"redis_timeout,omitempty"`
	FleetSecret      string   `json:"fleet_secret,omitempty"`
}

// MarshalJSON writes the canonical document. It differs from the default encoding in two
// places: a non-nil empty Algorithms is written as [] (refused by the engine) instead of
// being dropped, which would silently allow every algorithm; and so is a non-nil empty
// Issuers, so that the engine's message names the mistake.
func (c Config) MarshalJSON() ([]byte, error) {
	type plain Config // the same fields, without this method
	doc := struct {
		plain
		Algorithms *[]string       `json:"algorithms,omitempty"`
		Issuers    *[]IssuerConfig `json:"issuers,omitempty"`
	}{plain: plain(c)}
	if c.Algorithms != nil {
		doc.Algorithms = &c.Algorithms
	}
	if c.Issuers != nil {
		doc.Issuers = &c.Issuers
	}
	return json.Marshal(doc)
}

// IssuerConfig is one entry of Config.Issuers: one issuer's policy and key source. The
// fields mean what the Config fields of the same names mean; unset (nil, zero-length)
// fields with a default take Config's value, the others the engine's default.
type IssuerConfig struct {
	// Issuer is required: compared to "iss" exactly (it routes the token here), and the base
	// URL for discovery when neither JWKS nor JWKSURI is given.
	Issuer         string    `json:"issuer"`
	Audience       Audiences `json:"audience,omitempty"`
	VerifyAudience *bool     `json:"verify_audience,omitempty"`
	TokenType      string    `json:"token_type,omitempty"`
	// AccessTokensOnly and RequireExp: default Config's (true unless set there).
	AccessTokensOnly *bool           `json:"access_tokens_only,omitempty"`
	RequireExp       *bool           `json:"require_exp,omitempty"`
	JWKS             json.RawMessage `json:"jwks,omitempty"`
	JWKSURI          string          `json:"jwks_uri,omitempty"`
	SharedSecret     string          `json:"shared_secret,omitempty"`
	// Algorithms: nil for the engine's default; a non-nil empty slice is sent as [] (and
	// refused). One issuer's algorithms never widen another's.
	Algorithms     []string `json:"algorithms,omitempty"`
	RequiredClaims []string `json:"required_claims,omitempty"`
	MaxTokenAge    *float64 `json:"max_token_age,omitempty"`
	// Introspection (at most one entry may set ClientID: an opaque token names no issuer).
	IntrospectionEndpoint    string   `json:"introspection_endpoint,omitempty"`
	ClientID                 string   `json:"client_id,omitempty"`
	ClientSecret             string   `json:"client_secret,omitempty"`
	ClientAuth               string   `json:"client_auth,omitempty"`
	IntrospectionCacheTTL    *float64 `json:"introspection_cache_ttl,omitempty"`
	IntrospectionNegativeTTL *float64 `json:"introspection_negative_ttl,omitempty"`
	IntrospectionRateLimit   *float64 `json:"introspection_rate_limit,omitempty"`
}

// MarshalJSON writes the entry as the engine reads it; a non-nil empty Algorithms is
// written as [] (see Config.MarshalJSON).
func (c IssuerConfig) MarshalJSON() ([]byte, error) {
	type plain IssuerConfig
	doc := struct {
		plain
		Algorithms *[]string `json:"algorithms,omitempty"`
	}{plain: plain(c)}
	if c.Algorithms != nil {
		doc.Algorithms = &c.Algorithms
	}
	return json.Marshal(doc)
}

// Audiences is the "audience" option: one or several strings. It reads either JSON form.
type Audiences []string

// UnmarshalJSON accepts "api" as well as ["api", "other"].
func (a *Audiences) UnmarshalJSON(data []byte) error {
	var one string
	if err := json.Unmarshal(data, &one); err == nil {
		*a = Audiences{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(data, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

// Bool returns a pointer to b, for the optional fields of Config.
func Bool(b bool) *bool { return &b }

// Int returns a pointer to n, for the optional fields of Config.
func Int(n int) *int { return &n }

// Float returns a pointer to f, for the optional numeric fields of Config that are not
// durations (IntrospectionRateLimit).
func Float(f float64) *float64 { return &f }

// Seconds returns d in seconds, for the duration fields of Config.
func Seconds(d time.Duration) *float64 {
	s := d.Seconds()
	return &s
}

// Stats are the validator's counters (the document every face returns).
type Stats struct {
	ValidationsOK     uint64            `json:"validations_ok"`
	ValidationsFailed uint64            `json:"validations_failed"`
	FailuresByKind    map[string]uint64 `json:"failures_by_kind"`
	CacheHits         uint64            `json:"cache_hits"`
	CacheMisses       uint64            `json:"cache_misses"`
	CacheEntries      uint64            `json:"cache_entries"`
	SyncDeferred      uint64            `json:"sync_deferred"`
	JWKSFetchesOK     uint64            `json:"jwks_fetches_ok"`
	JWKSFetchesFailed uint64            `json:"jwks_fetches_failed"`
	JWKSKeysRejected  uint64            `json:"jwks_keys_rejected"`
	// JWKSRefreshes counts key set fetches by reason: "initial", "unknown_kid",
	// "scheduled", "expired" and "manual" (RefreshKeys).
	JWKSRefreshes          map[string]uint64 `json:"jwks_refreshes"`
	StaleServed            uint64            `json:"stale_served"`
	UnknownKidFastFailures uint64            `json:"unknown_kid_fast_failures"`
	IntrospectionRequests  uint64            `json:"introspection_requests"`
	IntrospectionActive    uint64            `json:"introspection_active"`
	IntrospectionInactive  uint64            `json:"introspection_inactive"`
	IntrospectionErrors    uint64            `json:"introspection_errors"`
	IntrospectionCacheHits uint64            `json:"introspection_cache_hits"`
	// IntrospectionThrottled: new opaque tokens refused without a request, beyond
	// IntrospectionRateLimit or while the provider's Retry-After (HTTP 429) runs.
	IntrospectionThrottled uint64 `json:"introspection_throttled"`
	HTTPRetries            uint64 `json:"http_retries"`
	BreakerTransitions     uint64 `json:"breaker_transitions"`
	// Fleet mode's counters (zero without Redis): answers and key sets found in Redis or
	// not, failed or skipped commands, values that failed the FleetSecret check (never
	// used), waits for another instance's provider call, revocations sent and received,
	// key sets taken from Redis instead of the provider.
	RedisL2Hits               uint64 `json:"redis_l2_hits"`
	RedisL2Misses             uint64 `json:"redis_l2_misses"`
	RedisErrors               uint64 `json:"redis_errors"`
	RedisTampered             uint64 `json:"redis_tampered"`
	RedisLeaseWaits           uint64 `json:"redis_lease_waits"`
	RedisRevocationsPublished uint64 `json:"redis_revocations_published"`
	RedisRevocationsReceived  uint64 `json:"redis_revocations_received"`
	RedisJWKSShared           uint64 `json:"redis_jwks_shared"`
	// Latency holds the latency histograms with p50/p95/p99 (nanoseconds; cache hits are
	// sampled 1 in 64 and counted 64 times).
	Latency Latency `json:"latency"`
	// Extra holds counters this version of the Go package does not name yet.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON fills the named fields and keeps every counter in Extra as well.
func (s *Stats) UnmarshalJSON(data []byte) error {
	type plain Stats
	if err := json.Unmarshal(data, (*plain)(s)); err != nil {
		return err
	}
	return json.Unmarshal(data, &s.Extra)
}

// Health describes a validator's key sources and key sets. The top-level Issuer, KeySource,
// JWKS, Discovery and Introspection describe the first issuer (for a single-issuer
// validator: the only one); Issuers has every issuer.
type Health struct {
	Issuer string `json:"issuer"`
	// KeySource: "static", "remote" or "shared_secret".
	KeySource     string               `json:"key_source"`
	JWKS          *JWKSHealth          `json:"jwks"`
	Discovery     *BreakerHealth       `json:"discovery"`
	Introspection *IntrospectionHealth `json:"introspection"`
	CacheEntries  uint64               `json:"cache_entries"`
	Issuers       []IssuerHealth       `json:"issuers"`
	// Fleet: the Redis connection, subscription and breaker; nil without Redis.
	Fleet *FleetHealth `json:"fleet"`
	// Extra holds every member, including those this version does not name yet.
	Extra map[string]json.RawMessage `json:"-"`
}

// FleetHealth is fleet mode's part of Health.
type FleetHealth struct {
	// Mode: "single" or "cluster".
	Mode string `json:"mode"`
	// Nodes: the Redis URLs, without user or password.
	Nodes []string `json:"nodes"`
	// Connected: the last command (or the subscription) reached Redis.
	Connected bool `json:"connected"`
	// Subscribed: revocations from other instances arrive.
	Subscribed bool `json:"subscribed"`
	// PendingRevocations: made here while Redis could not take them (retried).
	PendingRevocations int           `json:"pending_revocations"`
	Breaker            BreakerHealth `json:"breaker"`
	LastError          *string       `json:"last_error"`
}

// IssuerHealth is one issuer's part of Health.
type IssuerHealth struct {
	Issuer string `json:"issuer"`
	// KeySource: "static", "remote" or "shared_secret".
	KeySource     string               `json:"key_source"`
	JWKS          *JWKSHealth          `json:"jwks"`
	Discovery     *BreakerHealth       `json:"discovery"`
	Introspection *IntrospectionHealth `json:"introspection"`
}

// UnmarshalJSON fills the named fields and keeps every member in Extra as well.
func (h *Health) UnmarshalJSON(data []byte) error {
	type plain Health
	if err := json.Unmarshal(data, (*plain)(h)); err != nil {
		return err
	}
	return json.Unmarshal(data, &h.Extra)
}

// JWKSHealth is the state of a remote key set.
type JWKSHealth struct {
	Loaded     bool     `json:"loaded"`
	Keys       int      `json:"keys"`
	Kids       []string `json:"kids"`
	AgeSeconds *float64 `json:"age_seconds"`
	// Freshness: "fresh", "stale", "expired" or "empty".
	Freshness string  `json:"freshness"`
	LastError *string `json:"last_error"`
	// Problem says what LastError is: "misconfiguration" (retrying will not help: the
	// provider's metadata names another issuer, say) or "outage"; nil when the last fetch
	// worked.
	Problem       *string       `json:"problem"`
	FetchesOK     uint64        `json:"fetches_ok"`
	FetchesFailed uint64        `json:"fetches_failed"`
	Breaker       BreakerHealth `json:"breaker"`
}

// IntrospectionHealth is the state of an issuer's introspection endpoint.
type IntrospectionHealth struct {
	// Endpoint: nil until discovered.
	Endpoint *string       `json:"endpoint"`
	Breaker  BreakerHealth `json:"breaker"`
	// Requests sent to this issuer's endpoint.
	Requests uint64 `json:"requests"`
	// Misconfigured: the endpoint refused our own request (HTTP 400/401/403) the last time:
	// ClientID, ClientSecret or ClientAuth are wrong, which retrying will not fix (or, for
	// Keycloak, the client is not in the tokens' "aud").
	Misconfigured bool `json:"misconfigured"`
}

// BreakerHealth is the state of one endpoint's circuit breaker.
type BreakerHealth struct {
	Endpoint string `json:"endpoint"`
	// State: "closed", "open" or "half_open".
	State               string  `json:"state"`
	ConsecutiveFailures uint32  `json:"consecutive_failures"`
	LastError           *string `json:"last_error"`
}

// Histogram is one latency histogram of Stats (times in nanoseconds).
type Histogram struct {
	Count uint64 `json:"count"`
	SumNs uint64 `json:"sum_ns"`
	// Buckets holds [upper bound, cumulative count] pairs, ascending; +Inf is Count.
	Buckets [][2]uint64 `json:"buckets"`
	P50Ns   uint64      `json:"p50_ns"`
	P95Ns   uint64      `json:"p95_ns"`
	P99Ns   uint64      `json:"p99_ns"`
}

// Latency is validation time by path and provider call time by endpoint.
type Latency struct {
	Validation struct {
		Hit           Histogram `json:"hit"`
		Local         Histogram `json:"local"`
		Introspection Histogram `json:"introspection"`
	} `json:"validation"`
	Provider struct {
		Discovery     Histogram `json:"discovery"`
		JWKS          Histogram `json:"jwks"`
		Introspection Histogram `json:"introspection"`
	} `json:"provider"`
}
