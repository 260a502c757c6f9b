package prometheus

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/jwtgate/jwtgate-go"
)

// The first case of tests/vectors/valid.json: a configuration and a token it accepts.
func fixture(t *testing.T) ([]byte, string) {
	t.Helper()
	text, err := os.ReadFile(filepath.Join("..", "..", "..", "tests", "vectors", "valid.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Configs map[string]json.RawMessage `json:"configs"`
		Cases   []struct {
			Config string `json:"config"`
			Token  string `json:"token"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(text, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Configs[doc.Cases[0].Config], doc.Cases[0].Token
}

func TestCollectorMatchesStats(t *testing.T) {
	config, token := fixture(t)
	v, err := jwtgate.NewFromJSON(config)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	for i := 0; i < 200; i++ {
		if _, err := v.Validate(context.Background(), token); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := v.Validate(context.Background(), "e30.e30.e30"); err == nil {
		t.Fatal("a malformed token validated")
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector(v, prometheus.Labels{"api": "orders"}))
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	st, _ := v.Stats()
	byName := map[string]*dto.MetricFamily{}
	for _, f := range families {
		byName[f.GetName()] = f
	}
	get := func(name string, labels map[string]string) *dto.Metric {
		f := byName[name]
		if f == nil {
			t.Fatalf("no family %s", name)
		}
	next:
		for _, m := range f.Metric {
			have := map[string]string{}
			for _, l := range m.Label {
				have[l.GetName()] = l.GetValue()
			}
			for k, want := range labels {
				if have[k] != want {
					continue next
				}
			}
			return m
		}
		t.Fatalf("no %s%v", name, labels)
		return nil
	}
	if got := get("jwtgate_validations_total", map[string]string{"outcome": "ok", "api": "orders"}).GetCounter().GetValue(); got != float64(st.ValidationsOK) || got != 200 {
		t.Fatalf("validations ok: %v vs %d", got, st.ValidationsOK)
	}
	if got := get("jwtgate_validations_total", map[string]string{"outcome": "error", "kind": "malformed"}).GetCounter().GetValue(); got != 1 {
		t.Fatalf("malformed: %v", got)
	}
	if got := get("jwtgate_cache_hits_total", nil).GetCounter().GetValue(); got != float64(st.CacheHits) {
		t.Fatalf("hits: %v vs %d", got, st.CacheHits)
	}
	local := get("jwtgate_validation_duration_seconds", map[string]string{"path": "local"}).GetHistogram()
	if local.GetSampleCount() != st.Latency.Validation.Local.Count || local.GetSampleCount() != 2 {
		t.Fatalf("local count: %d vs %d", local.GetSampleCount(), st.Latency.Validation.Local.Count)
	}
	if len(local.Bucket) != len(st.Latency.Validation.Local.Buckets) {
		t.Fatalf("buckets: %d vs %d", len(local.Bucket), len(st.Latency.Validation.Local.Buckets))
	}
	for i, b := range local.Bucket {
		if b.GetCumulativeCount() != st.Latency.Validation.Local.Buckets[i][1] ||
			b.GetUpperBound() != float64(st.Latency.Validation.Local.Buckets[i][0])/1e9 {
			t.Fatalf("bucket %d: %v vs %v", i, b, st.Latency.Validation.Local.Buckets[i])
		}
	}
	hit := get("jwtgate_validation_duration_seconds", map[string]string{"path": "hit"}).GetHistogram()
	if hit.GetSampleCount() != st.Latency.Validation.Hit.Count || hit.GetSampleCount()%64 != 0 {
		t.Fatalf("hit count: %d vs %d", hit.GetSampleCount(), st.Latency.Validation.Hit.Count)
	}
	// Every family of the engine's text is exported.
	text, _ := v.MetricsText()
	for _, line := range strings.Split(text, "\n") {
		if name, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name = strings.Fields(name)[0]
			if byName[name] == nil {
				t.Fatalf("family %s not exported", name)
			}
		}
	}
	if n, err := testutil.GatherAndCount(reg, "jwtgate_provider_request_duration_seconds"); err != nil || n != 3 {
		t.Fatalf("provider histograms: %d %v", n, err)
	}
}
