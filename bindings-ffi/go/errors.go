package jwtgate

import "errors"

// Error is what every failing call returns: a stable snake_case Kind (the same in every
// jwtgate face), a stable numeric Code and a message that never contains the token, key
// material or secrets (safe to log; what a client may be told is the Middleware's business).
//
// Compare with errors.Is against the sentinels below: a specific kind (ErrExpired), a class
// (ErrMalformedToken, ErrSignature, ...) or a family (ErrInvalidToken,
// ErrProviderUnavailable). Codes, statuses and classes are the engine's own table, read when
// the package loads: they cannot differ from the other faces'.
type Error struct {
	kind    string
	code    int
	message string
	status  int
	// group is set on class and family sentinels: the class they stand for. A kind sentinel
	// has none and matches its own code only.
	group string
}

// Kind is the stable snake_case name, e.g. "expired".
func (e *Error) Kind() string { return e.kind }

// Code is the stable numeric code, e.g. 1200 for "expired".
func (e *Error) Code() int { return e.code }

// Message is the human-readable detail.
func (e *Error) Message() string { return e.message }

// HTTPStatus is the status a resource server should answer: 401 for a bad token, 400 for a
// malformed Authorization header, 403 for insufficient scope, 503 when keys or the provider
// cannot be reached, 500 otherwise.
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

// Is makes errors.Is(err, ErrExpired), errors.Is(err, ErrSignature) and
// errors.Is(err, ErrInvalidToken) work; a class is in its family too
// (errors.Is(ErrSignature, ErrInvalidToken)).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	if t.group == "" {
		return e.group == "" && t.code == e.code
	}
	if e.group == "" {
		k := errorKinds.byCode[e.code]
		return k != nil && k.in(t.group)
	}
	found := false
	for i := range errorKinds.rows {
		if k := &errorKinds.rows[i]; k.Class == e.group {
			if !k.in(t.group) {
				return false
			}
			found = true
		}
	}
	return found
}

// in reports whether kind k belongs to class or family group.
func (k *errorKind) in(group string) bool {
	switch group {
	case "invalid_token": // every fault of the token or the credentials (RFC 6750 §3.1)
		return k.TokenFault || k.Class == group
	case "provider_unavailable": // every outage where retrying later may succeed
		return k.Unavailable || k.Class == group
	default:
		return k.Class == group
	}
}

// withMessage is a new error of e's kind.
func (e *Error) withMessage(message string) *Error {
	c := *e
	c.message = message
	return &c
}

// kind is the sentinel of one kind of the engine's table.
func kind(name string) *Error {
	k := errorKinds.byName[name]
	if k == nil {
		// A kind the engine does not know: the sentinel matches nothing (the test names it).
		return &Error{kind: name, code: -1}
	}
	return &Error{kind: k.Kind, code: k.Code, status: k.Status}
}

// class is the sentinel of one class (or family) of the engine's table.
func class(name string) *Error {
	return &Error{kind: name, group: name}
}

// Families and classes, as the engine classifies its kinds (the same hierarchy as Python's
// and Node's error classes).
var (
	// ErrInvalidToken matches every fault of the token itself or of the request's
	// credentials (HTTP 401 or 400): a missing token, a malformed Authorization header, and
	// every class below down to ErrRevokedToken.
	ErrInvalidToken = class("invalid_token")
	// ErrMalformedToken: not a well-formed compact JWS, too large, a refused header, not a
	// JWT, or not one bearer token in the Authorization header.
	ErrMalformedToken = class("malformed")
	// ErrSignature: the signature does not verify, no key matches, or the algorithm is not
	// allowed.
	ErrSignature = class("signature")
	// ErrInvalidClaims: a registered claim or the typ header fails the policy (issuer,
	// audience, nbf, iat, ...). An expired token is ErrExpired.
	ErrInvalidClaims = class("invalid_claims")
	// ErrRevokedToken: revoked by jti or subject, or inactive at the introspection endpoint.
	ErrRevokedToken = class("revoked")
	// ErrProviderUnavailable matches jwks_unavailable, provider_unavailable and
	// keys_not_loaded (HTTP 503): retrying later may succeed.
	ErrProviderUnavailable = class("provider_unavailable")
)

// One sentinel per error kind.
var (
	ErrMalformed           = kind("malformed")
	ErrTokenTooLarge       = kind("token_too_large")
	ErrUnsupportedToken    = kind("unsupported_token")
	ErrUnsupportedHeader   = kind("unsupported_header")
	ErrMissingToken        = kind("missing_token")
	ErrInvalidRequest      = kind("invalid_request")
	ErrAlgorithmNotAllowed = kind("algorithm_not_allowed")
	ErrKeyNotFound         = kind("key_not_found")
	ErrSignatureInvalid    = kind("signature_invalid")
	ErrExpired             = kind("expired")
	ErrNotYetValid         = kind("not_yet_valid")
	ErrIssuedInFuture      = kind("issued_in_future")
	ErrTokenTooOld         = kind("token_too_old")
	ErrIssuerMismatch      = kind("issuer_mismatch")
	ErrAudienceMismatch    = kind("audience_mismatch")
	ErrMissingClaim        = kind("missing_claim")
	ErrInvalidClaim        = kind("invalid_claim")
	ErrTokenTypeMismatch   = kind("token_type_mismatch")
	ErrRevoked             = kind("revoked")
	ErrInactive            = kind("inactive")
	ErrInsufficientScope   = kind("insufficient_scope")
	ErrJWKSUnavailable     = kind("jwks_unavailable")
	// ErrProviderDown is the single kind provider_unavailable; ErrProviderUnavailable is the
	// whole family.
	ErrProviderDown  = kind("provider_unavailable")
	ErrKeysNotLoaded = kind("keys_not_loaded")
	ErrConfig        = kind("config")
	ErrInternal      = kind("internal")
)

// ErrClosed is returned by calls on a validator after Close.
var ErrClosed = errors.New("jwtgate: the validator is closed")

// kindSentinels and classSentinels list the sentinels (the tests check them against the
// engine's table).
var (
	kindSentinels = []*Error{
		ErrMalformed, ErrTokenTooLarge, ErrUnsupportedToken, ErrUnsupportedHeader, ErrMissingToken,
		ErrInvalidRequest, ErrAlgorithmNotAllowed, ErrKeyNotFound, ErrSignatureInvalid, ErrExpired,
		ErrNotYetValid, ErrIssuedInFuture, ErrTokenTooOld, ErrIssuerMismatch, ErrAudienceMismatch,
		ErrMissingClaim, ErrInvalidClaim, ErrTokenTypeMismatch, ErrRevoked, ErrInactive,
		ErrInsufficientScope, ErrJWKSUnavailable, ErrProviderDown, ErrKeysNotLoaded, ErrConfig,
		ErrInternal,
	}
	classSentinels = []*Error{
		ErrInvalidToken, ErrMalformedToken, ErrSignature, ErrInvalidClaims, ErrRevokedToken,
		ErrProviderUnavailable,
	}
)

// errorKind is one row of the engine's error table (jwtgate_error_kinds_json).
type errorKind struct {
	Kind        string `json:"kind"`
	Code        int    `json:"code"`
	Status      int    `json:"status"`
	Class       string `json:"class"`
	TokenFault  bool   `json:"token_fault"`
	Unavailable bool   `json:"unavailable"`
}

type errorTable struct {
	rows   []errorKind
	byCode map[int]*errorKind
	byName map[string]*errorKind
}

// errorKinds is the engine's table, read once when the package loads.
var errorKinds = loadErrorKinds()
