package jwtgate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// outcome runs one case: "ok" with the claims, or the error kind ("config" when the
// configuration is refused, as in every face).
func outcome(t *testing.T, newValidator func() (*Validator, error), token string) (string, map[string]any) {
	t.Helper()
	v, err := newValidator()
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("not an *Error: %v", err)
		}
		if !errors.Is(err, ErrConfig) {
			return "not-config:" + e.Kind(), nil
		}
		return e.Kind(), nil
	}
	defer v.Close()
	var kind string
	var claims map[string]any
	// Twice: the second answer comes from the result cache and must be the same.
	for round := 0; round < 2; round++ {
		c, err := v.Validate(context.Background(), token)
		k := "ok"
		var m map[string]any
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("not an *Error: %v", err)
			}
			if e.Code() != kindCode(e.Kind()) {
				t.Errorf("kind %s has code %d", e.Kind(), e.Code())
			}
			k = e.Kind()
		} else {
			if m, err = c.Map(); err != nil {
				t.Fatalf("claims JSON: %v", err)
			}
			// Subject and ID come from the engine without decoding: they must say what the
			// JSON says ("" for a claim that is absent or not a string).
			sub, _ := m["sub"].(string)
			jti, _ := m["jti"].(string)
			if c.Subject() != sub || c.ID() != jti {
				t.Errorf("Subject/ID %q %q, the JSON says %q %q", c.Subject(), c.ID(), sub, jti)
			}
		}
		if round == 1 && (k != kind || !reflect.DeepEqual(m, claims)) {
			t.Errorf("cached answer differs: %s then %s", kind, k)
		}
		kind, claims = k, m
	}
	return kind, claims
}

func kindCode(name string) int {
	for _, s := range kindSentinels {
		if s.kind == name {
			return s.code
		}
	}
	return -1
}

func TestSharedVectors(t *testing.T) {
	total := 0
	for _, f := range loadVectors(t) {
		for _, c := range f.Cases {
			total++
			c := c
			config := f.Configs[c.Config]
			t.Run(f.Name+"/"+c.Name, func(t *testing.T) {
				kind, claims := outcome(t, func() (*Validator, error) { return NewFromJSON(config) }, c.Token)
				if c.Expect.Valid {
					if kind != "ok" {
						t.Fatalf("rejected with %s", kind)
					}
					var want map[string]any
					if err := json.Unmarshal(c.Expect.Claims, &want); err != nil {
						t.Fatal(err)
					}
					if !reflect.DeepEqual(claims, want) {
						t.Fatalf("claims differ:\n got %v\nwant %v", claims, want)
					}
				} else if kind != c.Expect.Error {
					t.Fatalf("expected %s, got %s", c.Expect.Error, kind)
				}

				// The same configuration through the Config struct (its json tags are the
				// canonical names) must reach the same outcome.
				var cfg Config
				dec := json.NewDecoder(bytes.NewReader(config))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&cfg); err != nil {
					return // e.g. the misspelt option of keys.json: nothing to map
				}
				kind2, claims2 := outcome(t, func() (*Validator, error) { return New(cfg) }, c.Token)
				if kind2 != kind || !reflect.DeepEqual(claims2, claims) {
					t.Fatalf("through Config: %s, through JSON: %s", kind2, kind)
				}
			})
		}
	}
	if total < 100 {
		t.Fatalf("only %d vectors", total)
	}
	t.Logf("%d vectors", total)
}
