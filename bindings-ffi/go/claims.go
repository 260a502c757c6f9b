package jwtgate

import (
	"encoding/json"
	"slices"
	"sync"
	"time"
)

// Claims are the verified claims of a token. They are plain Go memory (copied out of the
// engine), immutable and safe for concurrent use. A validation answered from the engine's
// result cache returns the same *Claims as the validation that filled it, so a hit costs no
// copy; the JSON is decoded only when a method needs it.
type Claims struct {
	raw       []byte
	scopes    []string // as the engine reads them
	sub, jti  string   // as the engine keeps them: "" when absent or not a string
	expiresAt time.Time

	once   sync.Once
	parsed map[string]any
	err    error
}

// JSON is the payload exactly as the token carried it. The slice is shared: do not modify it.
func (c *Claims) JSON() json.RawMessage { return c.raw }

// Decode unmarshals the payload into v (a struct with json tags, typically).
func (c *Claims) Decode(v any) error { return json.Unmarshal(c.raw, v) }

// Map is the payload decoded once into a map (numbers as float64). The map is shared: do
// not modify it.
func (c *Claims) Map() (map[string]any, error) {
	c.once.Do(func() { c.err = json.Unmarshal(c.raw, &c.parsed) })
	return c.parsed, c.err
}

// Get returns one claim.
func (c *Claims) Get(name string) (any, bool) {
	m, err := c.Map()
	if err != nil {
		return nil, false
	}
	v, ok := m[name]
	return v, ok
}

// String returns a string claim, or "" when it is absent or not a string.
func (c *Claims) String(name string) string {
	v, _ := c.Get(name)
	s, _ := v.(string)
	return s
}

// Subject is the "sub" claim ("" when it is absent or not a string). It needs no decoding.
func (c *Claims) Subject() string { return c.sub }

// Issuer is the "iss" claim.
func (c *Claims) Issuer() string { return c.String("iss") }

// ID is the "jti" claim ("" when it is absent or not a string). It needs no decoding.
func (c *Claims) ID() string { return c.jti }

// ExpiresAt is the "exp" claim; false when the token has none.
func (c *Claims) ExpiresAt() (time.Time, bool) { return c.expiresAt, !c.expiresAt.IsZero() }

// Scopes are the granted scopes, as the engine reads them: "scope" (space-separated,
// RFC 9068 §2.2.3) and "scp" (a list or a string).
func (c *Claims) Scopes() []string { return slices.Clone(c.scopes) }

// HasScopes reports whether every one of scopes was granted.
func (c *Claims) HasScopes(scopes ...string) bool {
	for _, s := range scopes {
		if !slices.Contains(c.scopes, s) {
			return false
		}
	}
	return true
}
