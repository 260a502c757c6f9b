package jwtgate

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The cost of one Go -> C call that does no work, for reading the other numbers.
func BenchmarkCgoRoundTrip(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if cgoRoundTrip() != 0 {
			b.Fatal("jwtgate_error_code(NULL) must be 0")
		}
	}
}

// A cached token through the whole Go face (one cgo call, copy of the claims).
func BenchmarkValidateHit(b *testing.B) {
	f := loadFixture(b)
	v := mustValidator(b, f.config)
	defer v.Close()
	ctx := context.Background()
	if _, err := v.Validate(ctx, f.token); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := v.Validate(ctx, f.token); err != nil {
			b.Fatal(err)
		}
	}
}

// A refused token (bad signature, cached keys): the error path.
func BenchmarkValidateRefused(b *testing.B) {
	f := loadFixture(b)
	v := mustValidator(b, f.config)
	defer v.Close()
	ctx := context.Background()
	bad := f.token[:len(f.token)-6] + "AAAAAA"
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := v.Validate(ctx, bad); err == nil {
			b.Fatal("accepted")
		}
	}
}

// benchServe sends the same request through h b.N times (status checked); the request and
// the recorder are reused, so what is measured is the handler chain itself.
func benchServe(b *testing.B, h http.Handler, authorization string, want int) {
	r := httptest.NewRequest(http.MethodGet, "/items", nil)
	if authorization != "" {
		r.Header.Set("Authorization", authorization)
	}
	w := &discardWriter{header: http.Header{}}
	h.ServeHTTP(w, r) // warms the engine's result cache
	if w.status != want {
		b.Fatalf("status %d, want %d", w.status, want)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		clear(w.header)
		w.status = 0
		h.ServeHTTP(w, r)
		if w.status != want {
			b.Fatalf("status %d, want %d", w.status, want)
		}
	}
}

// discardWriter is a ResponseWriter that keeps the status and headers only.
type discardWriter struct {
	header http.Header
	status int
}

func (w *discardWriter) Header() http.Header { return w.header }
func (w *discardWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(p), nil
}
func (w *discardWriter) WriteHeader(status int) { w.status = status }

type benchKey struct{}

// noopMiddleware has Middleware's shape and does nothing a validator would: it reads the
// header and stores a value in the request context. Middleware minus this is jwtgate's cost.
func noopMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := r.Header.Get("Authorization")
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), benchKey{}, token)))
	})
}

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })

func BenchmarkMiddlewareNoop(b *testing.B) {
	f := loadFixture(b)
	benchServe(b, noopMiddleware(okHandler), "Bearer "+f.token, http.StatusOK)
}

// A cached token with a required scope: the common case of a protected route.
func BenchmarkMiddlewareHit(b *testing.B) {
	f := loadFixture(b)
	v := mustValidator(b, f.config)
	defer v.Close()
	h := Middleware(v, MiddlewareOptions{Realm: "api", Scopes: []string{"read:items"}})(okHandler)
	benchServe(b, h, "Bearer "+f.token, http.StatusOK)
}

// A refused token (a bad signature, the verdict cached), the whole answer written.
func BenchmarkMiddlewareRefused(b *testing.B) {
	f := loadFixture(b)
	v := mustValidator(b, f.config)
	defer v.Close()
	h := Middleware(v, MiddlewareOptions{Realm: "api"})(okHandler)
	benchServe(b, h, "Bearer "+f.token[:len(f.token)-6]+"AAAAAA", http.StatusUnauthorized)
}

// No Authorization header: 401 with a bare challenge.
func BenchmarkMiddlewareMissing(b *testing.B) {
	f := loadFixture(b)
	v := mustValidator(b, f.config)
	defer v.Close()
	h := Middleware(v, MiddlewareOptions{Realm: "api"})(okHandler)
	benchServe(b, h, "", http.StatusUnauthorized)
}
