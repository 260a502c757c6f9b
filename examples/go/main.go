// A net/http server with one protected route.
//
//	go run . -config ../c/config.example.json
//	curl -H "Authorization: Bearer $(cat ../c/token.example)" localhost:8080/items
//
// GET /items needs a valid bearer token with the read:items scope; /healthz and /metrics
// are public. Build the library first: `make -C ../../bindings-ffi build`.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"jwtgate"
)

func main() {
	configPath := flag.String("config", "../c/config.example.json", "jwtgate configuration (canonical JSON)")
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	flag.Parse()

	config, err := os.ReadFile(*configPath)
	if err != nil {
		log.Fatal(err)
	}
	v, err := jwtgate.NewFromJSON(config)
	if err != nil {
		log.Fatalf("configuration: %v", err)
	}
	defer v.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Load remote keys before taking traffic; a static key set is ready at once.
	readyCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	if err := v.Ready(readyCtx); err != nil {
		log.Printf("keys not loaded yet (requests will retry): %v", err)
	}
	cancel()

	requireToken := jwtgate.Middleware(v, jwtgate.MiddlewareOptions{
		Scopes: []string{"read:items"},
		Realm:  "items",
		OnError: func(r *http.Request, err error) {
			log.Printf("%s %s refused: %v", r.Method, r.URL.Path, err)
		},
	})

	mux := http.NewServeMux()
	mux.Handle("GET /items", requireToken(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := jwtgate.ClaimsFromContext(r.Context())
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"items":  []string{"alpha", "beta"},
			"for":    claims.Subject(),
			"scopes": claims.Scopes(),
		})
	})))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		h, err := v.Health()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(h.Extra)
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		text, err := v.MetricsText()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte(text))
	})

	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}()
	log.Printf("jwtgate %s: listening on http://%s (GET /items needs read:items)", jwtgate.Version(), *addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
