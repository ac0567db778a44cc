package metrics

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strings"

	"github.com/watchword/watchword/shared/wire"
)

// The metrics are the hub's, across its tenants: how busy each route is says something about every tenant's
// activity, so they are not for any tenant's admin. The operator's scraper presents a key of its own, configured
// with serve --metrics-key-file and sent as "Authorization: Bearer KEY"; without a configured key the route answers
// no one.

// ScrapeKey is the SHA-256 of the configured scrape key; nil: metrics are off.
type ScrapeKey []byte

// NewScrapeKey checks key and returns its ScrapeKey.
func NewScrapeKey(key string) (ScrapeKey, error) {
	if err := checkScrapeKey(key); err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(key))
	return sum[:], nil
}

// MinScrapeKey is the shortest scrape key the hub accepts, in bytes.
const MinScrapeKey = 32

var (
	errMetricsOff = &wire.Error{Code: wire.CodeUnauthenticated,
		Message: "metrics are off: the hub has no scrape key (watchword-hub serve --metrics-key-file)"}
	errScrapeKey = &wire.Error{Code: wire.CodeUnauthenticated, Message: "metrics need the scrape key as a bearer token"}
)

// Allow checks the request's bearer token against the scrape key, in constant time: both are hashed first, so
// neither the key's bytes nor its length show in the timing. The errors are the wire errors a client sees.
func (k ScrapeKey) Allow(r *http.Request) error {
	if k == nil {
		return errMetricsOff
	}
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	if subtle.ConstantTimeCompare(got[:], k) != 1 || !ok {
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
