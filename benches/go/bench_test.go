// Benchmarks (not tests: nothing here asserts a timing) of jwtgate from Go against
// golang-jwt v5 on the same RS256 token, the same key and the same checks (alg allowlist,
// iss, aud, exp/nbf/iat with 30 s leeway, typ). Run against the release library:
//
//	cargo build --release -p jwtgate-ffi
//	go test -tags jwtgate_release -run '^$' -bench . -benchmem
//
// (`make -C bindings-ffi bench` does both.) Results: RESULTS.md.
package bench

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/jwtgate/jwtgate-go"
)

type vectors struct {
	Configs map[string]json.RawMessage `json:"configs"`
	Cases   []struct {
		Config string `json:"config"`
		Token  string `json:"token"`
	} `json:"cases"`
}

type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// fixture: the shared vectors' default configuration and its first valid token (RS256,
// kid rsa-a, typ at+jwt, exp in 2100).
func fixture(b *testing.B) (config json.RawMessage, token string, keys map[string]*rsa.PublicKey) {
	b.Helper()
	data, err := os.ReadFile("../../tests/vectors/valid.json")
	if err != nil {
		b.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(data, &v); err != nil {
		b.Fatal(err)
	}
	config = v.Configs[v.Cases[0].Config]
	token = v.Cases[0].Token
	var doc struct {
		JWKS struct {
			Keys []jwk `json:"keys"`
		} `json:"jwks"`
	}
	if err := json.Unmarshal(config, &doc); err != nil {
		b.Fatal(err)
	}
	keys = map[string]*rsa.PublicKey{}
	for _, k := range doc.JWKS.Keys {
		if k.Kty != "RSA" {
			continue
		}
		n, err1 := base64.RawURLEncoding.DecodeString(k.N)
		e, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err1 != nil || err2 != nil {
			b.Fatal("bad JWK")
		}
		keys[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	return config, token, keys
}

func withMember(b *testing.B, config json.RawMessage, name string, value any) []byte {
	b.Helper()
	var m map[string]any
	if err := json.Unmarshal(config, &m); err != nil {
		b.Fatal(err)
	}
	m[name] = value
	out, err := json.Marshal(m)
	if err != nil {
		b.Fatal(err)
	}
	return out
}

func benchJwtgate(b *testing.B, config []byte, token string, parallel bool) {
	v, err := jwtgate.NewFromJSON(config)
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	ctx := context.Background()
	if _, err := v.Validate(ctx, token); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	if parallel {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := v.Validate(ctx, token); err != nil {
					b.Error(err)
					return
				}
			}
		})
		return
	}
	for i := 0; i < b.N; i++ {
		if _, err := v.Validate(ctx, token); err != nil {
			b.Fatal(err)
		}
	}
}

// Hit: the token was verified before; the result cache answers (exp/nbf re-checked).
func BenchmarkJwtgateHit(b *testing.B) {
	config, token, _ := fixture(b)
	benchJwtgate(b, config, token, false)
}

func BenchmarkJwtgateHitParallel(b *testing.B) {
	config, token, _ := fixture(b)
	benchJwtgate(b, config, token, true)
}

// Cold: the result cache is off (cache_max_entries 0), so every call parses the token,
// verifies the RS256 signature and checks the claims, as for a token never seen before.
func BenchmarkJwtgateCold(b *testing.B) {
	config, token, _ := fixture(b)
	benchJwtgate(b, withMember(b, config, "cache_max_entries", 0), token, false)
}

func BenchmarkJwtgateColdParallel(b *testing.B) {
	config, token, _ := fixture(b)
	benchJwtgate(b, withMember(b, config, "cache_max_entries", 0), token, true)
}

func golangJWTParser() *jwt.Parser {
	return jwt.NewParser(
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithIssuer("https://issuer.test"),
		jwt.WithAudience("https://api.test"),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(30*time.Second),
	)
}

var errTyp = errors.New("typ is not at+jwt")

// The key function golang-jwt users write over a JWKS (what keyfunc does per call): the
// key set is parsed once; each token's kid selects a key. The typ check matches
// jwtgate's token_type.
func jwksKeyfunc(keys map[string]*rsa.PublicKey) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		if typ, _ := t.Header["typ"].(string); typ != "at+jwt" {
			return nil, errTyp
		}
		kid, _ := t.Header["kid"].(string)
		k, ok := keys[kid]
		if !ok {
			return nil, jwt.ErrTokenUnverifiable
		}
		return k, nil
	}
}

func benchGolangJWT(b *testing.B, parallel bool) {
	_, token, keys := fixture(b)
	parser := golangJWTParser()
	keyfunc := jwksKeyfunc(keys)
	if _, err := parser.Parse(token, keyfunc); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	if parallel {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := parser.Parse(token, keyfunc); err != nil {
					b.Error(err)
					return
				}
			}
		})
		return
	}
	for i := 0; i < b.N; i++ {
		if _, err := parser.Parse(token, keyfunc); err != nil {
			b.Fatal(err)
		}
	}
}

// golang-jwt v5, RS256, key chosen by kid from a pre-parsed JWKS. It has no result cache:
// every call verifies the signature.
func BenchmarkGolangJWT_RS256(b *testing.B) { benchGolangJWT(b, false) }

func BenchmarkGolangJWT_RS256Parallel(b *testing.B) { benchGolangJWT(b, true) }
