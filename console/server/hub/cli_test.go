package hub_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/hub"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestCLIByHand is the acceptance path: init a hub, serve it, register a tech with the invite, and see the tech
// pending through the admin API of the owner who claimed the tenant with the printed token.
func TestCLIByHand(t *testing.T) {
	ctx := testCtx(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "hub.db")
	addr := freeAddr(t)
	recovery, _ := seal.GenerateIdentity()
	var out bytes.Buffer
	err := hub.Run(ctx, []string{"init", "--db", db, "--tenant", "Acme MSP", "--abbrev", "acme",
		"--recovery", recovery.Public().Recipient().String(), "--url", "https://" + addr}, &out, &out)
	if err != nil {
		t.Fatalf("init: %v\n%s", err, out.String())
	}
	if fi, err := os.Stat(db); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("database mode: %v, %v", fi.Mode(), err)
	}
	if fi, err := os.Stat(db + ".key"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key mode: %v, %v", fi.Mode(), err)
	}
	inviteStr := regexp.MustCompile(`watchword-invite:\S+`).FindString(out.String())
	token := regexp.MustCompile(`owner token:\s+(\S+)`).FindStringSubmatch(out.String())
	inv, err := wire.ParseInvite(inviteStr)
	if err != nil || token == nil {
		t.Fatalf("init output %q: %v", out.String(), err)
	}

	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	var logs bytes.Buffer
	go func() {
		done <- hub.Run(sctx, []string{"serve", "--db", db, "--listen", addr, "--log-json", "true"}, &logs, &logs)
	}()
	defer func() {
		stop()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("serve did not shut down")
		}
	}()

	techID, _ := seal.GenerateIdentity()
	tech, err := hubclient.New(inv, techID)
	if err != nil {
		t.Fatal(err)
	}
	var st *wire.TechStatusResponse
	for i := 0; ; i++ { // the listener may need a moment
		st, err = tech.Register(ctx, wire.RegisterRequest{Username: "bob", DisplayName: "Bob", Email: "bob@acme.example"})
		if err == nil || i > 50 || errors.Is(err, hubclient.ErrInvalid) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil || st.Status != wire.TechPending {
		t.Fatalf("register: %+v, %v", st, err)
	}
	ownerID, _ := seal.GenerateIdentity()
	owner, _ := hubclient.New(inv, ownerID)
	if _, err := owner.Claim(ctx, token[1], "Owner"); err != nil {
		t.Fatalf("claim: %v", err)
	}
	if _, err := owner.Claim(ctx, token[1], "Owner"); !errors.Is(err, hubclient.ErrForbidden) {
		t.Fatalf("second claim with the same token: %v", err)
	}
	pending, err := owner.Techs(ctx, wire.TechPending)
	if err != nil || len(pending) != 1 || pending[0].Username != "bob" || pending[0].Fingerprint != techID.Public().Fingerprint().String() {
		t.Fatalf("pending: %+v, %v", pending, err)
	}

	// A client pinned to another key refuses this hub.
	bad := inv
	other, _ := seal.GenerateIdentity()
	bad.HubPin = other.Public().ID()
	impostor, _ := hubclient.New(bad, techID)
	if _, err := impostor.Status(ctx); err == nil {
		t.Fatal("client accepted a hub whose key does not match the pin")
	}

	// Backup and verify-audit run against the live database.
	out.Reset()
	if err := hub.Run(ctx, []string{"backup", "--db", db, "--out", filepath.Join(dir, "copy.db")}, &out, &out); err != nil {
		t.Fatalf("backup: %v", err)
	}
	out.Reset()
	if err := hub.Run(ctx, []string{"verify-audit", "--db", filepath.Join(dir, "copy.db")}, &out, &out); err != nil || !strings.Contains(out.String(), "intact") {
		t.Fatalf("verify-audit: %v %s", err, out.String())
	}
	if strings.Contains(logs.String(), token[1]) {
		t.Fatal("the owner token was logged")
	}
}

func TestCLIErrors(t *testing.T) {
	ctx := testCtx(t)
	var out bytes.Buffer
	for _, args := range [][]string{
		nil,
		{"frobnicate"},
		{"init", "--db", filepath.Join(t.TempDir(), "x.db"), "--tenant", "", "--abbrev", "x", "--recovery", "nope"},
		{"verify-audit", "--db", filepath.Join(t.TempDir(), "missing.db")},
		{"backup", "--db", filepath.Join(t.TempDir(), "x.db")},
	} {
		if err := hub.Run(ctx, args, &out, &out); err == nil {
			t.Errorf("%q succeeded", args)
		}
	}
}
