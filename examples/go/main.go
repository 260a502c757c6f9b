// A net/http server with one protected route.
//
//	go run . -config ../c/config.example.json
//	curl -H "Authorization: Bearer $(cat ../c/token.example)" localhost:8080/items
//
// GET /items needs a valid bearer token with the read:items scope; /healthz and /metrics
// are public; /admin/ holds the admin routes and the dashboard (scope jwtgate:admin). SIGHUP fetches the key sets now (after withdrawing a key at the provider:
// `kill -HUP <pid>`) and drops every cached result. Build the library first:
// `make -C ../../bindings-ffi build`.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"log"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jwtgate/jwtgate-go"
)

func main() {
	configPath := flag.String("config", "../c/config.example.json", "jwtgate configuration (canonical JSON)")
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	adminScope := flag.String("admin-scope", "jwtgate:admin", "scope the admin routes and the dashboard (/admin/) require")
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

	// SIGHUP: an operator withdrew a key (or rotated one in) and wants it to count now rather
	// than at the next scheduled refresh. The refresh drops a withdrawn key and the results it
	// verified; clearing the cache also makes every other token be checked afresh.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			refreshCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
			err := v.RefreshKeys(refreshCtx, "")
			cancel()
			if err != nil {
				log.Printf("SIGHUP: key refresh failed (keys in use are kept): %v", err)
				continue
			}
			log.Printf("SIGHUP: keys refreshed, %d cached results dropped", v.ClearCache())
		}
	}()

	requireToken := jwtgate.Middleware(v, jwtgate.MiddlewareOptions{
		Scopes: []string{"read:items"},
		Realm:  "items",
		OnError: func(r *http.Request, err error) {
			log.Printf("%s %s refused: %v", r.Method, r.URL.Path, err)
		},
	})

	// The engine's audit and key-set events, as they happen, to the standard logger.
	jwtgate.SetLogger(slog.Default())

	mux := http.NewServeMux()
	// The admin routes (stats, health, metrics, jwks/refresh, cache/clear, revoke) and the live
	// dashboard (/admin/dashboard) for tokens with the admin scope.
	mux.Handle("/admin/", http.StripPrefix("/admin", jwtgate.AdminHandler(v, *adminScope)))
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
