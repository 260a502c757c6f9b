package jwtgate

// Regression tests for the security audit (issue 11), as far as the Go face is concerned.
// Each names the finding it holds.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// wantConfigError checks that err is the engine's config error naming field.
func wantConfigError(t *testing.T, label string, n int, err error, field string) {
	t.Helper()
	var e *Error
	if !errors.Is(err, ErrConfig) || !errors.As(err, &e) {
		t.Errorf("%s: want a config error, got %v (removed %d)", label, err, n)
		return
	}
	if e.Kind() != "config" || e.Code() != 3000 || !strings.Contains(e.Message(), field) {
		t.Errorf("%s: kind %q code %d message %q (want it to name %s)", label, e.Kind(), e.Code(), e.Message(), field)
	}
	if n != 0 {
		t.Errorf("%s: %d cached results reported dropped by a refused call", label, n)
	}
}

// Finding 5: revocation never fails open. A time that makes no sense is a config error and
// revokes nothing; the zero time.Time is still "none" (for the life of the validator, now).
// Before, the C face read the Unix epoch (and NaN, infinities, negative values) as "none"
// and the engine accepted an until in the past or an issuedBefore in the future as
// success: RevokeJTI(jti, past) returned nil and the token kept validating.
func TestRevocationNeverFailsOpen(t *testing.T) {
	f := loadFixture(t)
	ctx := context.Background()
	now := time.Now()

	v := mustValidator(t, f.config)
	defer v.Close()
	if _, err := v.Validate(ctx, f.token); err != nil { // now in the result cache
		t.Fatal(err)
	}
	for label, until := range map[string]time.Time{
		"until 1970-01-01T00:00:01Z":  time.Unix(1, 0),
		"until the Unix epoch":        time.Unix(0, 0), // not the zero time.Time: not "none"
		"until a minute ago":          now.Add(-time.Minute),
		"until before the Unix epoch": time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC),
		"until past UnixNano's range": time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC),
		"until far beyond any expiry": time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(100000, 0, 0),
	} {
		n, err := v.RevokeJTI(f.jti, until)
		wantConfigError(t, label, n, err, "until")
	}
	n, err := v.RevokeJTI("", zeroTime)
	wantConfigError(t, "empty jti", n, err, "jti")
	n, err = v.RevokeJTI("", now.Add(time.Hour))
	wantConfigError(t, "empty jti with an until", n, err, "jti")

	for label, before := range map[string]time.Time{
		"issuedBefore in an hour":            now.Add(time.Hour),
		"issuedBefore in a hundred years":    now.AddDate(100, 0, 0),
		"issuedBefore before the Unix epoch": time.Unix(-1, 0),
	} {
		n, err := v.RevokeSubject(f.sub, before)
		wantConfigError(t, label, n, err, "issued_before")
	}
	n, err = v.RevokeSubject("", zeroTime)
	wantConfigError(t, "empty sub", n, err, "sub")

	if _, err := v.Validate(ctx, f.token); err != nil {
		t.Fatalf("a refused revocation revoked the token: %v", err)
	}

	// What does make sense still works: a future until, the zero time, a past issuedBefore.
	if n, err := v.RevokeJTI(f.jti, now.Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("RevokeJTI(an hour from now): %d %v", n, err)
	}
	if _, err := v.Validate(ctx, f.token); !errors.Is(err, ErrRevoked) {
		t.Fatalf("revoked until an hour from now: %v", err)
	}
	for label, revoke := range map[string]func(*Validator) (int, error){
		"RevokeJTI(zero)":             func(v *Validator) (int, error) { return v.RevokeJTI(f.jti, zeroTime) },
		"RevokeSubject(zero)":         func(v *Validator) (int, error) { return v.RevokeSubject(f.sub, zeroTime) },
		"RevokeSubject(a second ago)": func(v *Validator) (int, error) { return v.RevokeSubject(f.sub, time.Now().Add(-time.Second)) },
	} {
		w := mustValidator(t, f.config)
		if _, err := w.Validate(ctx, f.token); err != nil {
			t.Fatal(err)
		}
		if n, err := revoke(w); err != nil || n != 1 {
			t.Errorf("%s: %d %v", label, n, err)
		}
		if _, err := w.Validate(ctx, f.token); !errors.Is(err, ErrRevoked) {
			t.Errorf("%s: the token still validates: %v", label, err)
		}
		w.Close()
	}
}

