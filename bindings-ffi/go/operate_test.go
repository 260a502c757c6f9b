package jwtgate

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// The fixture token carries "read:items write:items": the tests use write:items as the
// admin scope, and jwtgate:admin as one it lacks.
const testAdminScope = "write:items"

func adminCall(h http.Handler, method, path, token, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestAdminHandlerNeedsTheAdminScope(t *testing.T) {
	f := loadFixture(t)
	v := mustValidator(t, f.config)
	defer v.Close()
	h := http.StripPrefix("/admin", AdminHandler(v, testAdminScope))
	other := http.StripPrefix("/admin", AdminHandler(v, "jwtgate:admin"))
	for _, route := range [][2]string{{"GET", "stats"}, {"GET", "health"}, {"GET", "metrics"},
		{"POST", "jwks/refresh"}, {"POST", "cache/clear"}, {"POST", "revoke"}} {
		path := "/admin/" + route[1]
		if w := adminCall(h, route[0], path, "", ""); w.Code != 401 || w.Header().Get("WWW-Authenticate") != "Bearer" {
			t.Fatalf("%s without a token: %d %q", path, w.Code, w.Header().Get("WWW-Authenticate"))
		}
		if w := adminCall(other, route[0], path, f.token, ""); w.Code != 403 ||
			!strings.Contains(w.Header().Get("WWW-Authenticate"), `scope="jwtgate:admin"`) {
			t.Fatalf("%s with another scope: %d", path, w.Code)
		}
		if w := adminCall(h, route[0], path, "not-a-jwt.x.y", ""); w.Code != 401 {
			t.Fatalf("%s with a bad token: %d", path, w.Code)
		}
	}
	if w := adminCall(h, "GET", "/admin/dashboard", "", ""); w.Code != 200 ||
		!strings.HasPrefix(w.Body.String(), "<!doctype html>") ||
		!strings.Contains(w.Header().Get("Content-Security-Policy"), "connect-src 'self'") {
		t.Fatalf("dashboard: %d", w.Code)
	}
	for _, bad := range []string{"", "a b", "x\"y"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Fatalf("AdminHandler(%q) did not panic", bad)
				}
			}()
			AdminHandler(v, bad)
		}()
	}
}

func TestAdminHandlerRoutes(t *testing.T) {
	f := loadFixture(t)
	v := mustValidator(t, f.config)
	defer v.Close()
	h := http.StripPrefix("/admin", AdminHandler(v, testAdminScope))
	ctx := context.Background()

	w := adminCall(h, "GET", "/admin/stats", f.token, "")
	var stats Stats
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &stats) != nil {
		t.Fatalf("stats: %d %s", w.Code, w.Body)
	}
	if st, _ := v.Stats(); stats.ValidationsOK != st.ValidationsOK {
		t.Fatalf("stats: %d vs %d", stats.ValidationsOK, st.ValidationsOK)
	}
	if w := adminCall(h, "GET", "/admin/health", f.token, ""); w.Code != 200 || !strings.Contains(w.Body.String(), `"status":"healthy"`) {
		t.Fatalf("health: %d %s", w.Code, w.Body)
	}
	if w := adminCall(h, "GET", "/admin/metrics", f.token, ""); w.Code != 200 ||
		!strings.Contains(w.Body.String(), "jwtgate_validation_duration_seconds_bucket") {
		t.Fatalf("metrics: %d", w.Code)
	}
	st, _ := v.Stats()
	if w := adminCall(h, "POST", "/admin/cache/clear", f.token, ""); w.Code != 200 ||
		w.Body.String() != `{"removed":`+jsonNumber(st.CacheEntries)+`}` {
		t.Fatalf("cache/clear: %d %s (entries %d)", w.Code, w.Body, st.CacheEntries)
	}
	if w := adminCall(h, "POST", "/admin/jwks/refresh", f.token, ""); w.Code != 200 {
		t.Fatalf("jwks/refresh: %d %s", w.Code, w.Body)
	}
	if w := adminCall(h, "POST", "/admin/jwks/refresh", f.token, `{"issuer":"https://elsewhere"}`); w.Code != 400 ||
		!strings.Contains(w.Body.String(), `"kind":"config"`) {
		t.Fatalf("jwks/refresh of another issuer: %d %s", w.Code, w.Body)
	}
	for _, bad := range []string{"", "[]", "{", `{"jti":5}`, `{"jti":"a","sub":"b"}`, `{"jti":"a","x":1}`, `{"jti":"a","jti":"b"}`, `{}`, strings.Repeat("x", 20000)} {
		w := adminCall(h, "POST", "/admin/revoke", f.token, bad)
		if w.Code != 400 || !strings.Contains(w.Body.String(), `"kind":"invalid_request"`) {
			t.Fatalf("revoke %.30q: %d %s", bad, w.Code, w.Body)
		}
	}
	// Revoking the fixture's own subject: its token (the admin token here) is refused after.
	if w := adminCall(h, "POST", "/admin/revoke", f.token, `{"jti":"`+f.jti+`"}`); w.Code != 200 ||
		!strings.Contains(w.Body.String(), `"revoked":"jti"`) {
		t.Fatalf("revoke: %d %s", w.Code, w.Body)
	}
	if _, err := v.Validate(ctx, f.token); !errors.Is(err, ErrRevoked) {
		t.Fatalf("after revoke: %v", err)
	}
	if w := adminCall(h, "GET", "/admin/stats", f.token, ""); w.Code != 401 {
		t.Fatalf("a revoked admin token: %d", w.Code)
	}
}

