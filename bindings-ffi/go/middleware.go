package jwtgate

import (
	"context"
	"io"
	"net/http"
	"strings"
)

// MiddlewareOptions configure Middleware.
type MiddlewareOptions struct {
	// Scopes every request must have been granted; a valid token without them gets 403
	// insufficient_scope (RFC 6750 §3.1).
	Scopes []string
	// Realm, when set, is sent in every WWW-Authenticate challenge.
	Realm string
	// OnError, when set, is called for every refused request before the response is
	// written, for logging: err is the *Error (ErrMissingToken for a request without a
	// token), or ctx.Err() or ErrClosed. It never contains the token, and it is the only
	// place the details of a 503 or 500 (provider URL, OS error) appear.
	OnError func(r *http.Request, err error)
}

type claimsKey struct{}

// ClaimsFromContext returns the claims Middleware stored for the request.
func ClaimsFromContext(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok
}

// ContextWithClaims returns a copy of ctx holding c (what Middleware does; useful in tests
// of handlers).
func ContextWithClaims(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// Middleware protects a handler with bearer tokens (RFC 6750). A request passes with a
// valid "Authorization: Bearer <token>" (and the required scopes); its claims are then in
// the request context (ClaimsFromContext). Otherwise it gets the engine's answer, the same
// status, WWW-Authenticate challenge and JSON body as in every jwtgate face
// ({"error": ..., "error_description": ..., "kind": ...}, Cache-Control: no-store):
//
//   - 401 and a bare "Bearer" challenge when no bearer token is present (§3.1: no error code);
//   - 400 invalid_request when the Bearer credentials are not one token;
//   - 401 invalid_token when the token is refused (the description is the engine's
//     message, which never contains the token);
//   - 403 insufficient_scope, with the required scope, when a scope is missing;
//   - 503 when keys or the provider cannot be reached (also when the request's context ends
//     while keys are fetched, or the validator is closed), with a fixed description: the
//     engine's message names the provider's URL and the OS error, which must not reach an
//     unauthenticated client (CWE-209); it goes to OnError only;
//   - 500 for anything else (also with a fixed description).
//
// One cgo call serves a request whose token the engine has cached.
func Middleware(v *Validator, opts MiddlewareOptions) func(http.Handler) http.Handler {
	// The engine takes UTF-8: a realm or scope that is not is made visible (U+FFFD, sent as
	// '?') rather than fatal.
	realm := strings.ToValidUTF8(opts.Realm, "\uFFFD")
	scopes := strings.ToValidUTF8(strings.Join(opts.Scopes, " "), "\uFFFD")
	// The answer when the engine could not decide: keys not loaded in time, or closed.
	unavailable, err := answerFor(ErrKeysNotLoaded, realm, scopes)
	if err != nil {
		panic("jwtgate: Middleware: " + err.Error()) // a broken build, not a request's fault
	}
	onError := opts.OnError
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			q := query{header: true, scopes: scopes, realm: realm, answer: true}
			switch values := r.Header.Values("Authorization"); len(values) {
			case 0:
				q.absent = true
			case 1:
				q.input = values[0]
			default:
				// RFC 9110 §5.3: several field lines are one comma-separated value, which is
				// never one bearer credential.
				q.input = strings.Join(values, ", ")
			}
			claims, ref, err := v.validate(r.Context(), q)
			if err != nil {
				if ref == nil {
					ref = unavailable
				}
				if onError != nil {
					onError(r, err)
				}
				h := w.Header()
				h.Set("Cache-Control", "no-store")
				if ref.challenge != "" {
					h.Set("WWW-Authenticate", ref.challenge)
				}
				h.Set("Content-Type", "application/json")
				w.WriteHeader(ref.status)
				_, _ = io.WriteString(w, ref.body)
				return
			}
			next.ServeHTTP(w, r.WithContext(ContextWithClaims(r.Context(), claims)))
		})
	}
}
