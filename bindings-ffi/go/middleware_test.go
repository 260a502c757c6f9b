package jwtgate

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

func protected(t *testing.T, v *Validator, opts MiddlewareOptions) http.Handler {
	t.Helper()
	return Middleware(v, opts)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := ClaimsFromContext(r.Context())
		if !ok {
			t.Error("no claims in the request context")
			http.Error(w, "no claims", 500)
			return
		}
		_, _ = w.Write([]byte("hello " + c.Subject()))
	}))
}

func serve(h http.Handler, headers ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "/items", nil)
	for _, v := range headers {
		r.Header.Add("Authorization", v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestMiddleware(t *testing.T) {
	f := loadFixture(t)
	v := mustValidator(t, f.config)
	defer v.Close()
	var logged []error
	h := protected(t, v, MiddlewareOptions{Realm: "items", OnError: func(r *http.Request, err error) { logged = append(logged, err) }})

	w := serve(h, "Bearer "+f.token)
	if w.Code != 200 || w.Body.String() != "hello "+f.sub {
		t.Fatalf("valid token: %d %s", w.Code, w.Body)
	}
	if w := serve(h, "bearer  "+f.token+" "); w.Code != 200 {
		t.Fatalf("the scheme is case-insensitive: %d", w.Code)
	}

	// No credentials: 401 with a bare challenge (RFC 6750 §3.1: no error code).
	for _, hdr := range [][]string{nil, {"Basic dXNlcjpwYXNz"}} {
		w := serve(h, hdr...)
		if w.Code != 401 || w.Header().Get("WWW-Authenticate") != `Bearer realm="items"` {
			t.Fatalf("no bearer token %v: %d %q", hdr, w.Code, w.Header().Get("WWW-Authenticate"))
		}
	}

	// Malformed Authorization: 400 invalid_request.
	for _, hdr := range [][]string{{"Bearer"}, {"Bearer a b"}, {"Bearer " + f.token, "Bearer " + f.token}} {
		w := serve(h, hdr...)
		if w.Code != 400 || !strings.Contains(w.Header().Get("WWW-Authenticate"), `error="invalid_request"`) {
			t.Fatalf("malformed header %.30q: %d %q", hdr, w.Code, w.Header().Get("WWW-Authenticate"))
		}
	}

	// A refused token: 401 invalid_token, with a description that never echoes the token.
	tampered := f.token[:len(f.token)-6] + "AAAAAA"
	w = serve(h, "Bearer "+tampered)
	challenge := w.Header().Get("WWW-Authenticate")
	if w.Code != 401 || !strings.HasPrefix(challenge, `Bearer realm="items", error="invalid_token", error_description="`) {
		t.Fatalf("tampered token: %d %q", w.Code, challenge)
	}
	if strings.Contains(challenge, tampered[:40]) || strings.Contains(w.Body.String(), tampered[:40]) {
		t.Fatal("the token is echoed back")
	}
	var body map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body["error"] != "invalid_token" {
		t.Fatalf("body: %s", w.Body)
	}
	// Every refusal reaches OnError as an *Error: two without a token, three malformed
	// headers, the tampered token.
	if len(logged) != 6 || !errors.Is(logged[0], ErrMissingToken) || !errors.Is(logged[2], ErrInvalidRequest) ||
		!errors.Is(logged[0], ErrInvalidToken) || !errors.Is(logged[2], ErrInvalidToken) ||
		!errors.Is(logged[5], ErrSignatureInvalid) || !errors.Is(logged[5], ErrSignature) {
		t.Fatalf("OnError: %v", logged)
	}
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Fatal("Cache-Control")
	}
}

func TestMiddlewareScopes(t *testing.T) {
	f := loadFixture(t)
	v := mustValidator(t, f.config)
	defer v.Close()
	if w := serve(protected(t, v, MiddlewareOptions{Scopes: []string{"read:items"}}), "Bearer "+f.token); w.Code != 200 {
		t.Fatalf("granted scope: %d %s", w.Code, w.Body)
	}
	w := serve(protected(t, v, MiddlewareOptions{Scopes: []string{"read:items", "admin"}}), "Bearer "+f.token)
	challenge := w.Header().Get("WWW-Authenticate")
	if w.Code != 403 || !strings.Contains(challenge, `error="insufficient_scope"`) ||
		!strings.Contains(challenge, `scope="read:items admin"`) {
		t.Fatalf("missing scope: %d %q", w.Code, challenge)
	}
}

func TestMiddlewareProviderUnavailable(t *testing.T) {
	f := loadFixture(t)
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/jwks"
	srv.Close()
	cfg := remoteConfig(url)
	cfg.FetchTimeout = Seconds(2 * time.Second)
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	w := serve(protected(t, v, MiddlewareOptions{}), "Bearer "+f.token)
	if w.Code != 503 || w.Header().Get("WWW-Authenticate") != "" {
		t.Fatalf("provider down: %d %q %s", w.Code, w.Header().Get("WWW-Authenticate"), w.Body)
	}
}

// tests/vectors/http.json through Middleware: the status, the WWW-Authenticate challenge
// (absent when the vector has none), the JSON body and, for 200, the sub, exactly as every
// face answers them.
func TestHTTPVectors(t *testing.T) {
	vectors := loadHTTPVectors(t)
	if len(vectors.Cases) < 10 {
		t.Fatalf("only %d cases", len(vectors.Cases))
	}
	validators := map[string]*Validator{}
	defer func() {
		for _, v := range validators {
			v.Close()
		}
	}()
	for _, c := range vectors.Cases {
		t.Run(c.Name, func(t *testing.T) {
			v := validators[c.Config]
			if v == nil {
				v = mustValidator(t, vectors.Configs[c.Config])
				validators[c.Config] = v
			}
			var logged []error
			h := Middleware(v, MiddlewareOptions{Realm: c.Realm, Scopes: c.Scopes,
				OnError: func(r *http.Request, err error) { logged = append(logged, err) }})
			var sub string
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				claims, _ := ClaimsFromContext(r.Context())
				sub = claims.Subject()
			})
			r := httptest.NewRequest(http.MethodGet, "/items", nil)
			if c.Authorization != nil {
				r.Header.Set("Authorization", *c.Authorization)
			}
			w := httptest.NewRecorder()
			h(next).ServeHTTP(w, r)

			want := c.Expect
			if w.Code != want.Status {
				t.Fatalf("status %d, want %d (%s)", w.Code, want.Status, w.Body)
			}
			if want.Status == http.StatusOK {
				if sub != want.Sub || len(logged) != 0 {
					t.Fatalf("sub %q, want %q; OnError %v", sub, want.Sub, logged)
				}
				return
			}
			challenge, sent := w.Header()["Www-Authenticate"]
			switch {
			case want.Challenge == nil && sent:
				t.Errorf("challenge %q, want none", challenge)
			case want.Challenge != nil && (len(challenge) != 1 || challenge[0] != *want.Challenge):
				t.Errorf("challenge %q, want %q", challenge, *want.Challenge)
			}
			var body map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || !reflect.DeepEqual(body, want.Body) {
				t.Errorf("body %s, want %v", w.Body, want.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			var e *Error
			if len(logged) != 1 || !errors.As(logged[0], &e) || e.Kind() != want.Body["kind"] || e.HTTPStatus() != want.Status {
				t.Errorf("OnError: %v", logged)
			}
		})
	}
}

// Several Authorization field lines are one comma-separated value (RFC 9110 §5.3): never a
// token, whatever the lines hold. A context that ends while keys are fetched, and a closed
// validator, get the engine's 503.
func TestMiddlewareEdges(t *testing.T) {
	f := loadFixture(t)
	v := mustValidator(t, f.config)
	h := protected(t, v, MiddlewareOptions{Realm: "items"})
	if w := serve(h, "Basic dXNlcjpwYXNz", "Bearer "+f.token); w.Code != 401 ||
		w.Header().Get("WWW-Authenticate") != `Bearer realm="items"` {
		t.Fatalf("another scheme first: %d %q", w.Code, w.Header().Get("WWW-Authenticate"))
	}
	v.Close()
	var logged []error
	onError := func(r *http.Request, err error) { logged = append(logged, err) }
	unavailable := func(label string, w *httptest.ResponseRecorder, cause error) {
		t.Helper()
		var body map[string]string
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != 503 || body["kind"] != "keys_not_loaded" ||
			w.Header().Get("WWW-Authenticate") != "" || len(logged) != 1 || !errors.Is(logged[0], cause) {
			t.Fatalf("%s: %d %q %s %v", label, w.Code, w.Header().Get("WWW-Authenticate"), w.Body, logged)
		}
		logged = nil
	}
	unavailable("closed validator", serve(protected(t, v, MiddlewareOptions{Realm: "items", OnError: onError}), "Bearer "+f.token), ErrClosed)

	// A key server that does not answer within the request's deadline.
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	slow, err := New(remoteConfig(srv.URL + "/jwks"))
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	r := httptest.NewRequest(http.MethodGet, "/items", nil).WithContext(ctx)
	r.Header.Set("Authorization", "Bearer "+f.token)
	w := httptest.NewRecorder()
	protected(t, slow, MiddlewareOptions{OnError: onError}).ServeHTTP(w, r)
	unavailable("deadline", w, context.DeadlineExceeded)
}
