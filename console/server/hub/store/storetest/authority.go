package storetest

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/hub/store"
)

// authorityUpdate is update seq of a tenant's chain: a body that is not text (an update is CBOR) and a hash that
// names the tenant, so that a row read through the wrong tenant shows.
func authorityUpdate(tenant int64, seq uint64) *store.AuthorityUpdate {
	return &store.AuthorityUpdate{TenantID: tenant, Seq: seq, Hash: fmt.Sprintf("%064x", uint64(tenant)<<32|seq),
		Body: []byte{0xa8, 0x00, 0xff, byte(seq), byte(tenant)}, CreatedAt: now.Add(time.Duration(seq) * time.Minute)}
}

// testAuthority: a tenant's signed authority updates are stored byte for byte, listed in order after a sequence
// number and within a limit; a sequence number is stored once; the head is the newest, without its body; and
// another tenant neither sees them nor is refused its own sequence numbers.
func testAuthority(t *testing.T, s store.Store) {
	a, b := twoTenants(t, s)
	read(t, s, func(tx store.Tx) error {
		_, err := tx.AuthorityHead(a.ID)
		isNotFound(t, "head of a tenant without updates", err)
		if list, err := tx.AuthorityUpdates(a.ID, -1, 10); err != nil || len(list) != 0 {
			t.Fatalf("updates of a tenant without any: %+v, %v", list, err)
		}
		return nil
	})
	var want []store.AuthorityUpdate
	write(t, s, func(tx store.Tx) error {
		for seq := range uint64(3) {
			u := authorityUpdate(a.ID, seq)
			if err := tx.AppendAuthority(u); err != nil {
				return err
			}
			want = append(want, *u)
		}
		return nil
	})
	isConflict(t, "a sequence number stored twice", writeErr(s, func(tx store.Tx) error {
		u := authorityUpdate(a.ID, 1)
		u.Hash = "another"
		return tx.AppendAuthority(u)
	}))
	isNotFound(t, "an update of an unknown tenant", writeErr(s, func(tx store.Tx) error {
		return tx.AppendAuthority(authorityUpdate(b.ID+100, 0))
	}))
	// Tenant B's chain is its own: its genesis is sequence 0 as well.
	bGenesis := authorityUpdate(b.ID, 0)
	write(t, s, func(tx store.Tx) error { return tx.AppendAuthority(bGenesis) })

	same := func(what string, got []store.AuthorityUpdate, want ...store.AuthorityUpdate) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d updates, want %d: %+v", what, len(got), len(want), got)
		}
		for i := range got {
			g, w := got[i], want[i]
			if g.TenantID != w.TenantID || g.Seq != w.Seq || g.Hash != w.Hash || !bytes.Equal(g.Body, w.Body) || !g.CreatedAt.Equal(w.CreatedAt) {
				t.Fatalf("%s: update %d is %+v, want %+v", what, i, g, w)
			}
		}
	}
	read(t, s, func(tx store.Tx) error {
		for _, c := range []struct {
			what         string
			since        int64
			limit        int
			first, count int
		}{
			{"from the genesis", -1, 10, 0, 3},
			{"after the genesis", 0, 10, 1, 2},
			{"after the head", 2, 10, 0, 0},
			{"from the genesis, two at a time", -1, 2, 0, 2},
			{"the rest", 1, 2, 2, 1},
			{"without a limit", -1, 0, 0, 3},
		} {
			list, err := tx.AuthorityUpdates(a.ID, c.since, c.limit)
			if err != nil {
				t.Fatalf("%s: %v", c.what, err)
			}
			same(c.what, list, want[c.first:c.first+c.count]...)
		}
		head, err := tx.AuthorityHead(a.ID)
		if err != nil || head.Seq != 2 || head.Hash != want[2].Hash || head.TenantID != a.ID || len(head.Body) != 0 || !head.CreatedAt.Equal(want[2].CreatedAt) {
			t.Fatalf("head: %+v, %v; want update 2 without its body", head, err)
		}
		list, err := tx.AuthorityUpdates(b.ID, -1, 10)
		if err != nil {
			return err
		}
		same("tenant B's updates", list, *bGenesis)
		if head, err := tx.AuthorityHead(b.ID); err != nil || head.Hash != bGenesis.Hash {
			t.Fatalf("tenant B's head: %+v, %v", head, err)
		}
		return nil
	})
}

// testAgentAuthority: an agent's receipt of the signed authority is stored, read with the agent in every way an
// agent is read, changed and cleared; updating the agent leaves it alone; another tenant cannot set it.
func testAgentAuthority(t *testing.T, s store.Store) {
	a, b := twoTenants(t, s)
	x := newAgent(t, s, a.ID, "contoso.local")
	other := newAgent(t, s, b.ID, "b.local")
	if x.Authority != (store.AgentAuthority{}) {
		t.Fatalf("a new agent's receipt: %+v", x.Authority)
	}
	check := func(what string, want store.AgentAuthority) {
		t.Helper()
		read(t, s, func(tx store.Tx) error {
			got, err := tx.Agent(a.ID, x.ID)
			if err != nil || got.Authority != want {
				t.Fatalf("%s: agent's receipt %+v, %v; want %+v", what, got, err, want)
			}
			if got, err := tx.AgentByKey(a.ID, x.KeyID); err != nil || got.Authority != want {
				t.Fatalf("%s: receipt by key %+v, %v", what, got, err)
			}
			for name, list := range map[string]func(int64) ([]store.Agent, error){"agents": tx.Agents, "brief agents": tx.AgentsBrief} {
				if got, err := list(a.ID); err != nil || len(got) != 1 || got[0].Authority != want {
					t.Fatalf("%s: receipt in the %s: %+v, %v", what, name, got, err)
				}
			}
			if got, err := tx.Agent(b.ID, other.ID); err != nil || got.Authority != (store.AgentAuthority{}) {
				t.Fatalf("%s: tenant B's agent %+v, %v", what, got, err)
			}
			return nil
		})
	}
	r := store.AgentAuthority{Seq: 4, Hash: fmt.Sprintf("%064x", 4)}
	write(t, s, func(tx store.Tx) error { return tx.SetAgentAuthority(a.ID, x.ID, r) })
	check("verified head", r)
	r.Refusal = "account alice-ms: recipient not approved"
	write(t, s, func(tx store.Tx) error { return tx.SetAgentAuthority(a.ID, x.ID, r) })
	check("refusal", r)
	x.Version, x.LastSeen = "2.0", now.Add(time.Hour)
	write(t, s, func(tx store.Tx) error { return tx.UpdateAgent(x) })
	check("after an update of the agent", r)
	r.Seq, r.Hash, r.Refusal = 5, fmt.Sprintf("%064x", 5), ""
	write(t, s, func(tx store.Tx) error { return tx.SetAgentAuthority(a.ID, x.ID, r) })
	check("refusal cleared", r)
	isNotFound(t, "receipt through tenant B", writeErr(s, func(tx store.Tx) error {
		return tx.SetAgentAuthority(b.ID, x.ID, store.AgentAuthority{Refusal: "forged"})
	}))
	isNotFound(t, "receipt of an unknown agent", writeErr(s, func(tx store.Tx) error {
		return tx.SetAgentAuthority(a.ID, x.ID+100, store.AgentAuthority{})
	}))
	check("after the refused receipts", r)
}
