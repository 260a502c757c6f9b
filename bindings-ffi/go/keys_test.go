package jwtgate

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// signingKey is an ES256 key of a test provider.
type signingKey struct {
	kid  string
	priv *ecdsa.PrivateKey
}

func newSigningKey(t testing.TB, kid string) signingKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return signingKey{kid: kid, priv: priv}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func (k signingKey) jwk() map[string]string {
	// The uncompressed point: 0x04 || X || Y (SEC 1 §2.3.3).
	point, err := k.priv.PublicKey.ECDH()
	if err != nil {
		panic(err)
	}
	xy := point.Bytes()[1:]
	return map[string]string{"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig",
		"kid": k.kid, "x": b64(xy[:32]), "y": b64(xy[32:])}
}

// sign returns a compact JWS of claims (iss given; aud, sub, iat, exp and jti added).
func (k signingKey) sign(t testing.TB, iss, jti string) string {
	t.Helper()
	return k.signClaims(t, map[string]any{"iss": iss, "sub": "user-1", "jti": jti})
}

// signClaims returns a compact JWS of claims plus aud, iat and exp.
func (k signingKey) signClaims(t testing.TB, claims map[string]any) string {
	t.Helper()
	now := time.Now().Unix()
	header, _ := json.Marshal(map[string]string{"alg": "ES256", "typ": "at+jwt", "kid": k.kid})
	all := map[string]any{"aud": "https://api.test", "iat": now, "exp": now + 3600}
	for name, value := range claims {
		all[name] = value
	}
	payload, _ := json.Marshal(all)
	input := b64(header) + "." + b64(payload)
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, k.priv, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	// RFC 7518 §3.4: R and S as fixed-width big-endian octets, not DER.
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + b64(sig)
}

// keyServer is a test provider's JWKS endpoint: it serves whatever key set it holds now and
// counts the requests it gets.
type keyServer struct {
	*httptest.Server
	keys     atomic.Pointer[[]byte]
	requests atomic.Int64
}

func newKeyServer(t testing.TB, keys ...signingKey) *keyServer {
	t.Helper()
	ks := &keyServer{}
	ks.publish(keys...)
	ks.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ks.requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(*ks.keys.Load())
	}))
	t.Cleanup(ks.Close)
	return ks
}

func (ks *keyServer) publish(keys ...signingKey) {
	set := struct {
		Keys []map[string]string `json:"keys"`
	}{Keys: []map[string]string{}}
	for _, k := range keys {
		set.Keys = append(set.Keys, k.jwk())
	}
	doc, _ := json.Marshal(set)
	ks.keys.Store(&doc)
}

// pastRefreshFloor waits out the rule that a key set fetched within the last second is not
// fetched again by RefreshKeys.
func pastRefreshFloor() { time.Sleep(1100 * time.Millisecond) }

