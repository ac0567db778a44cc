package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/watchword/watchword/console/server/hub/hubserve"
	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/console/server/hub/totpseal"
	"github.com/watchword/watchword/shared/wire"
)

// TestTOTPCodes: the demo prints the code an authenticator would show for bob's pending enrolment, sealed in the
// hub's database under its key file, and stops once bob has enrolled; an unknown tech is an error.
func TestTOTPCodes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	db := filepath.Join(t.TempDir(), "hub.db")
	id, err := hubserve.LoadOrCreateIdentity(db + ".key")
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	var tenant, tech int64
	if err := st.Write(ctx, func(tx store.Tx) error {
		tn := &store.Tenant{GUID: "0b9d1c8e-5f33-4c1e-9a57-6c1d2e3f4a5b", Name: "Demo MSP", Abbrev: "demo", Recovery: "r", Policy: wire.DefaultPolicy(), CreatedAt: time.Unix(0, 1)}
		if err := tx.CreateTenant(tn); err != nil {
			return err
		}
		tc := &store.Tech{TenantID: tn.ID, Username: "bob", Status: wire.TechActive, PublicKey: "k", KeyID: "kid", Fingerprint: "f", CreatedAt: time.Unix(0, 1)}
		if err := tx.CreateTech(tc); err != nil {
			return err
		}
		tenant, tech = tn.ID, tc.ID
		sealed, err := totpseal.New(id).Seal(tn.ID, tc.ID, secret)
		if err != nil {
			return err
		}
		return tx.PutTechSecurity(&store.TechSecurity{TenantID: tn.ID, TechID: tc.ID, TOTPSecret: sealed})
	}); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	want, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	short, stop := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer stop()
	if err := totpCodes(short, &out, db, "bob", func() time.Time { return at }); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "demo: bob's authenticator code (demo only, in place of a phone): "+want+"\n" {
		t.Fatalf("printed %q, want the code %s once", got, want)
	}

	if err := st.Write(ctx, func(tx store.Tx) error {
		s, err := tx.TechSecurity(tenant, tech)
		if err != nil {
			return err
		}
		s.TOTPEnrolledAt = at
		return tx.PutTechSecurity(s)
	}); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := totpCodes(ctx, &out, db, "bob", func() time.Time { return at }); err != nil || !strings.Contains(out.String(), "bob confirmed the authenticator") {
		t.Fatalf("after the enrolment: %q, %v", out.String(), err)
	}
	if err := totpCodes(ctx, &out, db, "mallory", time.Now); err == nil || !strings.Contains(err.Error(), `no tech "mallory"`) {
		t.Fatalf("an unknown tech: %v", err)
	}
}
