package jwtgate

import "errors"

// Error is what every failing call returns: a stable snake_case Kind (the same in every
// jwtgate face), a stable numeric Code and a message that never contains the token, key
// material or secrets (safe to log and to return to a client).
//
// Compare with errors.Is against the sentinels below: a specific kind (ErrExpired) or a
// family (ErrInvalidToken, ErrProviderUnavailable).
type Error struct {
	kind    string
	code    int
	message string
	status  int
	// lo..hi is the range of codes this value matches as an errors.Is target: one code
	// for a kind, a whole range for a family sentinel.
	lo, hi int
}

// Kind is the stable snake_case name, e.g. "expired".
func (e *Error) Kind() string { return e.kind }

// Code is the stable numeric code, e.g. 1200 for "expired".
func (e *Error) Code() int { return e.code }

// Message is the human-readable detail.
func (e *Error) Message() string { return e.message }

// HTTPStatus is the status a resource server should answer: 401 for a bad token, 403 for
// insufficient scope, 503 when keys or the provider cannot be reached, 500 otherwise.
func (e *Error) HTTPStatus() int {
	if e.status != 0 {
		return e.status
	}
	return 500
}

func (e *Error) Error() string {
	if e.message == "" {
		return "jwtgate: " + e.kind
	}
	return "jwtgate: " + e.kind + ": " + e.message
}

// Is makes errors.Is(err, ErrExpired) and errors.Is(err, ErrInvalidToken) work.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.lo <= e.code && e.code <= t.hi
}

// The codes the package itself needs to recognise.
const (
	codeKeysNotLoaded = 2002
	codeConfig        = 3000
	codeInternal      = 9000
)

func kind(name string, code int) *Error {
	return &Error{kind: name, code: code, lo: code, hi: code}
}

func family(name string, lo, hi int) *Error {
	return &Error{kind: name, lo: lo, hi: hi}
}

// Families, by the core's code ranges.
var (
	// ErrInvalidToken matches every fault of the token itself (codes 1000-1399; RFC 6750
	// invalid_token, HTTP 401): malformed, bad signature, expired, wrong audience, ...
	ErrInvalidToken = family("invalid_token", 1000, 1399)
	// ErrProviderUnavailable matches jwks_unavailable, provider_unavailable and
	// keys_not_loaded (codes 2000-2999, HTTP 503): retrying later may succeed.
	ErrProviderUnavailable = family("provider_unavailable", 2000, 2999)
)

// One sentinel per error kind (codes as in the core's error table).
var (
	ErrMalformed           = kind("malformed", 1000)
	ErrTokenTooLarge       = kind("token_too_large", 1001)
	ErrUnsupportedToken    = kind("unsupported_token", 1002)
	ErrUnsupportedHeader   = kind("unsupported_header", 1003)
	ErrMissingToken        = kind("missing_token", 1004)
	ErrAlgorithmNotAllowed = kind("algorithm_not_allowed", 1100)
	ErrKeyNotFound         = kind("key_not_found", 1101)
	ErrSignatureInvalid    = kind("signature_invalid", 1102)
	ErrExpired             = kind("expired", 1200)
	ErrNotYetValid         = kind("not_yet_valid", 1201)
	ErrIssuedInFuture      = kind("issued_in_future", 1202)
	ErrTokenTooOld         = kind("token_too_old", 1203)
	ErrIssuerMismatch      = kind("issuer_mismatch", 1204)
	ErrAudienceMismatch    = kind("audience_mismatch", 1205)
	ErrMissingClaim        = kind("missing_claim", 1206)
	ErrInvalidClaim        = kind("invalid_claim", 1207)
	ErrTokenTypeMismatch   = kind("token_type_mismatch", 1208)
	ErrRevoked             = kind("revoked", 1300)
	ErrInactive            = kind("inactive", 1301)
	ErrInsufficientScope   = kind("insufficient_scope", 1400)
	ErrJWKSUnavailable     = kind("jwks_unavailable", 2000)
	// ErrProviderDown is the single kind provider_unavailable (2001); ErrProviderUnavailable
	// is the whole family.
	ErrProviderDown  = kind("provider_unavailable", 2001)
	ErrKeysNotLoaded = kind("keys_not_loaded", codeKeysNotLoaded)
	ErrConfig        = kind("config", codeConfig)
	ErrInternal      = kind("internal", codeInternal)
)

// ErrClosed is returned by calls on a validator after Close.
var ErrClosed = errors.New("jwtgate: the validator is closed")

// kindSentinels lists every per-kind sentinel (the test checks it against the C ABI).
var kindSentinels = []*Error{
	ErrMalformed, ErrTokenTooLarge, ErrUnsupportedToken, ErrUnsupportedHeader, ErrMissingToken,
	ErrAlgorithmNotAllowed, ErrKeyNotFound, ErrSignatureInvalid, ErrExpired, ErrNotYetValid,
	ErrIssuedInFuture, ErrTokenTooOld, ErrIssuerMismatch, ErrAudienceMismatch,
	ErrMissingClaim, ErrInvalidClaim, ErrTokenTypeMismatch, ErrRevoked, ErrInactive,
	ErrInsufficientScope, ErrJWKSUnavailable, ErrProviderDown, ErrKeysNotLoaded, ErrConfig,
	ErrInternal,
}
