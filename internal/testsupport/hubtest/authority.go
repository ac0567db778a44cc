package hubtest

import (
	"context"
	"time"

	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/wire"
)

// Authority is the tenant's signed authority as its owner keeps it in a test: Publish signs operations with the
// owner's key and publishes them at the hub, State is what the published updates sign.
type Authority struct {
	h     *Harness
	ctx   context.Context
	State *authority.State
}

// SignAuthority turns the signed authority on as the owner would on a fresh harness: a genesis with the owner,
// the tenant's recovery recipient, the default naming format, the built-in groups, and the hub's rights and
// triplets. Techs and agents are added with Publish (ApproveTech, EnrollAgent).
func (h *Harness) SignAuthority(ctx context.Context) *Authority {
	h.T.Helper()
	a := &Authority{h: h, ctx: ctx, State: &authority.State{}}
	allTechs, allDomains := h.AllGroups()
	rights, err := h.Owner.Rights(ctx)
	if err != nil {
		h.T.Fatal(err)
	}
	triplets, err := h.Owner.Triplets(ctx)
	if err != nil {
		h.T.Fatal(err)
	}
	ops := []authority.Op{
		authority.SetAdmin(h.OwnerID.Public().AuthKey(), wire.RoleOwner, "Owner", ""),
		authority.SetRecovery(h.Recovery.Public().Recipient().String()),
		authority.SetNaming(wire.DefaultPolicy().NamingFormat, "tm"),
		authority.SetGroup(authority.TechGroup, allTechs, wire.AllTechs, true, nil),
		authority.SetGroup(authority.AgentGroup, allDomains, wire.AllDomains, true, nil),
	}
	for _, r := range rights {
		ops = append(ops, authority.SetRight(r.ID, r.Name, r.Targets))
	}
	for _, tr := range triplets {
		ops = append(ops, authority.SetTriplet(tr.ID, tr.TechGroupID, tr.AgentGroupID, tr.RightID))
	}
	a.Publish(ops...)
	return a
}

// Publish signs one update of ops after the head with the owner's key, checks it applies, and publishes it.
func (a *Authority) Publish(ops ...authority.Op) {
	a.h.T.Helper()
	s := a.State
	u := authority.New(a.h.GUID, 0, authority.Hash{}, authority.Hash{}, time.Unix(1e9, 0), ops...)
	if s.Started() {
		u = authority.New(a.h.GUID, s.Seq+1, s.Head, s.Genesis, time.Unix(1e9, 0), ops...)
	}
	if err := u.Sign(a.h.OwnerID.Signer()); err != nil {
		a.h.T.Fatal(err)
	}
	next, err := s.Apply(u)
	if err != nil {
		a.h.T.Fatal(err)
	}
	b, err := u.Encode()
	if err != nil {
		a.h.T.Fatal(err)
	}
	if _, err := a.h.Owner.PublishAuthority(a.ctx, b); err != nil {
		a.h.T.Fatalf("publish update %d: %v", u.Seq, err)
	}
	a.State = next
}
