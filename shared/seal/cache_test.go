package seal

import (
	"errors"
	"sync"
	"testing"
)

func TestRecipientCache(t *testing.T) {
	var c RecipientCache
	id := genIdentity(t)
	rcpt := id.Public().Recipient().String()

	a, err := c.Recipient(rcpt)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Recipient(rcpt)
	if err != nil || a != b {
		t.Fatalf("second Recipient(%q) = %p, %v; want the cached %p", rcpt[:12], b, err, a)
	}
	if a.String() != rcpt {
		t.Fatalf("cached recipient %q, want %q", a.String()[:12], rcpt[:12])
	}

	p, err := c.PublicKeyRecipient(id.Public().String())
	if err != nil {
		t.Fatal(err)
	}
	if p.String() != rcpt {
		t.Fatal("a public key's recipient differs from its identity's recipient")
	}
	if q, _ := c.PublicKeyRecipient(id.Public().String()); q != p {
		t.Fatal("a public key's recipient was parsed again")
	}
	if c.Len() != 2 {
		t.Fatalf("Len() = %d, want 2 (a recipient and a public key are kept apart)", c.Len())
	}

	// A public key is not a recipient, and the other way round, cached or not.
	if _, err := c.Recipient(id.Public().String()); !errors.Is(err, ErrMalformed) {
		t.Fatalf("Recipient(public key) = %v, want ErrMalformed", err)
	}
	if _, err := c.PublicKeyRecipient(rcpt); !errors.Is(err, ErrMalformed) {
		t.Fatalf("PublicKeyRecipient(recipient) = %v, want ErrMalformed", err)
	}
	if c.Len() != 2 {
		t.Fatalf("a parse error was cached: Len() = %d", c.Len())
	}
}

func TestRecipientCacheBounded(t *testing.T) {
	c := RecipientCache{Max: 2}
	var rcpts []string
	for range 3 {
		rcpts = append(rcpts, genIdentity(t).Public().Recipient().String())
	}
	for _, r := range rcpts {
		if _, err := c.Recipient(r); err != nil {
			t.Fatal(err)
		}
		if c.Len() > 2 {
			t.Fatalf("Len() = %d past Max 2", c.Len())
		}
	}
	if c.Len() != 1 {
		t.Fatalf("Len() = %d after the third of Max 2, want 1 (started over)", c.Len())
	}
}

func TestRecipientCacheConcurrent(t *testing.T) {
	var c RecipientCache
	rcpt := genIdentity(t).Public().Recipient().String()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if r, err := c.Recipient(rcpt); err != nil || r.String() != rcpt {
					t.Errorf("Recipient: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestRecipientCacheString(t *testing.T) {
	var c RecipientCache
	id := genIdentity(t)
	pub, rcpt := id.Public().String(), id.Public().Recipient().String()

	s, err := c.PublicKeyRecipientString(pub)
	if err != nil || s != rcpt {
		t.Fatalf("PublicKeyRecipientString = %.12q, %v; want %.12q", s, err, rcpt)
	}
	if s, err := c.PublicKeyRecipientString(pub); err != nil || s != rcpt || c.Len() != 1 {
		t.Fatalf("second PublicKeyRecipientString = %.12q, %v with Len() %d; want the cached %.12q", s, err, c.Len(), rcpt)
	}
	// The string entry is not the parsed one: asking for the recipient itself parses it.
	if p, err := c.PublicKeyRecipient(pub); err != nil || p == nil || p.String() != rcpt {
		t.Fatalf("PublicKeyRecipient after the string = %v, %v", p, err)
	}
	if c.Len() != 2 {
		t.Fatalf("Len() = %d, want 2 (a key's string and its parsed recipient are kept apart)", c.Len())
	}
	if _, err := c.PublicKeyRecipientString(rcpt); !errors.Is(err, ErrMalformed) {
		t.Fatalf("PublicKeyRecipientString(recipient) = %v, want ErrMalformed", err)
	}
	if c.Len() != 2 {
		t.Fatalf("a parse error was cached: Len() = %d", c.Len())
	}
}
