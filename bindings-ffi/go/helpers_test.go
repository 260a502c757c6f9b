package jwtgate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// vectorFile is one file of the shared vectors (tests/vectors/*.json).
type vectorFile struct {
	Name    string                     `json:"-"`
	Configs map[string]json.RawMessage `json:"configs"`
	Cases   []vectorCase               `json:"cases"`
}

type vectorCase struct {
	Name   string `json:"name"`
	Config string `json:"config"`
	Token  string `json:"token"`
	Expect struct {
		Valid  bool            `json:"valid"`
		Error  string          `json:"error"`
		Claims json.RawMessage `json:"claims"`
	} `json:"expect"`
}

// loadVectors reads the token vectors: every file but http.json, whose cases are HTTP
// requests (loadHTTPVectors).
func loadVectors(t testing.TB) []vectorFile {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "..", "tests", "vectors", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no vectors found: %v", err)
	}
	sort.Strings(paths)
	var files []vectorFile
	for _, p := range paths {
		if filepath.Base(p) == "http.json" {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var f vectorFile
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		f.Name = filepath.Base(p)
		files = append(files, f)
	}
	return files
}

// httpVectors is tests/vectors/http.json: Authorization values, the realm and the route's
// required scopes, and the answer every face gives.
type httpVectors struct {
	Configs map[string]json.RawMessage `json:"configs"`
	Cases   []struct {
		Name          string   `json:"name"`
		Config        string   `json:"config"`
		Authorization *string  `json:"authorization"` // nil: no header
		Realm         string   `json:"realm"`
		Scopes        []string `json:"scopes"`
		Expect        struct {
			Status    int            `json:"status"`
			Sub       string         `json:"sub"`
			Challenge *string        `json:"challenge"` // nil: no WWW-Authenticate
			Body      map[string]any `json:"body"`
		} `json:"expect"`
	} `json:"cases"`
}

func loadHTTPVectors(t testing.TB) httpVectors {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "tests", "vectors", "http.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v httpVectors
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("http.json: %v", err)
	}
	return v
}

// fixture is the vectors' default configuration and a token it accepts (RS256, exp 2100).
type fixture struct {
	config json.RawMessage
	jwks   json.RawMessage
	token  string
	jti    string
	sub    string
}

func loadFixture(t testing.TB) fixture {
	t.Helper()
	for _, f := range loadVectors(t) {
		if f.Name != "valid.json" {
			continue
		}
		c := f.Cases[0]
		var cfg struct {
			JWKS json.RawMessage `json:"jwks"`
		}
		if err := json.Unmarshal(f.Configs[c.Config], &cfg); err != nil {
			t.Fatal(err)
		}
		var claims struct{ Jti, Sub string }
		if err := json.Unmarshal(c.Expect.Claims, &claims); err != nil {
			t.Fatal(err)
		}
		return fixture{config: f.Configs[c.Config], jwks: cfg.JWKS, token: c.Token, jti: claims.Jti, sub: claims.Sub}
	}
	t.Fatal("valid.json not found")
	return fixture{}
}

func mustValidator(t testing.TB, config []byte) *Validator {
	t.Helper()
	v, err := NewFromJSON(config)
	if err != nil {
		t.Fatalf("NewFromJSON: %v", err)
	}
	return v
}
