// The Go collector check: a program that registers jwtgate's client_golang collector, as a user
// writes it after `go get github.com/jwtgate/jwtgate-go/prometheus` (client_golang comes from the
// user's usual module proxy). Config: the canonical JSON in $JWTGATE_CONFIG; validates
// $JWTGATE_TOKEN once, then prints the validations the registry's histogram counted.
package main

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/jwtgate/jwtgate-go"
	jwtgateprom "github.com/jwtgate/jwtgate-go/prometheus"
	"github.com/prometheus/client_golang/prometheus"
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
	if _, err := v.Validate(context.Background(), os.Getenv("JWTGATE_TOKEN")); err != nil {
		log.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(jwtgateprom.NewCollector(v, nil))
	families, err := reg.Gather()
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "jwtgate_validation_duration_seconds" {
			continue
		}
		var count uint64
		for _, m := range f.GetMetric() {
			count += m.GetHistogram().GetSampleCount()
		}
		fmt.Printf("VALIDATIONS=%d\n", count)
		return
	}
	log.Fatal("no jwtgate_validation_duration_seconds family")
}
