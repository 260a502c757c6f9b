package jwtgate

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
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
	// written, for logging: the error never contains the token, and it is the only place
	// the details of a 503 or 500 (provider URL, OS error) appear.
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
// the request context (ClaimsFromContext). Otherwise it is answered with:
//
//   - 401 and a bare "Bearer" challenge when no bearer token is present (§3.1: no error code);
//   - 400 invalid_request when the Authorization header is malformed;
//   - 401 invalid_token when the token is refused (the description is the engine's
//     message, which never contains the token);
//   - 403 insufficient_scope, with the required scope, when a scope is missing;
//   - 503 when keys or the provider cannot be reached (retrying later may succeed), with
//     no description: the engine's message names the provider's URL and the OS error, which
//     must not reach an unauthenticated client (CWE-209); it goes to OnError only;
//   - 500 for anything else (also without the message).
func Middleware(v *Validator, opts MiddlewareOptions) func(http.Handler) http.Handler {
	required := slices.Clone(opts.Scopes)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			token, problem := bearerToken(r)
			if problem != "" {
				refuse(w, r, opts, http.StatusBadRequest, "invalid_request", problem, nil)
				return
			}
			if token == "" {
				refuse(w, r, opts, http.StatusUnauthorized, "", "", nil)
				return
			}
			claims, err := v.validate(r.Context(), token, required)
			if err != nil {
				var e *Error
				switch {
				case errors.Is(err, ErrInsufficientScope):
					refuse(w, r, opts, http.StatusForbidden, "insufficient_scope", describe(err), err)
				case errors.Is(err, ErrInvalidToken):
					refuse(w, r, opts, http.StatusUnauthorized, "invalid_token", describe(err), err)
				case errors.As(err, &e):
					refuse(w, r, opts, e.HTTPStatus(), "", "", err)
				default: // the request's context ended, or the validator is closed
					refuse(w, r, opts, http.StatusServiceUnavailable, "", "", err)
				}
				return
			}
			next.ServeHTTP(w, r.WithContext(ContextWithClaims(r.Context(), claims)))
		})
	}
}

// bearerToken extracts the token of "Authorization: Bearer <token>" (RFC 6750 §2.1): ""
// when the request carries no bearer credentials, a problem when the header is malformed.
func bearerToken(r *http.Request) (token, problem string) {
	values := r.Header.Values("Authorization")
	if len(values) == 0 {
		return "", ""
	}
	if len(values) > 1 {
		return "", "more than one Authorization header"
	}
	scheme, rest, _ := strings.Cut(strings.TrimSpace(values[0]), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", "" // another scheme: no bearer credentials (§3: challenge with Bearer)
	}
	token = strings.TrimSpace(rest)
	if token == "" {
		return "", "the Bearer credentials are empty"
	}
	if strings.ContainsAny(token, " \t") {
		return "", "the Bearer credentials contain spaces"
	}
	return token, ""
}

func describe(err error) string {
	var e *Error
	if errors.As(err, &e) {
		if e.message == "" {
			return e.kind
		}
		return e.kind + ": " + e.message
	}
	return ""
}

// quoted makes s safe inside a quoted-string of WWW-Authenticate: RFC 6750 §3 allows only
// %x20-21 / %x23-5B / %x5D-7E in error_description (and scope): a double quote or a
// backslash becomes an apostrophe, any other character outside printable ASCII a '?'.
func quoted(s string) string {
	b := []byte(s)
	out := b[:0]
	for _, c := range b {
		switch {
		case c == '"' || c == '\\':
			out = append(out, '\'')
		case c >= 0x20 && c <= 0x7e:
			out = append(out, c)
		case c < 0x80 || c >= 0xc0: // one placeholder per character, not per byte
			out = append(out, '?')
		}
	}
	return string(out)
}

func refuse(w http.ResponseWriter, r *http.Request, opts MiddlewareOptions, status int, code, description string, err error) {
	if opts.OnError != nil && err != nil {
		opts.OnError(r, err)
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusBadRequest {
		var params []string
		if opts.Realm != "" {
			params = append(params, `realm="`+quoted(opts.Realm)+`"`)
		}
		if code != "" {
			params = append(params, `error="`+code+`"`)
			if description != "" {
				params = append(params, `error_description="`+quoted(description)+`"`)
			}
		}
		if status == http.StatusForbidden && len(opts.Scopes) > 0 {
			params = append(params, `scope="`+quoted(strings.Join(opts.Scopes, " "))+`"`)
		}
		challenge := "Bearer"
		if len(params) > 0 {
			challenge += " " + strings.Join(params, ", ")
		}
		h.Set("WWW-Authenticate", challenge)
	}
	body := map[string]string{"error": code}
	if code == "" {
		body["error"] = strings.ToLower(strings.ReplaceAll(http.StatusText(status), " ", "_"))
	}
	if description != "" {
		body["error_description"] = description
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
