package jwtgate

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

const fleetSecret = "go-face-fleet-secret-0123456789abcdef"

// startRedis runs redis-server (installed by `make test`) on a free loopback port and stops
// it by PID when the test ends.
func startRedis(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("redis-server is missing: `make test` installs it (make redis-deps)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command("redis-server", "--port", fmt.Sprint(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _ := exec.Command("redis-cli", "-p", fmt.Sprint(port), "PING").Output()
		if strings.TrimSpace(string(out)) == "PONG" {
			return fmt.Sprintf("redis://127.0.0.1:%d", port)
		}
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func fleetConfig(jwksURI, redisURL string) Config {
	timeout := 0.5
	return Config{
		Issuer: "https://issuer.test", Audience: []string{"https://api.test"}, JWKSURI: jwksURI,
		RedisURL: redisURL, FleetSecret: fleetSecret, RedisTimeout: &timeout,
	}
}

// Two validators (as two instances would) share one Redis: the key set is fetched once, and a
// revocation made through one is refused by the other.
func TestFleetSharesKeysAndRevocations(t *testing.T) {
	url := startRedis(t)
	key := newSigningKey(t, "fleet-key")
	ks := newKeyServer(t, key)
	ctx := context.Background()
	a, err := New(fleetConfig(ks.URL, url))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := New(fleetConfig(ks.URL, url))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := a.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	if got := ks.requests.Load(); got != 1 {
		t.Fatalf("key set fetched %d times for two instances, want 1", got)
	}
	token := key.sign(t, "https://issuer.test", "go-fleet-1")
	if _, err := b.Validate(ctx, token); err != nil {
		t.Fatal(err)
	}
	if _, err := a.RevokeJTI("go-fleet-1", time.Time{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, err := b.Validate(ctx, token)
		if errors.Is(err, ErrRevokedToken) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the revocation did not reach the other validator (last: %v)", err)
		}
		time.Sleep(time.Millisecond)
	}
	stats, err := b.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if stats.RedisJWKSShared != 1 || stats.RedisRevocationsReceived != 1 {
		t.Fatalf("stats: jwks shared %d, revocations received %d", stats.RedisJWKSShared, stats.RedisRevocationsReceived)
	}
	health, err := b.Health()
	if err != nil {
		t.Fatal(err)
	}
	if health.Fleet == nil || !health.Fleet.Subscribed || health.Fleet.Mode != "single" {
		t.Fatalf("health.fleet = %+v", health.Fleet)
	}
}

// Redis unreachable: every request is still answered, and health says so.
func TestFleetWithRedisDown(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	key := newSigningKey(t, "fleet-key")
	ks := newKeyServer(t, key)
	v, err := New(fleetConfig(ks.URL, fmt.Sprintf("redis://127.0.0.1:%d", port)))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		if _, err := v.Validate(ctx, key.sign(t, "https://issuer.test", fmt.Sprint("down-", i))); err != nil {
			t.Fatalf("validation %d failed with Redis down: %v", i, err)
		}
	}
	health, err := v.Health()
	if err != nil {
		t.Fatal(err)
	}
	if health.Fleet == nil || health.Fleet.Connected {
		t.Fatalf("health.fleet = %+v, want connected false", health.Fleet)
	}
	// The options are the core's: a missing secret is its config error, naming the field.
	cfg := fleetConfig(ks.URL, "redis://127.0.0.1:1")
	cfg.FleetSecret = ""
	if _, err := New(cfg); !errors.Is(err, ErrConfig) || !strings.HasPrefix(err.(*Error).Message(), "fleet_secret") {
		t.Fatalf("missing fleet_secret: %v", err)
	}
}
