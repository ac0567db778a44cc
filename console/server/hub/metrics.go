package hub

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"maps"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/watchword/watchword/shared/wire"
)

// metrics counts requests and latencies per route in Prometheus text format. Labels are route patterns and
// status codes only: never an identity, a tenant or anything sealed.
type metrics struct {
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

func newMetrics() *metrics {
	return &metrics{requests: map[string]map[int]uint64{}, latency: map[string]*histogram{}}
}

func (m *metrics) observe(route string, status int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.requests[route] == nil {
		m.requests[route] = map[int]uint64{}
		m.latency[route] = &histogram{}
	}
	m.requests[route][status]++
	m.latency[route].add(d)
}

func (m *metrics) recomputed(d time.Duration) {
	m.mu.Lock()
	m.recompute.add(d)
	m.mu.Unlock()
}

func (m *metrics) render() string {
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

// The metrics are the hub's, across its tenants: how busy each route is says something about every tenant's
// activity, so they are not for any tenant's admin. The operator's scraper presents a key of its own, configured
// with serve --metrics-key-file and sent as "Authorization: Bearer KEY"; without a configured key the route answers
// no one.

// MinScrapeKey is the shortest scrape key the hub accepts, in bytes.
const MinScrapeKey = 32

var (
	errMetricsOff = &wire.Error{Code: wire.CodeUnauthenticated,
		Message: "metrics are off: the hub has no scrape key (watchword-hub serve --metrics-key-file)"}
	errScrapeKey = &wire.Error{Code: wire.CodeUnauthenticated, Message: "metrics need the scrape key as a bearer token"}
)

// scrapeAllowed checks the request's bearer token against the configured scrape key, in constant time: both are
// hashed first, so neither the key's bytes nor its length show in the timing.
func (h *Hub) scrapeAllowed(r *http.Request) error {
	if h.scrapeKey == nil {
		return errMetricsOff
	}
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	if subtle.ConstantTimeCompare(got[:], h.scrapeKey) != 1 || !ok {
		return errScrapeKey
	}
	return nil
}

// ReadScrapeKey reads a scrape key file: one line of at least MinScrapeKey bytes, readable by its owner only
// (where the system has modes).
func ReadScrapeKey(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("metrics key file %q: %w", path, err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("metrics key file %q is readable by others (mode %04o): make it owner-only (chmod 600)", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("metrics key file %q: %w", path, err)
	}
	key := strings.TrimSpace(string(b))
	if err := checkScrapeKey(key); err != nil {
		return "", fmt.Errorf("metrics key file %q: %w", path, err)
	}
	return key, nil
}

func checkScrapeKey(key string) error {
	if len(key) < MinScrapeKey || strings.ContainsAny(key, " \t\r\n") {
		return fmt.Errorf("the scrape key must be one line of at least %d characters without spaces (e.g. openssl rand -hex 32)", MinScrapeKey)
	}
	return nil
}

func (h *Hub) metricsText(r *request) (any, error) {
	return rawResponse{contentType: "text/plain; version=0.0.4", body: []byte(h.metrics.render())}, nil
}

// limiter is a token bucket per key (route and client address).
type limiter struct {
	mu    sync.Mutex
	burst float64
	every time.Duration
	now   func() time.Time
	b     map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(burst int, every time.Duration, now func() time.Time) *limiter {
	return &limiter{burst: float64(burst), every: every, now: now, b: map[string]*bucket{}}
}

func (l *limiter) allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.b[key]
	if !ok {
		if len(l.b) > 100_000 { // bound memory under a flood of addresses
			clear(l.b)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.b[key] = b
	}
	b.tokens = min(l.burst, b.tokens+float64(now.Sub(b.at))/float64(l.every))
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