// A provider adds a key: RefreshKeys makes its kid validate with exactly one more fetch (and
// no fetch at validation). A provider withdraws a key: RefreshKeys makes it, and the result
// it verified, unusable at once. ClearCache drops every cached result.
func TestRefreshKeysAndClearCache(t *testing.T) {
	const iss = "https://issuer.test"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	old, rotated := newSigningKey(t, "old"), newSigningKey(t, "rotated")
	ks := newKeyServer(t, old)
	v, err := New(remoteConfig(ks.URL + "/jwks"))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if err := v.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	oldToken := old.sign(t, iss, "t-old")
	if _, err := v.Validate(ctx, oldToken); err != nil {
		t.Fatal(err)
	}
	if n := ks.requests.Load(); n != 1 {
		t.Fatalf("%d fetches after Ready, want 1", n)
	}

	// The provider rotates a key in.
	ks.publish(old, rotated)
	pastRefreshFloor()
	start := time.Now()
	if err := v.RefreshKeys(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if n := ks.requests.Load(); n != 2 {
		t.Fatalf("%d fetches after RefreshKeys, want 2", n)
	}
	rotatedToken := rotated.sign(t, iss, "t-rotated")
	c, err := v.Validate(ctx, rotatedToken)
	if err != nil || c.ID() != "t-rotated" {
		t.Fatalf("the rotated key: %v", err)
	}
	if n := ks.requests.Load(); n != 2 {
		t.Fatalf("%d fetches after validating the new kid, want still 2", n)
	}
	// By name; a key set fetched within the last second is not fetched again.
	if err := v.RefreshKeys(ctx, iss); err != nil {
		t.Fatal(err)
	}
	if n := ks.requests.Load(); n != 2 && time.Since(start) < 900*time.Millisecond {
		t.Fatalf("%d fetches: RefreshKeys fetched again within a second", n)
	}
	st, err := v.Stats()
	if err != nil || st.JWKSRefreshes["manual"] < 1 || st.JWKSRefreshes["initial"] != 1 {
		t.Fatalf("stats: %v %v", st.JWKSRefreshes, err)
	}

	// Names are compared exactly; an unknown one is the caller's configuration mistake.
	for _, name := range []string{"https://other.test", iss + "/"} {
		err = v.RefreshKeys(ctx, name)
		var e *Error
		if !errors.Is(err, ErrConfig) || !errors.As(err, &e) || !strings.Contains(e.Message(), "not a configured issuer") {
			t.Fatalf("RefreshKeys(%q): %v", name, err)
		}
	}

	// The provider withdraws the old key: its cached result goes with it.
	ks.publish(rotated)
	pastRefreshFloor()
	if err := v.RefreshKeys(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Validate(ctx, oldToken); !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("a withdrawn key still validates: %v", err)
	}

	// ClearCache: the rotated token's result is the one cached; it is validated afresh.
	if n := v.ClearCache(); n != 1 {
		t.Fatalf("ClearCache removed %d, want 1", n)
	}
	if n := v.ClearCache(); n != 0 {
		t.Fatalf("ClearCache of an empty cache removed %d", n)
	}
	before, _ := v.Stats()
	if _, err := v.Validate(ctx, rotatedToken); err != nil {
		t.Fatal(err)
	}
	after, _ := v.Stats()
	if after.CacheMisses != before.CacheMisses+1 {
		t.Fatalf("not validated afresh: misses %d then %d", before.CacheMisses, after.CacheMisses)
	}

	canceled, stop := context.WithCancel(ctx)
	stop()
	if err := v.RefreshKeys(canceled, ""); !errors.Is(err, context.Canceled) {
		t.Fatalf("a done context is reported first: %v", err)
	}
	v.Close()
	if err := v.RefreshKeys(ctx, ""); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	if n := v.ClearCache(); n != 0 {
		t.Fatalf("ClearCache after Close: %d", n)
	}
}

// RefreshKeys waits for the provider, but not past the context.
func TestRefreshKeysHonoursTheContext(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		http.Error(w, "gone", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	cfg := remoteConfig(srv.URL + "/jwks")
	cfg.FetchTimeout = Seconds(3 * time.Second)
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := v.RefreshKeys(ctx, ""); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want the context's error, got %v", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Fatalf("returned after %v", elapsed)
	}
}

// Two issuers in one validator, each with its own key server: tokens of each validate with
// their own issuer's keys only, an unconfigured issuer costs no request anywhere, and
// Health lists both.
func TestTwoIssuers(t *testing.T) {
	const issA, issB = "https://a.issuer.test", "https://b.issuer.test"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	keyA, keyB := newSigningKey(t, "key-a"), newSigningKey(t, "key-b")
	srvA, srvB := newKeyServer(t, keyA), newKeyServer(t, keyB)
	v, err := New(Config{
		Issuers: []IssuerConfig{
			{Issuer: issA, Audience: Audiences{"https://api.test"}, JWKSURI: srvA.URL + "/jwks"},
			{Issuer: issB, Audience: Audiences{"https://api.test"}, JWKSURI: srvB.URL + "/jwks",
				TokenType: "at+jwt"},
		},
		FetchRetries: Int(0),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	requests := func() (int64, int64) { return srvA.requests.Load(), srvB.requests.Load() }

	// An issuer nobody configured, signed with A's key under A's kid: refused before any
	// key is looked up, and neither provider hears of it.
	stranger := keyA.sign(t, "https://c.issuer.test", "t-c")
	if _, err := v.Validate(ctx, stranger); !errors.Is(err, ErrIssuerMismatch) {
		t.Fatalf("unconfigured issuer: %v", err)
	}
	if a, b := requests(); a != 0 || b != 0 {
		t.Fatalf("an unconfigured issuer caused requests: A %d, B %d", a, b)
	}

	for _, tc := range []struct {
		iss string
		key signingKey
	}{{issA, keyA}, {issB, keyB}} {
		c, err := v.Validate(ctx, tc.key.sign(t, tc.iss, "t-"+tc.key.kid))
		if err != nil || c.Issuer() != tc.iss {
			t.Fatalf("%s: %v", tc.iss, err)
		}
	}
	if a, b := requests(); a != 1 || b != 1 {
		t.Fatalf("one fetch per issuer expected: A %d, B %d", a, b)
	}

	// Keys never cross issuers: a token claiming A, signed with B's key and kid, is checked
	// against A's key set only.
	if _, err := v.Validate(ctx, keyB.sign(t, issA, "t-cross")); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("A's claim with B's key: %v", err)
	}
	if _, b := requests(); b != 1 {
		t.Fatalf("B's key server was asked about A's token: %d requests", b)
	}
	a0, b0 := requests()
	if _, err := v.Validate(ctx, stranger); !errors.Is(err, ErrIssuerMismatch) {
		t.Fatalf("unconfigured issuer, keys loaded: %v", err)
	}
	if a, b := requests(); a != a0 || b != b0 {
		t.Fatalf("an unconfigured issuer caused requests: A %d→%d, B %d→%d", a0, a, b0, b)
	}

	// RefreshKeys by name fetches that issuer's key set only.
	pastRefreshFloor()
	if err := v.RefreshKeys(ctx, issB); err != nil {
		t.Fatal(err)
	}
	if a, b := requests(); a != a0 || b != b0+1 {
		t.Fatalf("RefreshKeys(B): A %d→%d, B %d→%d", a0, a, b0, b)
	}

	h, err := v.Health()
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Issuers) != 2 || h.Issuers[0].Issuer != issA || h.Issuers[1].Issuer != issB {
		t.Fatalf("health issuers: %+v", h.Issuers)
	}
	for _, ih := range h.Issuers {
		if ih.KeySource != "remote" || ih.JWKS == nil || !ih.JWKS.Loaded || ih.JWKS.FetchesOK < 1 ||
			ih.JWKS.FetchesFailed != 0 || ih.JWKS.Problem != nil || ih.JWKS.Breaker.State != "closed" {
			t.Fatalf("health of %s: %+v %+v", ih.Issuer, ih, ih.JWKS)
		}
	}
	if h.Issuer != issA || h.JWKS == nil || h.JWKS.Kids[0] != "key-a" {
		t.Fatalf("the top level describes the first issuer: %+v", h)
	}
	if n := v.ClearCache(); n != 2 {
		t.Fatalf("ClearCache removed %d, want one result per issuer", n)
	}
}

// A key server that is down: RefreshKeys fails like Ready, and Health calls it an outage.
func TestRefreshKeysOutage(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/jwks"
	srv.Close()
	v, err := New(remoteConfig(url))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if err := v.RefreshKeys(context.Background(), ""); !errors.Is(err, ErrJWKSUnavailable) {
		t.Fatalf("RefreshKeys: %v", err)
	}
	h, err := v.Health()
	if err != nil || h.JWKS == nil || h.JWKS.Problem == nil || *h.JWKS.Problem != "outage" ||
		h.JWKS.FetchesFailed != 1 || h.JWKS.LastError == nil {
		t.Fatalf("health: %+v %v", h.JWKS, err)
	}
}

// Config.Issuers and IssuerConfig reach the engine as the canonical document: empty lists
// stay empty (and are refused) instead of vanishing, unset options are left out, and the
// top-level defaults apply to every entry.
func TestIssuersConfigEncoding(t *testing.T) {
	f := loadFixture(t)
	entry := IssuerConfig{Issuer: "https://issuer.test", Audience: Audiences{"https://api.test"}, JWKS: f.jwks}
	doc, err := json.Marshal(Config{Issuers: []IssuerConfig{entry}, ClientAuth: "none"})
	if err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{"verify_audience", "algorithms", "required_claims", "access_tokens_only", "introspection_rate_limit"} {
		if strings.Contains(string(doc), absent) {
			t.Fatalf("unset %s was sent: %s", absent, doc)
		}
	}
	v, err := NewFromJSON(doc)
	if err != nil {
		t.Fatalf("%s: %v", doc, err)
	}
	if _, err := v.Validate(context.Background(), f.token); err != nil {
		t.Fatal(err)
	}
	v.Close()

	for name, cfg := range map[string]Config{
		"empty Issuers":      {Issuers: []IssuerConfig{}},
		"empty Algorithms":   {Issuers: []IssuerConfig{{Issuer: entry.Issuer, Audience: entry.Audience, JWKS: f.jwks, Algorithms: []string{}}}},
		"Issuer and Issuers": {Issuer: "https://issuer.test", Issuers: []IssuerConfig{entry}},
		"top-level audience": {Audience: Audiences{"x"}, Issuers: []IssuerConfig{entry}},
	} {
		_, err := New(cfg)
		var e *Error
		if !errors.Is(err, ErrConfig) || !errors.As(err, &e) {
			t.Fatalf("%s: %v", name, err)
		}
		want := map[string]string{"empty Issuers": "issuers", "empty Algorithms": "algorithms",
			"Issuer and Issuers": "issuers", "top-level audience": "audience"}[name]
		if !strings.Contains(e.Message(), want) {
			t.Fatalf("%s: the message does not name %s: %s", name, want, e.Message())
		}
	}
	// A top-level default reaches every entry: VerifyAudience false accepts another audience.
	other := entry
	other.Audience = Audiences{"https://elsewhere.test"}
	w, err := New(Config{Issuers: []IssuerConfig{other}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Validate(context.Background(), f.token); !errors.Is(err, ErrAudienceMismatch) {
		t.Fatalf("audience checked by default: %v", err)
	}
	x, err := New(Config{Issuers: []IssuerConfig{other}, VerifyAudience: Bool(false)})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if _, err := x.Validate(context.Background(), f.token); err != nil {
		t.Fatalf("VerifyAudience false from the top level: %v", err)
	}
}

// Claims larger than copyClaims' first guess (the JSON plus 256 bytes) take its second copy:
// long scopes, sub and jti come back whole, fresh and from the cache; absent ones read "".
func TestClaimsCopyOfLongAndAbsentClaims(t *testing.T) {
	const iss = "https://issuer.test"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	k := newSigningKey(t, "k")
	ks := newKeyServer(t, k)
	v, err := New(remoteConfig(ks.URL + "/jwks"))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	scopes := make([]string, 60)
	for i := range scopes {
		scopes[i] = fmt.Sprintf("scope:%02d", i)
	}
	sub, jti := strings.Repeat("s", 300), strings.Repeat("j", 200)
	token := k.signClaims(t, map[string]any{"iss": iss, "sub": sub, "jti": jti, "scope": strings.Join(scopes, " ")})
	for round := 0; round < 2; round++ {
		c, err := v.Validate(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		if c.Subject() != sub || c.ID() != jti || !slices.Equal(c.Scopes(), scopes) {
			t.Fatalf("round %d: sub %d bytes, jti %d bytes, %d scopes", round, len(c.Subject()), len(c.ID()), len(c.Scopes()))
		}
		if m, err := c.Map(); err != nil || m["sub"] != sub {
			t.Fatalf("round %d: the JSON copy: %v", round, err)
		}
	}
	c, err := v.Validate(ctx, k.signClaims(t, map[string]any{"iss": iss}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject() != "" || c.ID() != "" || c.Issuer() != iss {
		t.Fatalf("no sub/jti: %q %q %q", c.Subject(), c.ID(), c.Issuer())
	}
}
