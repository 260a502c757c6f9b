package jwtgate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var zeroTime time.Time

func TestClaimsAccessors(t *testing.T) {
	f := loadFixture(t)
	v := mustValidator(t, f.config)
	defer v.Close()
	c, err := v.Validate(context.Background(), f.token)
	if err != nil {
		t.Fatal(err)
	}
	if c.Issuer() != "https://issuer.test" || c.Subject() != f.sub || c.ID() != f.jti {
		t.Fatalf("iss/sub/jti: %q %q %q", c.Issuer(), c.Subject(), c.ID())
	}
	if exp, ok := c.ExpiresAt(); !ok || exp.Unix() != 4102444800 {
		t.Fatalf("exp: %v %v", exp, ok)
	}
	want := []string{"openid", "profile", "email", "read:items", "write:items"}
	if fmt.Sprint(c.Scopes()) != fmt.Sprint(want) {
		t.Fatalf("scopes: %v", c.Scopes())
	}
	if !c.HasScopes("read:items", "email") || c.HasScopes("admin") {
		t.Fatal("HasScopes")
	}
	var typed struct {
		Roles []string `json:"roles"`
	}
	if err := c.Decode(&typed); err != nil || len(typed.Roles) != 2 {
		t.Fatalf("Decode: %v %v", typed, err)
	}
	if !strings.Contains(string(c.JSON()), `"iss"`) {
		t.Fatal("JSON")
	}

	if _, err := v.ValidateScopes(context.Background(), f.token, "read:items"); err != nil {
		t.Fatal(err)
	}
	_, err = v.ValidateScopes(context.Background(), f.token, "read:items", "admin")
	var e *Error
	if !errors.Is(err, ErrInsufficientScope) || !errors.As(err, &e) || e.HTTPStatus() != 403 ||
		!strings.Contains(e.Message(), "admin") {
		t.Fatalf("insufficient scope expected: %v", err)
	}
}

func TestStatsMetricsHealthRevocation(t *testing.T) {
	f := loadFixture(t)
	v := mustValidator(t, f.config)
	defer v.Close()
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err := v.Validate(ctx, f.token); err != nil {
			t.Fatal(err)
		}
	}
	n, err := v.RevokeJTI(f.jti, zeroTime)
	if err != nil || n != 1 {
		t.Fatalf("RevokeJTI: %d %v", n, err)
	}
	if _, err := v.Validate(ctx, f.token); !errors.Is(err, ErrRevoked) {
		t.Fatalf("revoked token accepted: %v", err)
	}
	st, err := v.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.ValidationsOK != 3 || st.CacheHits != 2 || st.FailuresByKind["revoked"] != 1 {
		t.Fatalf("stats: %+v", st)
	}
	if _, ok := st.Extra["cache_hits"]; !ok {
		t.Fatal("Extra keeps every counter")
	}
	text, err := v.MetricsText()
	if err != nil || !strings.Contains(text, `jwtgate_validations_total{outcome="ok"} 3`) {
		t.Fatalf("metrics: %v\n%s", err, text)
	}
	h, err := v.Health()
	if err != nil || h.KeySource != "static" || h.Issuer != "https://issuer.test" {
		t.Fatalf("health: %+v %v", h, err)
	}

	w := mustValidator(t, f.config)
	defer w.Close()
	if _, err := w.Validate(ctx, f.token); err != nil {
		t.Fatal(err)
	}
	if _, err := w.RevokeSubject(f.sub, zeroTime); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Validate(ctx, f.token); !errors.Is(err, ErrRevoked) {
		t.Fatalf("subject revocation: %v", err)
	}
	if Version() == "" {
		t.Fatal("Version")
	}
}

func TestOddInputs(t *testing.T) {
	f := loadFixture(t)
	v := mustValidator(t, f.config)
	defer v.Close()
	ctx := context.Background()
	cases := map[string]error{
		"":                           ErrMalformed,
		"\xff\xfe.\xc3\x28.x":        ErrMalformed, // not UTF-8
		strings.Repeat("a", 1<<20):   ErrTokenTooLarge,
		f.token[:len(f.token)-4]:     ErrInvalidToken,
		"e30.e30.e30":                ErrMalformed,
		f.token + "\x00":             ErrInvalidToken,
		strings.ToUpper(f.token[:5]): ErrInvalidToken,
	}
	for token, want := range cases {
		if _, err := v.Validate(ctx, token); !errors.Is(err, want) {
			t.Errorf("%.20q: want %v, got %v", token, want, err)
		}
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := v.Validate(canceled, f.token); !errors.Is(err, context.Canceled) {
		t.Fatalf("a done context is reported first: %v", err)
	}
}

// 64 goroutines share one validator: valid tokens, cache hits and refusals interleave.
func TestSixtyFourGoroutinesOneValidator(t *testing.T) {
	f := loadFixture(t)
	v := mustValidator(t, f.config)
	defer v.Close()
	type tc struct {
		token string
		want  error // nil: valid
	}
	var cases []tc
	for _, file := range loadVectors(t) {
		for _, c := range file.Cases {
			if c.Config != "default" || (file.Name != "valid.json" && file.Name != "signatures.json" && file.Name != "claims.json") {
				continue
			}
			if c.Expect.Valid {
				cases = append(cases, tc{c.Token, nil})
			} else {
				cases = append(cases, tc{c.Token, kindByName(c.Expect.Error)})
			}
		}
	}
	if len(cases) < 20 {
		t.Fatalf("only %d cases", len(cases))
	}
	const workers, rounds = 64, 40
	var wg sync.WaitGroup
	var failures atomic.Int64
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				c := cases[(w*7+i)%len(cases)]
				claims, err := v.Validate(context.Background(), c.token)
				switch {
				case c.want == nil && (err != nil || claims.Issuer() != "https://issuer.test"):
					failures.Add(1)
				case c.want != nil && !errors.Is(err, c.want):
					failures.Add(1)
				}
			}
		}(w)
	}
	wg.Wait()
	if n := failures.Load(); n != 0 {
		t.Fatalf("%d wrong answers", n)
	}
	st, _ := v.Stats()
	if st.ValidationsOK+st.ValidationsFailed != workers*rounds {
		t.Fatalf("counted %d+%d validations, want %d", st.ValidationsOK, st.ValidationsFailed, workers*rounds)
	}
}

