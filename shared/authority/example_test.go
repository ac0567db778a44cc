package authority_test

import (
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/wire"
)

// An owner starts a tenant's authority; an agent pinned to its genesis verifies it and a later update, and refuses
// an update nobody it trusts signed.
func Example() {
	seed := make([]byte, ed25519.SeedSize)
	owner := ed25519.NewKeyFromSeed(seed)
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	const tenant = "5f0c3d2e-8a41-4b7e-9d55-1c2b3a4d5e6f"

	g := authority.New(tenant, 0, authority.Hash{}, authority.Hash{}, now,
		authority.SetAdmin(owner.Public().(ed25519.PublicKey), wire.RoleOwner, "Olivia", ""),
		authority.SetRecovery("age1pq1…"),
		authority.SetNaming("{username}-{abbrev}", "ctso"))
	if err := g.Sign(owner); err != nil {
		panic(err)
	}
	genesis, _ := g.Encode()
	s, _ := (&authority.State{}).Apply(g)

	// The agent pins the genesis hash the Console printed, never one the hub chose.
	chain := authority.NewChain(authority.Anchor{Tenant: tenant, Genesis: s.Genesis})
	n, err := chain.Advance(genesis)
	fmt.Println(n, err)

	u := authority.New(tenant, 1, s.Head, s.Genesis, now.Add(time.Minute), authority.SetNaming("{username}", ""))
	stranger := ed25519.NewKeyFromSeed(append(make([]byte, 31), 1))
	_ = u.Sign(stranger)
	forged, _ := u.Encode()
	_, err = chain.Advance(forged)
	fmt.Println(err != nil)
	// Output:
	// 1 <nil>
	// true
}
