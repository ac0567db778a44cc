// Package limit holds the hub's counters against floods: token buckets per key (Buckets) for the rate of the keyed
// routes and of audited refusals, places per client key and in total (Gate) for long polls and requests in flight,
// and the network (Network) an address is counted under. What the hub limits, and why, is in the hub's flood.go.
//
// limit.go is all of it.
package limit

import (
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/watchword/watchword/shared/wire"
)

// Buckets is a token bucket per key (a route and a client address, network or tenant).
type Buckets struct {
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

// NewBuckets returns buckets that allow burst requests of a key at once, then one per every, on the clock now.
func NewBuckets(burst int, every time.Duration, now func() time.Time) *Buckets {
	return &Buckets{burst: float64(burst), every: every, now: now, b: map[string]*bucket{}}
}

// Allow takes a token of key's bucket, and reports false when it has none.
func (l *Buckets) Allow(key string) bool {
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

// Gate counts what each client key holds (perMax each) and, when max is positive, what all of them hold.
type Gate struct {
	mu     sync.Mutex
	max    int
	perMax int
	what   string
	total  int
	per    map[string]int
}

// NewGate returns a gate of what (named in its refusals) for at most perMax a key and, when max is positive, max
// in total.
func NewGate(what string, max, perMax int) *Gate {
	return &Gate{what: what, max: max, perMax: perMax, per: map[string]int{}}
}

// Acquire takes a place for key, or refuses with the wire error rate_limited; release gives it back (once).
func (g *Gate) Acquire(key string) (release func(), err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.max > 0 && g.total >= g.max {
		return nil, &wire.Error{Code: wire.CodeRateLimited, Message: fmt.Sprintf("the hub holds its maximum of %d %s; retry later", g.max, g.what)}
	}
	if g.per[key] >= g.perMax {
		return nil, &wire.Error{Code: wire.CodeRateLimited,
			Message: fmt.Sprintf("this key already has %d %s, the most the hub allows one client; retry when one ends", g.perMax, g.what)}
	}
	g.total++
	g.per[key]++
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			defer g.mu.Unlock()
			g.total--
			if g.per[key]--; g.per[key] <= 0 {
				delete(g.per, key)
			}
		})
	}, nil
}

// Network is the /24 (IPv4, IPv4-mapped IPv6 included) or /64 (IPv6) of a client address, or the address itself
// when it does not parse.
func Network(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	a = a.Unmap().WithZone("")
	bits := 64
	if a.Is4() {
		bits = 24
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return addr
	}
	return p.String()
}