// duplicateMemberToken is the fixture's token with a header holding a duplicate member
// whose name is 5,000 characters long and starts with an ESC character.
func duplicateMemberToken(f fixture) string {
	name := `\u001b[31m` + strings.Repeat("n", 5000)
	header := `{"alg":"RS256","typ":"at+jwt","` + name + `":1,"` + name + `":2}`
	_, rest, _ := strings.Cut(f.token, ".")
	return base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + rest
}

// Finding 7: messages carry neither unbounded attacker text nor secrets, whether read from
// the error or sent by the middleware. Before, the duplicate name came back whole (over
// 5,000 bytes in the error, the WWW-Authenticate header and the body) and a numeric
// client_secret was quoted by the configuration parser.
func TestMessagesAreBoundedAndSecretFree(t *testing.T) {
	f := loadFixture(t)
	v := mustValidator(t, f.config)
	defer v.Close()
	token := duplicateMemberToken(f)

	_, err := v.Validate(context.Background(), token)
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("want malformed, got %.300v", err)
	}
	if text := err.Error(); len(text) >= 300 || strings.ContainsRune(text, 0x1b) || !strings.Contains(text, "duplicate") {
		t.Fatalf("error of %d bytes: %.300q", len(text), text)
	}

	var logged []error
	h := protected(t, v, MiddlewareOptions{OnError: func(r *http.Request, err error) { logged = append(logged, err) }})
	w := serve(h, "Bearer "+token)
	challenge := w.Header().Get("WWW-Authenticate")
	if w.Code != 401 || !strings.Contains(challenge, `error="invalid_token"`) {
		t.Fatalf("%d %.300q", w.Code, challenge)
	}
	var headerBytes int
	for name, values := range w.Header() {
		for _, value := range values {
			headerBytes += len(name) + len(value)
		}
	}
	if headerBytes >= 600 || w.Body.Len() >= 400 || strings.ContainsRune(w.Body.String(), 0x1b) {
		t.Fatalf("headers of %d bytes, body of %d: %.300q %.300q", headerBytes, w.Body.Len(), challenge, w.Body)
	}
	if len(logged) != 1 || len(logged[0].Error()) >= 300 {
		t.Fatalf("OnError: %.300v", logged)
	}

	for _, field := range []string{"client_secret", "shared_secret"} {
		var cfg map[string]any
		if err := json.Unmarshal(f.config, &cfg); err != nil {
			t.Fatal(err)
		}
		cfg[field] = 123456789123
		doc, _ := json.Marshal(cfg)
		_, err := NewFromJSON(doc)
		if !errors.Is(err, ErrConfig) || strings.Contains(err.Error(), "23456789") || !strings.Contains(err.Error(), field) {
			t.Errorf("numeric %s: %v", field, err)
		}
	}
}

// Finding 6: a 503 tells the client nothing about where the provider lives (CWE-209); the
// details (URL, OS error) go to OnError, for the log.
func TestMiddlewareHidesProviderDetails(t *testing.T) {
	f := loadFixture(t)
	cfg := remoteConfig("http://127.0.0.1:9/internal/jwks") // the discard port: nothing listens
	cfg.FetchRetries = Int(0)
	cfg.FetchTimeout = Seconds(2 * time.Second)
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	var logged []error
	h := protected(t, v, MiddlewareOptions{Realm: "items", OnError: func(r *http.Request, err error) { logged = append(logged, err) }})
	w := serve(h, "Bearer "+f.token)
	if w.Code != 503 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	var sent strings.Builder
	for name, values := range w.Header() {
		sent.WriteString(name + ": " + strings.Join(values, ", ") + "\n")
	}
	sent.WriteString(w.Body.String())
	for _, secret := range []string{"127.0.0.1", "http://", "/internal/jwks", "os error", "refused", "connect"} {
		if strings.Contains(strings.ToLower(sent.String()), secret) {
			t.Errorf("the response tells the client %q:\n%s", secret, sent.String())
		}
	}
	var body map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body["error"] != "temporarily_unavailable" ||
		body["kind"] != "jwks_unavailable" || body["error_description"] != "the authorization server is unavailable; retry later" {
		t.Errorf("body: %s", w.Body)
	}
	// The operator gets the details.
	var e *Error
	if len(logged) != 1 || !errors.As(logged[0], &e) || !errors.Is(e, ErrProviderUnavailable) ||
		!strings.Contains(e.Message(), "127.0.0.1:9") {
		t.Fatalf("OnError: %v", logged)
	}
}