func kindByName(name string) error {
	for _, s := range kindSentinels {
		if s.kind == name {
			return s
		}
	}
	return fmt.Errorf("unknown kind %q", name)
}

// Validators dropped without Close are released by their finalizer while other
// goroutines keep validating on validators of their own; a validator closed while others
// use it fails them with ErrClosed, never with a crash.
func TestFinalizersUnderGCStress(t *testing.T) {
	f := loadFixture(t)
	before := finalized.Load()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var errs atomic.Int64
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				v, err := NewFromJSON(f.config)
				if err != nil {
					errs.Add(1)
					return
				}
				for i := 0; i < 3; i++ {
					if c, err := v.Validate(context.Background(), f.token); err != nil || c.Subject() != f.sub {
						errs.Add(1)
					}
				}
				// dropped without Close: the finalizer must release it
			}
		}()
	}
	for i := 0; i < 40; i++ {
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	for i := 0; i < 10 && finalized.Load() == before; i++ {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if errs.Load() != 0 {
		t.Fatalf("%d failed validations", errs.Load())
	}
	if finalized.Load() == before {
		t.Fatal("no finalizer ran")
	}
	t.Logf("%d validators released by finalizers", finalized.Load()-before)

	// Close while 16 goroutines validate.
	v := mustValidator(t, f.config)
	var closedSeen atomic.Int64
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				_, err := v.Validate(context.Background(), f.token)
				if errors.Is(err, ErrClosed) {
					closedSeen.Add(1)
					return
				}
				if err != nil {
					errs.Add(1)
					return
				}
				runtime.Gosched()
			}
		}()
	}
	time.Sleep(20 * time.Millisecond)
	runtime.GC()
	v.Close()
	wg.Wait()
	if closedSeen.Load() != 16 || errs.Load() != 0 {
		t.Fatalf("closed seen by %d of 16; %d errors", closedSeen.Load(), errs.Load())
	}
}

// The engine's cache hits reuse the Go copy made for the same claims; without the engine's
// cache nothing is kept.
func TestCacheHitsReuseTheGoCopy(t *testing.T) {
	f := loadFixture(t)
	ctx := context.Background()
	v := mustValidator(t, f.config)
	defer v.Close()
	first, err := v.Validate(ctx, f.token)
	if err != nil {
		t.Fatal(err)
	}
	second, _ := v.Validate(ctx, f.token)
	third, _ := v.Validate(ctx, f.token)
	if second == nil || second != third {
		t.Fatal("hits after the first must share one copy")
	}
	if first.Subject() != second.Subject() || string(first.JSON()) != string(second.JSON()) {
		t.Fatal("copies differ")
	}
	if _, err := v.ValidateScopes(ctx, f.token, "write:items", "admin"); !errors.Is(err, ErrInsufficientScope) {
		t.Fatalf("scopes are checked on hits too: %v", err)
	}
	if _, err := v.RevokeJTI(f.jti, zeroTime); err != nil {
		t.Fatal(err)
	}
	if c, err := v.Validate(ctx, f.token); !errors.Is(err, ErrRevoked) || c != nil {
		t.Fatalf("a kept copy must not outlive a revocation: %v", err)
	}

	var cfg map[string]any
	if err := json.Unmarshal(f.config, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["cache_max_entries"] = 0
	raw, _ := json.Marshal(cfg)
	w := mustValidator(t, raw)
	defer w.Close()
	a, _ := w.Validate(ctx, f.token)
	b, _ := w.Validate(ctx, f.token)
	if a == nil || a == b {
		t.Fatal("without the engine's cache every call is a fresh validation")
	}
	for i := range w.converted.slots {
		if w.converted.slots[i].Load() != nil {
			t.Fatal("claims the engine did not cache must not be kept")
		}
	}
}
