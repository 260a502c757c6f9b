// The Go consumer check: a net/http server protected by jwtgate's Middleware, as a user writes it
// after `go get github.com/jwtgate/jwtgate-go`. Config: the canonical JSON in $JWTGATE_CONFIG;
// prints the port it listens on.
package main

import (
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"

	"github.com/jwtgate/jwtgate-go"
)

func main() {
	config, err := os.ReadFile(os.Getenv("JWTGATE_CONFIG"))
	if err != nil {
		log.Fatal(err)
	}
	v, err := jwtgate.NewFromJSON(config)
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	protect := jwtgate.Middleware(v, jwtgate.MiddlewareOptions{})
	mux := http.NewServeMux()
	mux.Handle("GET /items", protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := jwtgate.ClaimsFromContext(r.Context())
		_ = json.NewEncoder(w).Encode(map[string]string{"sub": claims.Subject(), "jwtgate": jwtgate.Version()})
	})))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("PORT=%d\n", ln.Addr().(*net.TCPAddr).Port)
	log.Fatal(http.Serve(ln, mux))
}