// The Config struct can express every configuration the engine accepts (or refuses for a
// reason other than an unknown option): a new engine option without a Config field would
// make the shared vectors skip their check through Config silently. Holds the new options
// of findings 8 and 10 (access_tokens_only, introspection_rate_limit).
func TestConfigNamesEveryEngineOption(t *testing.T) {
	for _, file := range loadVectors(t) {
		for name, doc := range file.Configs {
			dec := json.NewDecoder(bytes.NewReader(doc))
			dec.DisallowUnknownFields()
			var cfg Config
			if err := dec.Decode(&cfg); err == nil {
				continue
			} else if _, engineErr := NewFromJSON(doc); engineErr == nil || !strings.Contains(engineErr.Error(), "unknown field") {
				t.Errorf("%s/%s: the engine takes it (%v), Config cannot: %v", file.Name, name, engineErr, err)
			}
		}
	}
	doc, err := json.Marshal(Config{Issuer: "i", AccessTokensOnly: Bool(false), IntrospectionRateLimit: Float(0)})
	if err != nil || !strings.Contains(string(doc), `"access_tokens_only":false`) ||
		!strings.Contains(string(doc), `"introspection_rate_limit":0`) {
		t.Fatalf("%s %v", doc, err)
	}
	// Unset: left out, so the engine's defaults (true, 100/s) apply.
	if doc, _ := json.Marshal(Config{Issuer: "i"}); strings.Contains(string(doc), "access_tokens_only") ||
		strings.Contains(string(doc), "introspection_rate_limit") {
		t.Fatalf("%s", doc)
	}
}

// Finding 8 through the Go face: an ID token (it carries a nonce) is refused by default,
// and accepted when AccessTokensOnly is turned off.
func TestAccessTokensOnly(t *testing.T) {
	var idToken string
	var base json.RawMessage
	for _, file := range loadVectors(t) {
		for _, c := range file.Cases {
			if file.Name == "audit.json" && c.Name == "ID token (nonce)" {
				idToken, base = c.Token, file.Configs[c.Config]
			}
		}
	}
	if idToken == "" {
		t.Fatal(`audit.json has no "ID token (nonce)" case`)
	}
	var cfg Config
	if err := json.Unmarshal(base, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg.AccessTokensOnly = nil
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if _, err := v.Validate(context.Background(), idToken); !errors.Is(err, ErrTokenTypeMismatch) {
		t.Fatalf("default: %v", err)
	}
	cfg.AccessTokensOnly = Bool(false)
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Validate(context.Background(), idToken); err != nil {
		t.Fatalf("AccessTokensOnly false: %v", err)
	}
}

// Finding 10 through the Go face: IntrospectionRateLimit bounds the calls new opaque tokens
// cause (the rest are 503, counted in Stats.IntrospectionThrottled); Float(0) is unlimited.
func TestIntrospectionRateLimit(t *testing.T) {
	f := loadFixture(t)
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"active":false}`))
	}))
	defer srv.Close()
	config := func(rate *float64) Config {
		return Config{
			Issuer: "https://issuer.test", Audience: Audiences{"https://api.test"}, JWKS: f.jwks,
			IntrospectionEndpoint: srv.URL + "/introspect", ClientID: "rs", ClientSecret: "s3cret",
			FetchRetries: Int(0), IntrospectionRateLimit: rate,
		}
	}
	ctx := context.Background()

	v, err := New(config(Float(2)))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	started := time.Now()
	refused := 0
	for i := 0; i < 40; i++ {
		_, err := v.Validate(ctx, "garbage-"+strings.Repeat("x", i))
		switch {
		case errors.Is(err, ErrInactive):
		case errors.Is(err, ErrProviderDown):
			refused++
		default:
			t.Fatalf("token %d: %v", i, err)
		}
	}
	allowed := 2 + int(time.Since(started).Seconds()*2) + 1
	if n := int(calls.Load()); n > allowed || refused < 40-allowed {
		t.Fatalf("%d calls, %d refused, at most %d allowed", n, refused, allowed)
	}
	st, err := v.Stats()
	if err != nil || st.IntrospectionThrottled != uint64(refused) || st.IntrospectionRequests != uint64(calls.Load()) {
		t.Fatalf("stats %+v (refused %d, calls %d): %v", st, refused, calls.Load(), err)
	}

	calls.Store(0)
	u, err := New(config(Float(0)))
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	for i := 0; i < 150; i++ {
		if _, err := u.Validate(ctx, "other-"+strings.Repeat("y", i)); !errors.Is(err, ErrInactive) {
			t.Fatalf("unlimited, token %d: %v", i, err)
		}
	}
	if st, _ := u.Stats(); calls.Load() != 150 || st.IntrospectionThrottled != 0 {
		t.Fatalf("unlimited: %d calls, %d throttled", calls.Load(), st.IntrospectionThrottled)
	}
}
