package jwtgate

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func remoteConfig(uri string) Config {
	return Config{
		Issuer:       "https://issuer.test",
		Audience:     Audiences{"https://api.test"},
		JWKSURI:      uri,
		FetchTimeout: Seconds(5 * time.Second),
		FetchRetries: Int(0),
	}
}

// Keys served over HTTP (loopback is allowed without TLS): the first validation waits for
// the fetch, later ones do not fetch again.
func TestRemoteKeySet(t *testing.T) {
	f := loadFixture(t)
	var fetches atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(f.jwks)
	}))
	defer srv.Close()

	v, err := New(remoteConfig(srv.URL + "/jwks"))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := v.Validate(ctx, f.token)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject() != f.sub {
		t.Fatalf("sub %q", c.Subject())
	}
	if err := v.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if _, err := v.Validate(ctx, f.token); err != nil {
			t.Fatal(err)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Fatalf("%d fetches, want 1", n)
	}
	h, err := v.Health()
	if err != nil || h.KeySource != "remote" || h.JWKS == nil || !h.JWKS.Loaded {
		t.Fatalf("health: %+v %v", h, err)
	}
}

// A key server that hangs: Validate returns at the context's deadline, long before
// fetch_timeout; the late result is dropped without leaking, and Close waits for it.
func TestContextDeadlineWhileFetching(t *testing.T) {
	f := loadFixture(t)
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
	// Deferred calls run last-first: the server answers, then Close waits for the fetch.
	defer v.Close()
	defer close(release)

	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = v.Validate(ctx, f.token)
	elapsed := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want the context's error, got %v", err)
	}
	if elapsed > 2*time.Second {
		t.Fatalf("returned after %v: the deadline was not honored", elapsed)
	}

	ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	if err := v.Ready(ctx2); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Ready: %v", err)
	}
}

// Nothing listens: the engine reports the key set unavailable (503 family).
func TestKeyServerDown(t *testing.T) {
	f := loadFixture(t)
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/jwks"
	srv.Close() // the port is now closed

	v, err := New(remoteConfig(url))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = v.Validate(ctx, f.token)
	var e *Error
	if !errors.Is(err, ErrProviderUnavailable) || !errors.As(err, &e) || e.HTTPStatus() != 503 {
		t.Fatalf("want provider unavailable, got %v", err)
	}
	if err := v.Ready(ctx); !errors.Is(err, ErrProviderUnavailable) {
		t.Fatalf("Ready: %v", err)
	}
}
