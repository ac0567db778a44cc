// Package metrics is the hub's Prometheus text: requests and latencies per route, and the entitlement index
// rebuilds, with labels that are route patterns and status codes only — never an identity, a tenant or anything
// sealed. The metrics are the hub's, across its tenants, so the route that serves them (GET /metrics) answers
// only the operator's scraper, which presents a key of its own (ScrapeKey).
//
// # Reading guide
//
//   - metrics.go: the Registry the hub counts into and renders.
//   - scrape.go: the scrape key — reading its file, checking a request's bearer token in constant time.
package metrics

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// Registry counts requests and latencies per route, in Prometheus text format. It is safe for concurrent use.
type Registry struct {
	mu        sync.Mutex
	requests  map[string]map[int]uint64 // route → status → count
	latency   map[string]*histogram     // route → latency
	recompute histogram
}

var buckets = []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30}

type histogram struct {
	counts []uint64 // per bucket, cumulative at render time
	sum    float64
	n      uint64
}

func (h *histogram) add(d time.Duration) {
	if h.counts == nil {
		h.counts = make([]uint64, len(buckets))
	}
	s := d.Seconds()
	for i, b := range buckets {
		if s <= b {
			h.counts[i]++
			break
		}
	}
	h.sum += s
	h.n++
}

func (h *histogram) write(b *strings.Builder, name, labels string) {
	var cum uint64
	sep := ""
	if labels != "" {
		sep = ","
	}
	for i, le := range buckets {
		if h.counts != nil {
			cum += h.counts[i]
		}
		fmt.Fprintf(b, "%s_bucket{%s%sle=\"%g\"} %d\n", name, labels, sep, le, cum)
	}
	fmt.Fprintf(b, "%s_bucket{%s%sle=\"+Inf\"} %d\n", name, labels, sep, h.n)
	if labels != "" {
		labels = "{" + labels + "}"
	}
	fmt.Fprintf(b, "%s_sum%s %g\n%s_count%s %d\n", name, labels, h.sum, name, labels, h.n)
}

// New returns an empty Registry.
func New() *Registry {
	return &Registry{requests: map[string]map[int]uint64{}, latency: map[string]*histogram{}}
}

// Observe counts a request to route answered with status after d.
func (m *Registry) Observe(route string, status int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.requests[route] == nil {
		m.requests[route] = map[int]uint64{}
		m.latency[route] = &histogram{}
	}
	m.requests[route][status]++
	m.latency[route].add(d)
}

// Recomputed counts an entitlement index rebuild that took d.
func (m *Registry) Recomputed(d time.Duration) {
	m.mu.Lock()
	m.recompute.add(d)
	m.mu.Unlock()
}

// Text renders every metric in Prometheus text format (version 0.0.4).
func (m *Registry) Text() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	b.WriteString("# HELP watchword_hub_requests_total API requests by route and status.\n# TYPE watchword_hub_requests_total counter\n")
	for _, route := range slices.Sorted(maps.Keys(m.requests)) {
		for _, st := range slices.Sorted(maps.Keys(m.requests[route])) {
			fmt.Fprintf(&b, "watchword_hub_requests_total{route=%q,status=\"%d\"} %d\n", route, st, m.requests[route][st])
		}
	}
	b.WriteString("# HELP watchword_hub_request_seconds API latency by route.\n# TYPE watchword_hub_request_seconds histogram\n")
	for _, route := range slices.Sorted(maps.Keys(m.latency)) {
		m.latency[route].write(&b, "watchword_hub_request_seconds", fmt.Sprintf("route=%q", route))
	}
	b.WriteString("# HELP watchword_hub_entitlement_recompute_seconds Entitlement index rebuilds.\n# TYPE watchword_hub_entitlement_recompute_seconds histogram\n")
	m.recompute.write(&b, "watchword_hub_entitlement_recompute_seconds", "")
	return b.String()
}