func jsonNumber(n uint64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestMetricFamiliesMatchStats(t *testing.T) {
	f := loadFixture(t)
	v := mustValidator(t, f.config)
	defer v.Close()
	for i := 0; i < 130; i++ {
		if _, err := v.Validate(context.Background(), f.token); err != nil {
			t.Fatal(err)
		}
	}
	families, err := v.MetricFamilies()
	if err != nil {
		t.Fatal(err)
	}
	st, _ := v.Stats()
	find := func(name string, labels ...string) float64 {
		for _, fam := range families {
			for _, s := range fam.Samples {
				if s.Name != name {
					continue
				}
				ok := true
				for i := 0; i+1 < len(labels); i += 2 {
					found := false
					for _, l := range s.Labels {
						found = found || (l[0] == labels[i] && l[1] == labels[i+1])
					}
					ok = ok && found
				}
				if ok {
					return s.Value
				}
			}
		}
		t.Fatalf("no sample %s %v", name, labels)
		return 0
	}
	if got := find("jwtgate_validations_total", "outcome", "ok"); got != float64(st.ValidationsOK) || got != 130 {
		t.Fatalf("validations: %v vs %d", got, st.ValidationsOK)
	}
	if got := find("jwtgate_validation_duration_seconds_count", "path", "local"); got != float64(st.Latency.Validation.Local.Count) || got != 1 {
		t.Fatalf("local count: %v vs %d", got, st.Latency.Validation.Local.Count)
	}
	hits := st.Latency.Validation.Hit
	if got := find("jwtgate_validation_duration_seconds_count", "path", "hit"); got != float64(hits.Count) || hits.Count%64 != 0 {
		t.Fatalf("hit count: %v vs %d", got, hits.Count)
	}
	if hits.P50Ns > hits.P95Ns || hits.P95Ns > hits.P99Ns {
		t.Fatalf("quantiles: %+v", hits)
	}
}

// A slog handler that records what it is given.
type recordingHandler struct {
	mu      sync.Mutex
	records []slog.Record
	arrived chan struct{}
	once    sync.Once
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.records = append(h.records, r.Clone())
	h.mu.Unlock()
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "target" && a.Value.String() == "jwtgate::jwks" && r.Level >= slog.LevelWarn {
			h.once.Do(func() { close(h.arrived) })
		}
		return true
	})
	return nil
}
func (h *recordingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordingHandler) WithGroup(string) slog.Handler      { return h }

func attrsOf(r slog.Record) map[string]string {
	m := map[string]string{}
	r.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		return true
	})
	return m
}

func TestEventsReachSlogWhenTheyHappen(t *testing.T) {
	f := loadFixture(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond) // the fetch ends well after Validate returned
		w.WriteHeader(500)
	}))
	defer srv.Close()
	h := &recordingHandler{arrived: make(chan struct{})}
	SetLogger(slog.New(h))
	defer SetLogger(nil)

	v, err := New(remoteConfig(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	// The caller gives up after 50 ms; the key fetch it started goes on in the background.
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := v.Validate(short, f.token); err == nil {
		t.Fatal("validated without keys")
	}
	// No call into jwtgate from here on: the background fetch's warning must still arrive.
	select {
	case <-h.arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("no jwtgate::jwks event")
	}
	h.mu.Lock()
	var warn *slog.Record
	for i := range h.records {
		if attrsOf(h.records[i])["target"] == "jwtgate::jwks" && h.records[i].Level >= slog.LevelWarn {
			warn = &h.records[i]
			break
		}
	}
	h.mu.Unlock()
	if warn.Level != slog.LevelWarn || !strings.Contains(warn.Message, "JWKS fetch failed") ||
		attrsOf(*warn)["issuer"] != "https://issuer.test" {
		t.Fatalf("event: %v %q %v", warn.Level, warn.Message, attrsOf(*warn))
	}
	// An audit event carries its "event" field, as Python's records do.
	v.ClearCache()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		h.mu.Lock()
		for _, r := range h.records {
			if a := attrsOf(r); a["event"] == "cache_cleared" && a["target"] == "jwtgate::audit" && a["removed"] == "0" {
				h.mu.Unlock()
				return
			}
		}
		h.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no cache_cleared event")
}
