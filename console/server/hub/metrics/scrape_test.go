package metrics_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/watchword/watchword/console/server/hub/metrics"
)

// testScrapeKey is a scrape key of the minimum length.
const testScrapeKey = "0123456789abcdef0123456789abcdef"

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestReadScrapeKey: the key file must be owner-only and long enough.
func TestReadScrapeKey(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		noErr(t, os.WriteFile(p, []byte(content), mode))
		noErr(t, os.Chmod(p, mode))
		return p
	}
	if k, err := metrics.ReadScrapeKey(write("good", testScrapeKey+"\n", 0o600)); err != nil || k != testScrapeKey {
		t.Errorf("good key file: %q, %v", k, err)
	}
	if _, err := metrics.ReadScrapeKey(write("short", "0123456789", 0o600)); err == nil || !strings.Contains(err.Error(), "at least 32") {
		t.Errorf("short key: %v", err)
	}
	if runtime.GOOS != "windows" {
		if _, err := metrics.ReadScrapeKey(write("open", testScrapeKey, 0o644)); err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("key file readable by others: %v", err)
		}
	}
	if _, err := metrics.ReadScrapeKey(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing key file accepted")
	}
}
