// The Go driver of the cross-language micro benchmark (benches/cross/README.md defines the
// spec and the JSON-lines protocol): jwtgate's Go package, with and without its result
// cache, next to golang-jwt v5 doing the same checks, for RS256, PS256, ES256, EdDSA, HS256.
//
// Build against the release library (from benches/go):
//
//	cargo build --release -p jwtgate-ffi
//	go build -tags jwtgate_release -o ../../target/cross-driver-go ./cross_driver
//
// Run: cross-driver-go SPEC.json, then commands on stdin, one JSON object per line.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/jwtgate/jwtgate-go"
)

var algs = []string{"RS256", "PS256", "ES256", "EdDSA", "HS256"}

const golangJWTModule = "github.com/golang-jwt/jwt/v5"

type algSpec struct {
	Token     string          `json:"token"`
	BadToken  string          `json:"bad_token"`
	Sub       string          `json:"sub"`
	Kid       string          `json:"kid"`
	PublicPEM string          `json:"public_pem"`
	Secret    string          `json:"secret"`
	Config    json.RawMessage `json:"config"`
}

type spec struct {
	Issuer    string             `json:"issuer"`
	Audience  string             `json:"audience"`
	TokenType string             `json:"token_type"`
	Leeway    float64            `json:"leeway"`
	Algs      map[string]algSpec `json:"algs"`
}

type subjectInfo struct {
	ID   string `json:"id"`
	Impl string `json:"impl"`
	Alg  string `json:"alg"`
	Mode string `json:"mode"`
}

// A subject: one validator on one token. call is exactly one validation as a request
// handler would make it; it returns the verified sub (checked once before the ready line)
// or an error.
type subject struct {
	info  subjectInfo
	token string
	bad   string
	call  func(token string) (string, error)
	// loop runs n validations of the good token and fails on the first error; written per
	// library so that the timed loop calls the library directly, not through call.
	loop func(n int) error
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "cross-driver-go: "+format+"\n", args...)
	os.Exit(1)
}

// moduleVersion is the version of a dependency as linked into this binary, so the impl
// name follows go.mod instead of a string that could go stale.
func moduleVersion(path string) string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if d.Path == path {
				if d.Replace != nil && d.Replace.Version != "" {
					return d.Replace.Version
				}
				return d.Version
			}
		}
	}
	return "unknown"
}

// withMember returns the JSON object config with one member added (cache_max_entries 0
// for the cold subjects).
func withMember(config json.RawMessage, name string, value any) []byte {
	var m map[string]any
	if err := json.Unmarshal(config, &m); err != nil {
		fail("config: %v", err)
	}
	m[name] = value
	out, err := json.Marshal(m)
	if err != nil {
		fail("config: %v", err)
	}
	return out
}

