package jwtgate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
)

// The sentinels are the engine's table: every kind it has (every C result but the three
// C-only ones) has exactly one kind sentinel, with its code and status, and no sentinel names
// a kind it does not have.
func TestSentinelsMatchTheEngine(t *testing.T) {
	byName := map[string]*Error{}
	for _, s := range kindSentinels {
		k := errorKinds.byName[s.kind]
		if k == nil || s.code != k.Code || s.HTTPStatus() != k.Status || resultName(s.code) != s.kind {
			t.Errorf("sentinel %q (%d): the engine has %+v", s.kind, s.code, k)
		}
		if byName[s.kind] != nil {
			t.Errorf("two sentinels for %q", s.kind)
		}
		byName[s.kind] = s
	}
	for _, k := range errorKinds.rows {
		if byName[k.Kind] == nil {
			t.Errorf("engine kind %q (%d) has no Go sentinel", k.Kind, k.Code)
		}
	}
	for code := 0; code < 10000; code++ {
		switch name := resultName(code); name {
		case "", "ok", "null_parameter", "invalid_argument":
		default:
			if errorKinds.byName[name] == nil || errorKinds.byName[name].Code != code {
				t.Errorf("C result %q (%d) is not in the engine's table", name, code)
			}
		}
	}
	if len(errorKinds.rows) < 26 || ErrInvalidRequest.Code() != 1005 || ErrInvalidRequest.HTTPStatus() != 400 {
		t.Fatalf("table of %d kinds, invalid_request %d/%d", len(errorKinds.rows), ErrInvalidRequest.Code(), ErrInvalidRequest.HTTPStatus())
	}
}

// Classes and families follow the engine's classes (ErrorKind::class), as in every face: a
// class sentinel matches exactly the kinds of its class, ErrInvalidToken exactly the kinds a
// resource server answers with 400 or 401 (missing_token and invalid_request included), and
// ErrProviderUnavailable exactly those it answers with 503. Every class the engine names has
// a sentinel that matches all its kinds.
func TestClassesMatchTheEngine(t *testing.T) {
	classes := map[string]bool{}
	for _, k := range errorKinds.rows {
		classes[k.Class] = true
		e := kind(k.Kind).withMessage("x")
		if got, want := errors.Is(e, ErrInvalidToken), k.Status == 400 || k.Status == 401; got != want {
			t.Errorf("%s: errors.Is(ErrInvalidToken) = %v", k.Kind, got)
		}
		if got, want := errors.Is(e, ErrProviderUnavailable), k.Status == 503; got != want {
			t.Errorf("%s: errors.Is(ErrProviderUnavailable) = %v", k.Kind, got)
		}
		for _, c := range classSentinels[1:] {
			if c == ErrProviderUnavailable {
				continue
			}
			if got, want := errors.Is(e, c), k.Class == c.group; got != want {
				t.Errorf("%s (class %s): errors.Is(%s) = %v", k.Kind, k.Class, c.group, got)
			}
		}
	}
	for name := range classes {
		covered := false
		for _, s := range append(slices.Clone(classSentinels), kindSentinels...) {
			all := true
			for _, k := range errorKinds.rows {
				if k.Class == name && !errors.Is(kind(k.Kind), s) {
					all = false
				}
			}
			covered = covered || all && (s.group == name || s.group == "" && errorKinds.byName[s.kind].Class == name)
		}
		if !covered {
			t.Errorf("the engine's class %q has no Go sentinel", name)
		}
	}
	if !errors.Is(ErrMissingToken, ErrInvalidToken) || !errors.Is(ErrInvalidRequest, ErrMalformedToken) ||
		!errors.Is(ErrSignature, ErrInvalidToken) || !errors.Is(ErrKeysNotLoaded, ErrProviderUnavailable) ||
		errors.Is(ErrSignature, ErrProviderUnavailable) || errors.Is(ErrInsufficientScope, ErrInvalidToken) {
		t.Error("the hierarchy is wrong")
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
