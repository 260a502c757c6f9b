package jwtgate

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
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
	if len(logged) != 1 || !errors.Is(logged[0], ErrSignatureInvalid) {
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

func TestQuotedStringIsSafe(t *testing.T) {
	got := quoted("a\"b\\c\x01d é\x7f")
	if got != "a'b'c?d ??" {
		t.Fatalf("%q", got)
	}
}
