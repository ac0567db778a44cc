package local

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/shared/keystore"
	"github.com/watchword/watchword/shared/seal"
)

// TestCreateThenOpenLocalHub creates a local hub as the first start does, stops it, and opens it again as the
// next start does: same tenant, same owner, and the recovery identity is not left on disk.
func TestCreateThenOpenLocalHub(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	ks, err := keystore.New(keystore.Options{Service: "watchword-console-test", Dir: dir, Keyring: keystore.NoKeyring,
		Passphrase: func(bool) (string, error) { return "correct horse battery staple", nil }, ScryptWorkFactor: 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, dir, ks); err != ErrNotConfigured {
		t.Fatalf("open before setup: %v", err)
	}
	s, rec, err := CreateLocal(ctx, dir, LocalSpec{Tenant: "Northwind IT", Abbrev: "nw", Listen: "127.0.0.1:0", PublicURL: "https://console.example:8443"}, ks)
	if err != nil {
		t.Fatal(err)
	}
	ten, err := s.Client.Tenant(ctx)
	if err != nil || ten.Name != "Northwind IT" || ten.Recovery != rec.Public().Recipient().String() {
		t.Fatalf("tenant %+v, %v", ten, err)
	}
	if s.Invite.HubURL != "https://console.example:8443" {
		t.Fatalf("invite for techs points at %q", s.Invite.HubURL)
	}
	var buf bytes.Buffer
	if err := SaveRecovery(&buf, "Northwind IT", rec); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if back, err := seal.ParseIdentity(lines[len(lines)-1]); err == nil && back != nil {
		t.Log("recovery file holds a full identity") // either form opens envelopes with age
	}
	if !strings.HasPrefix(lines[len(lines)-1], "AGE-SECRET-KEY-PQ-1") {
		t.Fatalf("recovery file does not end with an age identity: %q", lines[len(lines)-1])
	}
	s.Close()

	s2, err := Open(ctx, dir, ks)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	ten2, err := s2.Client.Tenant(ctx)
	if err != nil || ten2.ClientGUID != ten.ClientGUID {
		t.Fatalf("reopened tenant %+v, %v", ten2, err)
	}
	if err := grepDir(dir, rec.AgeIdentity().String()); err != nil {
		t.Fatal(err)
	}
}

// grepDir fails if secret appears in any file under dir.
func grepDir(dir, secret string) error {
	return filepathWalk(dir, secret)
}
