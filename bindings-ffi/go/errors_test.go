package jwtgate

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// Every sentinel names the code the C ABI gives its kind, and every kind the engine has
// (each result code but the three C-only ones) has a sentinel.
func TestSentinelsMatchTheEngine(t *testing.T) {
	byCode := map[int]*Error{}
	for _, s := range kindSentinels {
		if got := resultName(s.code); got != s.kind {
			t.Errorf("code %d: engine says %q, Go says %q", s.code, got, s.kind)
		}
		byCode[s.code] = s
	}
	for code := 0; code < 10000; code++ {
		name := resultName(code)
		switch name {
		case "", "ok", "null_parameter", "invalid_argument":
			continue
		}
		if byCode[code] == nil {
			t.Errorf("engine kind %q (%d) has no Go sentinel", name, code)
		}
	}
}

func TestErrorsIsMatchesKindsAndFamilies(t *testing.T) {
	f := loadFixture(t)
	v := mustValidator(t, f.config)
	defer v.Close()
	_, err := v.Validate(context.Background(), "e30.e30.e30")
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("not an *Error: %v", err)
	}
	if e.Kind() != "malformed" || e.Code() != 1000 || e.HTTPStatus() != 401 || e.Message() == "" {
		t.Fatalf("unexpected error %#v", e)
	}
	wrapped := fmt.Errorf("handler: %w", err)
	for _, target := range []error{ErrMalformed, ErrInvalidToken} {
		if !errors.Is(wrapped, target) {
			t.Errorf("errors.Is(%v, %v) = false", err, target)
		}
	}
	for _, target := range []error{ErrExpired, ErrProviderUnavailable, ErrConfig, ErrInsufficientScope, ErrClosed} {
		if errors.Is(err, target) {
			t.Errorf("errors.Is(%v, %v) = true", err, target)
		}
	}
	// Kinds belong to their family.
	if !errors.Is(ErrExpired, ErrInvalidToken) || !errors.Is(ErrKeysNotLoaded, ErrProviderUnavailable) ||
		!errors.Is(ErrJWKSUnavailable, ErrProviderUnavailable) || !errors.Is(ErrProviderDown, ErrProviderUnavailable) ||
		errors.Is(ErrInsufficientScope, ErrInvalidToken) || errors.Is(ErrConfig, ErrProviderUnavailable) {
		t.Error("family membership is wrong")
	}

	_, err = NewFromJSON([]byte(`{"issuer":"https://issuer.test","audiance":"typo"}`))
	if !errors.Is(err, ErrConfig) || !errors.As(err, &e) || e.HTTPStatus() != 500 {
		t.Fatalf("config error expected, got %v", err)
	}
	_, err = New(Config{Issuer: "https://issuer.test", Audience: Audiences{"api"}, Algorithms: []string{}, JWKS: f.jwks})
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("an empty algorithm list must be refused, not widened: %v", err)
	}
}

func TestClosedValidator(t *testing.T) {
	f := loadFixture(t)
	v := mustValidator(t, f.config)
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
	if _, err := v.Validate(context.Background(), f.token); !errors.Is(err, ErrClosed) {
		t.Fatalf("Validate after Close: %v", err)
	}
	if _, err := v.Stats(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Stats after Close: %v", err)
	}
	if _, err := v.RevokeJTI("x", zeroTime); !errors.Is(err, ErrClosed) {
		t.Fatalf("RevokeJTI after Close: %v", err)
	}
	if err := v.Ready(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Ready after Close: %v", err)
	}
}