func jwtgateSubject(alg, mode string, a algSpec, config []byte) subject {
	v, err := jwtgate.NewFromJSON(config)
	if err != nil {
		fail("jwtgate %s %s: validator: %v", alg, mode, err)
	}
	// Never closed: the validator lives as long as the process. Background context: its
	// Done() is nil, so Validate takes the plain synchronous path (no goroutine), as the
	// existing benches/go benchmark does.
	ctx := context.Background()
	token := a.Token
	return subject{
		info:  subjectInfo{ID: "go/jwtgate/" + alg + "/" + mode, Impl: "jwtgate", Alg: alg, Mode: mode},
		token: a.Token,
		bad:   a.BadToken,
		call: func(t string) (string, error) {
			c, err := v.Validate(ctx, t)
			if err != nil {
				return "", err
			}
			return c.Subject(), nil
		},
		loop: func(n int) error {
			for i := 0; i < n; i++ {
				if _, err := v.Validate(ctx, token); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

var errTyp = errors.New("typ header is not the expected token type")
var errKid = errors.New("kid header does not name the key")

// golangJWTSubject: golang-jwt v5 set up for the same work as jwtgate: the key parsed once,
// only the one algorithm, iss, aud, exp (required), nbf and iat with the spec's leeway, and
// in the key function the typ header (jwtgate's token_type) and the kid (jwtgate selects
// the key by kid; both checks are a map lookup and a string compare). It has no result
// cache, so its only mode is cold.
func golangJWTSubject(alg, impl string, s *spec, a algSpec) subject {
	var key any
	var err error
	switch alg {
	case "RS256", "PS256":
		key, err = jwt.ParseRSAPublicKeyFromPEM([]byte(a.PublicPEM))
	case "ES256":
		key, err = jwt.ParseECPublicKeyFromPEM([]byte(a.PublicPEM))
	case "EdDSA":
		key, err = jwt.ParseEdPublicKeyFromPEM([]byte(a.PublicPEM))
	case "HS256":
		key = []byte(a.Secret)
	}
	if err != nil {
		fail("golang-jwt %s: key: %v", alg, err)
	}
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{alg}),
		jwt.WithIssuer(s.Issuer),
		jwt.WithAudience(s.Audience),
		jwt.WithExpirationRequired(),
		// jwtgate refuses an iat in the future too (issued_in_future).
		jwt.WithIssuedAt(),
		jwt.WithLeeway(time.Duration(s.Leeway*float64(time.Second))),
	)
	typ, kid := s.TokenType, a.Kid
	keyfunc := func(t *jwt.Token) (any, error) {
		if h, _ := t.Header["typ"].(string); h != typ {
			return nil, errTyp
		}
		if kid != "" { // HS256 tokens carry no kid: the shared secret is the only key
			if h, _ := t.Header["kid"].(string); h != kid {
				return nil, errKid
			}
		}
		return key, nil
	}
	token := a.Token
	// jwt.Parse into MapClaims, as the existing benches/go benchmark does: like jwtgate's
	// claims, every claim of the token stays available to the caller.
	return subject{
		info:  subjectInfo{ID: "go/" + impl + "/" + alg + "/cold", Impl: impl, Alg: alg, Mode: "cold"},
		token: a.Token,
		bad:   a.BadToken,
		call: func(t string) (string, error) {
			tok, err := parser.Parse(t, keyfunc)
			if err != nil {
				return "", err
			}
			if !tok.Valid {
				return "", errors.New("token not marked valid")
			}
			return tok.Claims.GetSubject()
		},
		loop: func(n int) error {
			for i := 0; i < n; i++ {
				if _, err := parser.Parse(token, keyfunc); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// check: the good token is accepted with the spec's sub, the damaged one refused. Run
// twice, so that the hit subjects are checked on the cached answer as well.
func check(sub subject, want string) {
	for round := 0; round < 2; round++ {
		got, err := sub.call(sub.token)
		if err != nil {
			fail("%s: good token refused: %v", sub.info.ID, err)
		}
		if got != want {
			fail("%s: sub is %q, want %q", sub.info.ID, got, want)
		}
		if _, err := sub.call(sub.bad); err == nil {
			fail("%s: bad_token accepted", sub.info.ID)
		}
	}
}

func main() {
	if len(os.Args) != 2 {
		fail("usage: cross-driver-go SPEC.json")
	}
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		fail("spec: %v", err)
	}
	var s spec
	if err := json.Unmarshal(data, &s); err != nil {
		fail("spec: %v", err)
	}

	jwtVersion := moduleVersion(golangJWTModule)
	impl := "golang-jwt " + jwtVersion
	var subjects []subject
	for _, alg := range algs {
		a, ok := s.Algs[alg]
		if !ok {
			fail("spec has no %s", alg)
		}
		subjects = append(subjects,
			jwtgateSubject(alg, "hit", a, a.Config),
			jwtgateSubject(alg, "cold", a, withMember(a.Config, "cache_max_entries", 0)),
			golangJWTSubject(alg, impl, &s, a),
		)
	}
	byID := map[string]subject{}
	infos := make([]subjectInfo, 0, len(subjects))
	for _, sub := range subjects {
		check(sub, s.Algs[sub.info.Alg].Sub)
		byID[sub.info.ID] = sub
		infos = append(infos, sub.info)
	}

	out := bufio.NewWriter(os.Stdout)
	emit := func(v any) {
		line, err := json.Marshal(v)
		if err != nil {
			fail("output: %v", err)
		}
		out.Write(line)
		out.WriteByte('\n')
		if err := out.Flush(); err != nil {
			fail("output: %v", err)
		}
	}
	// A struct rather than a map: the members come out in the README's order.
	emit(struct {
		Lang     string            `json:"lang"`
		Versions map[string]string `json:"versions"`
		Subjects []subjectInfo     `json:"subjects"`
	}{
		Lang: "go",
		Versions: map[string]string{
			"go":         runtime.Version(),
			"jwtgate":    jwtgate.Version(),
			"golang-jwt": jwtVersion,
		},
		Subjects: infos,
	})

	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 64*1024), 1<<20)
	for in.Scan() {
		if len(in.Bytes()) == 0 {
			continue
		}
		var cmd struct {
			Run   string `json:"run"`
			Iters int    `json:"iters"`
			Quit  bool   `json:"quit"`
		}
		if err := json.Unmarshal(in.Bytes(), &cmd); err != nil {
			fail("command %q: %v", in.Text(), err)
		}
		if cmd.Quit {
			return
		}
		sub, ok := byID[cmd.Run]
		if !ok {
			fail("command %q: no such subject", in.Text())
		}
		if cmd.Iters <= 0 {
			fail("command %q: iters must be a positive integer", in.Text())
		}
		start := time.Now() // monotonic clock reading
		err := sub.loop(cmd.Iters)
		elapsed := time.Since(start)
		if err != nil {
			fail("%s: validation failed in the timed loop: %v", cmd.Run, err)
		}
		emit(map[string]int64{"ns": elapsed.Nanoseconds()})
	}
	if err := in.Err(); err != nil {
		fail("stdin: %v", err)
	}
}
