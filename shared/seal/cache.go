package seal

import (
	"crypto/sha256"
	"sync"

	"filippo.io/age"
)

// DefaultCacheSize bounds a [RecipientCache] whose Max is zero.
const DefaultCacheSize = 4096

// RecipientCache remembers parsed hybrid recipients by the string they were
// parsed from (or, for a server that only hands them on, their string form). Parsing one decodes about 1,200 bytes of bech32, re-encodes
// them to check the form is canonical and expands the ML-KEM-768 key: about
// as long as sealing to it. A plan or a tenant's view names the same few
// recipients over and over, so callers that parse them in a loop keep one
// cache and ask it instead.
//
// The zero value is ready to use and safe for concurrent use. Errors are not
// cached: a string that does not parse costs a parse every time.
type RecipientCache struct {
	// Max bounds the entries (DefaultCacheSize when zero). Past it the cache
	// starts over: keys come and go as devices are re-keyed and techs leave,
	// and starting over costs one parse per live key.
	Max int

	mu sync.Mutex
	m  map[[sha256.Size]byte]cached
}

// cached is an entry: a parsed recipient, or only the string form of one (see PublicKeyRecipientString).
type cached struct {
	r *age.HybridRecipient
	s string
}

// Recipient is [ParseRecipient] of an "age1pq1…" recipient, from the cache
// when s was parsed before.
func (c *RecipientCache) Recipient(s string) (*age.HybridRecipient, error) {
	e, err := c.get('r', s, func(s string) (cached, error) {
		r, err := ParseRecipient(s)
		return cached{r: r}, err
	})
	return e.r, err
}

// PublicKeyRecipient is the recipient of a "ww1pub.…" public key
// ([ParsePublicKey] then [PublicKey.Recipient]), from the cache when s was
// parsed before.
func (c *RecipientCache) PublicKeyRecipient(s string) (*age.HybridRecipient, error) {
	e, err := c.get('p', s, func(s string) (cached, error) {
		pk, err := ParsePublicKey(s)
		if err != nil {
			return cached{}, err
		}
		return cached{r: pk.Recipient()}, nil
	})
	return e.r, err
}

// PublicKeyRecipientString is the "age1pq1…" form of [RecipientCache.PublicKeyRecipient]
// of s, from the cache when s was asked before: what a server that hands
// recipients on (the hub, to the agents that seal to its techs) needs of a
// key, neither parsed nor encoded again. The entry keeps only the string, not
// the parsed key, whose expanded ML-KEM-768 form is several times larger: a
// hub holds one for every tech.
func (c *RecipientCache) PublicKeyRecipientString(s string) (string, error) {
	e, err := c.get('s', s, func(s string) (cached, error) {
		pk, err := ParsePublicKey(s)
		if err != nil {
			return cached{}, err
		}
		return cached{s: pk.Recipient().String()}, nil
	})
	return e.s, err
}

// get keys the cache by a hash of kind and s: the strings are as long as the
// keys themselves, and no two kinds share an entry.
func (c *RecipientCache) get(kind byte, s string, parse func(string) (cached, error)) (cached, error) {
	h := sha256.New()
	h.Write([]byte{kind})
	h.Write([]byte(s))
	var k [sha256.Size]byte
	h.Sum(k[:0])
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return e, nil
	}
	e, err := parse(s)
	if err != nil {
		return cached{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	max := c.Max
	if max <= 0 {
		max = DefaultCacheSize
	}
	if c.m == nil || len(c.m) >= max {
		c.m = make(map[[sha256.Size]byte]cached)
	}
	c.m[k] = e
	return e, nil
}

// Len is the number of recipients the cache holds now.
func (c *RecipientCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
