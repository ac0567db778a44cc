package limit_test

import (
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/hub/limit"
	"github.com/watchword/watchword/shared/wire"
)

// TestBuckets: burst requests of a key at once, then one per interval; keys do not share a bucket.
func TestBuckets(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	b := limit.NewBuckets(3, time.Second, func() time.Time { return now })
	for i := range 3 {
		if !b.Allow("a") {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	if b.Allow("a") {
		t.Fatal("a fourth request allowed with a burst of three")
	}
	if !b.Allow("b") {
		t.Fatal("another key shares the first one's bucket")
	}
	now = now.Add(time.Second)
	if !b.Allow("a") || b.Allow("a") {
		t.Fatal("one second must give back exactly one token")
	}
}

// TestGate: places per key and in total, refused with rate_limited naming the cap, given back once.
func TestGate(t *testing.T) {
	g := limit.NewGate("long polls", 3, 2)
	r1, err := g.Acquire("k")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Acquire("k"); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Acquire("k"); !rateLimited(err) {
		t.Fatalf("a third place for one key with two per key: %v", err)
	}
	if _, err := g.Acquire("other"); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Acquire("third"); !rateLimited(err) {
		t.Fatalf("a fourth place with three in total: %v", err)
	}
	r1()
	r1() // once only
	if _, err := g.Acquire("third"); err != nil {
		t.Fatalf("a place once one was given back: %v", err)
	}
	if _, err := g.Acquire("fourth"); !rateLimited(err) {
		t.Fatalf("a release given back twice: %v", err)
	}
}

func rateLimited(err error) bool {
	we, ok := wire.AsError(err)
	return ok && we.Code == wire.CodeRateLimited
}

func TestNetwork(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.77":        "192.0.2.0/24",
		"::ffff:192.0.2.77": "192.0.2.0/24",
		"2001:db8:1:2:3::4": "2001:db8:1:2::/64",
		"fe80::1%eth0":      "fe80::/64",
		"not an address":    "not an address",
	} {
		if got := limit.Network(addr); got != want {
			t.Errorf("Network(%q) = %q, want %q", addr, got, want)
		}
	}
}
