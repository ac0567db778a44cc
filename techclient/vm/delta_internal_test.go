package vm

import (
	"testing"

	"github.com/watchword/watchword/shared/wire"
)

func TestMergeDelta(t *testing.T) {
	cred := func(id, version int64) wire.Credential {
		return wire.Credential{AccountID: id, AgentName: "host", Versions: []wire.CredentialVersion{{Version: version, State: wire.VersionConfirmed}}}
	}
	held := &wire.CredentialsResponse{ClientGUID: "g", Revision: 10, Grants: "A",
		Credentials: []wire.Credential{cred(1, 1), cred(2, 1), cred(3, 1)}}
	d := &wire.CredentialsResponse{ClientGUID: "g", Revision: 14, Grants: "A", Delta: true,
		Credentials: []wire.Credential{cred(2, 2), cred(4, 1)}, Removed: []int64{3}}
	got := mergeDelta(held, d)
	want := map[int64]int64{1: 1, 2: 2, 4: 1}
	if got.Revision != 14 || got.Grants != "A" || got.Delta || got.ClientGUID != "g" || len(got.Credentials) != len(want) {
		t.Fatalf("merged %+v", got)
	}
	for _, c := range got.Credentials {
		if want[c.AccountID] != c.Versions[0].Version {
			t.Fatalf("account %d at version %d, want %d", c.AccountID, c.Versions[0].Version, want[c.AccountID])
		}
	}
	// The held list is untouched: rows and the cache may still refer to it.
	if held.Revision != 10 || len(held.Credentials) != 3 || held.Credentials[1].Versions[0].Version != 1 {
		t.Fatalf("held list changed: %+v", held)
	}
}
