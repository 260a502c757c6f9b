// Package prometheus exports a jwtgate validator's metrics through
// github.com/prometheus/client_golang: a Collector registered the way every other collector
// is. It is a module of its own, so the jwtgate package keeps no dependency.
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(jwtgateprom.NewCollector(v, nil))
//
// The metrics are the engine's Prometheus text, family by family (Validator.MetricFamilies):
// the same names, labels, types and histogram buckets as in every jwtgate face (the table in
// the repository README, "Operating it").
package prometheus

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jwtgate/jwtgate-go"
)

// Collector is a prometheus.Collector of one validator. It is unchecked (Describe sends
// nothing): the families an engine reports can grow (an issuer's key-set age after its first
// fetch), so they are read at each scrape.
type Collector struct {
	v           *jwtgate.Validator
	constLabels prometheus.Labels
}

// NewCollector returns a Collector of v; constLabels (may be nil) are added to every metric,
// e.g. {"api": "orders"} when a process has several validators.
func NewCollector(v *jwtgate.Validator, constLabels prometheus.Labels) *Collector {
	return &Collector{v: v, constLabels: constLabels}
}

// Describe sends nothing: an unchecked collector (see Collector).
func (c *Collector) Describe(chan<- *prometheus.Desc) {}

// Collect reads the engine's families and sends them as constant metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	families, err := c.v.MetricFamilies()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(prometheus.NewDesc("jwtgate_error", "jwtgate metrics unavailable", nil, nil), err)
		return
	}
	for _, f := range families {
		switch f.Type {
		case "counter", "gauge":
			c.scalar(ch, f)
		case "histogram":
			c.histogram(ch, f)
		}
	}
}

// labelNames is the union of the family's label names but `skip`, in first-seen order: a
// series without one of them has it empty (what Prometheus makes of a missing label).
func labelNames(f jwtgate.MetricFamily, skip string) []string {
	var names []string
	seen := map[string]bool{}
	for _, s := range f.Samples {
		for _, l := range s.Labels {
			if l[0] != skip && !seen[l[0]] {
				seen[l[0]] = true
				names = append(names, l[0])
			}
		}
	}
	return names
}

func values(names []string, s jwtgate.MetricSample) []string {
	out := make([]string, len(names))
	for i, n := range names {
		for _, l := range s.Labels {
			if l[0] == n {
				out[i] = l[1]
			}
		}
	}
	return out
}

func (c *Collector) scalar(ch chan<- prometheus.Metric, f jwtgate.MetricFamily) {
	names := labelNames(f, "")
	desc := prometheus.NewDesc(f.Name, f.Help, names, c.constLabels)
	kind := prometheus.GaugeValue
	if f.Type == "counter" {
		kind = prometheus.CounterValue
	}
	for _, s := range f.Samples {
		ch <- prometheus.MustNewConstMetric(desc, kind, s.Value, values(names, s)...)
	}
}

type series struct {
	labels  []string
	buckets map[float64]uint64
	count   uint64
	sum     float64
}

func (c *Collector) histogram(ch chan<- prometheus.Metric, f jwtgate.MetricFamily) {
	names := labelNames(f, "le")
	desc := prometheus.NewDesc(f.Name, f.Help, names, c.constLabels)
	var order []string
	all := map[string]*series{}
	for _, s := range f.Samples {
		labels := values(names, s)
		key := ""
		for _, l := range labels {
			key += l + "\x00"
		}
		sr := all[key]
		if sr == nil {
			sr = &series{labels: labels, buckets: map[float64]uint64{}}
			all[key] = sr
			order = append(order, key)
		}
		switch s.Name {
		case f.Name + "_bucket":
			for _, l := range s.Labels {
				if l[0] == "le" && l[1] != "+Inf" {
					if bound, err := strconv.ParseFloat(l[1], 64); err == nil {
						sr.buckets[bound] = uint64(s.Value)
					}
				}
			}
		case f.Name + "_count":
			sr.count = uint64(s.Value)
		case f.Name + "_sum":
			sr.sum = s.Value
		}
	}
	for _, key := range order {
		sr := all[key]
		ch <- prometheus.MustNewConstHistogram(desc, sr.count, sr.sum, sr.buckets, sr.labels...)
	}
}
