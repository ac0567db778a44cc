package hub_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/watchword/watchword/console/server/hub"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/wire"
)

// testScrapeKey is a scrape key of the minimum length.
const testScrapeKey = "0123456789abcdef0123456789abcdef"

// TestMetricsNeedScrapeKey: /metrics answers nobody on a hub without a scrape key — not a stranger, not the
// tenant's owner with its client certificate — and on a hub with one only a request carrying it as a bearer token
// (no client certificate needed): a missing, wrong, longer or shorter token, or another scheme, is 401. (The key
// file is tested in package metrics.)
func TestMetricsNeedScrapeKey(t *testing.T) {
	ctx := testCtx(t)
	get := func(h *hubtest.Harness, r *raw, auth string) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, "GET", h.URL+wire.PathMetrics, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := r.c.Do(req)
		noErr(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	off := hubtest.New(t)
	for name, r := range map[string]*raw{"no certificate": newRaw(t, off, nil), "owner": newRaw(t, off, off.OwnerID)} {
		for _, auth := range []string{"", "Bearer " + testScrapeKey} {
			if status, body := get(off, r, auth); status != 401 || !strings.Contains(body, "metrics are off") || strings.Contains(body, "watchword_hub") {
				t.Errorf("metrics without a configured key, as %s with %q: %d %s", name, auth, status, body)
			}
		}
	}

	h := hubtest.New(t, hubtest.WithConfig(func(c *hub.Config) { c.MetricsKey = testScrapeKey }))
	anon, owner := newRaw(t, h, nil), newRaw(t, h, h.OwnerID)
	for _, auth := range []string{"", "Bearer", "Bearer ", "Basic " + testScrapeKey, "bearer" + testScrapeKey,
		"Bearer " + testScrapeKey[:len(testScrapeKey)-1], "Bearer " + testScrapeKey + "0", "Bearer " + strings.ToUpper(testScrapeKey)} {
		for name, r := range map[string]*raw{"no certificate": anon, "owner": owner} {
			if status, body := get(h, r, auth); status != 401 || strings.Contains(body, "watchword_hub") {
				t.Errorf("metrics as %s with %q: %d %s", name, auth, status, body)
			}
		}
	}
	if status, body := get(h, anon, "Bearer "+testScrapeKey); status != 200 || !strings.Contains(body, "watchword_hub_requests_total") {
		t.Fatalf("metrics with the scrape key: %d %s", status, body)
	}
}
