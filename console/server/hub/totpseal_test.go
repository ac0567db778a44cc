package hub_test

import (
	"bytes"
	"context"
	"encoding/base32"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/hub/hubcli"
	"github.com/watchword/watchword/console/server/hub/hubserve"
	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/wire"
)

// leaks reports which of the database's files (the file itself, its WAL) or extra files hold secret, in base32 or
// as the raw key bytes.
func leaks(t *testing.T, secret string, paths ...string) []string {
	t.Helper()
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.TrimRight(secret, "="))
	noErr(t, err)
	var found []string
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			continue
		}
		noErr(t, err)
		if bytes.Contains(b, []byte(secret)) || bytes.Contains(bytes.ToUpper(b), []byte(strings.ToUpper(secret))) ||
			bytes.Contains(b, raw) {
			found = append(found, filepath.Base(p))
		}
	}
	return found
}

func backupCopy(t *testing.T, db string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "backup.db")
	var out bytes.Buffer
	if err := hubcli.Main(testCtx(t), []string{"backup", "--db", db, "--out", dst}, &out, &out); err != nil {
		t.Fatalf("backup: %v\n%s", err, out.String())
	}
	return dst
}

func storedTOTP(t *testing.T, h *hubtest.Harness, tech int64) string {
	t.Helper()
	var secret string
	noErr(t, h.Store.Read(testCtx(t), func(tx store.Tx) error {
		tn, err := tx.Tenant(h.GUID)
		if err != nil {
			return err
		}
		s, err := tx.TechSecurity(tn.ID, tech)
		if err != nil {
			return err
		}
		secret = s.TOTPSecret
		return nil
	}))
	return secret
}

func putStoredTOTP(t *testing.T, h *hubtest.Harness, tech int64, stored string) {
	t.Helper()
	noErr(t, h.Store.Write(testCtx(t), func(tx store.Tx) error {
		tn, err := tx.Tenant(h.GUID)
		if err != nil {
			return err
		}
		s, err := tx.TechSecurity(tn.ID, tech)
		if err != nil {
			return err
		}
		s.TOTPSecret = stored
		return tx.PutTechSecurity(s)
	}))
}

// TestTOTPSecretSealedAtRest: after a co-managed tech enrols and opens sessions, neither the database (its file and
// WAL) nor a `watchword-hub backup` copy holds the TOTP secret, in base32 or raw; the stored value is bound to its
// tech: copied onto another enrolled tech's row it does not open, and that tech is told to have the authenticator
// reset, no failure counted.
func TestTOTPSecretSealedAtRest(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t, enforceTOTP)
	carol := coManagedTech(t, h, "carol", "Client Ltd")
	dave := coManagedTech(t, h, "dave", "Client Ltd")
	en, err := carol.EnrollTOTP(ctx)
	noErr(t, err)
	_, err = carol.ConfirmTOTP(ctx, code(t, en.Secret, h.Clock.Now()))
	noErr(t, err)
	h.Clock.Advance(13 * time.Hour)
	if _, err := carol.OpenSession(ctx, code(t, en.Secret, h.Clock.Now())); err != nil {
		t.Fatalf("session with a code from the sealed secret: %v", err)
	}
	if got := storedTOTP(t, h, carol.ID); got == "" || strings.Contains(got, en.Secret) {
		t.Fatalf("stored TOTP secret is empty or in clear (%d characters)", len(got))
	}
	h.RequireSQLite("greps the SQLite file, its WAL and a backup for the secret")
	if found := leaks(t, en.Secret, h.DBPath, h.DBPath+"-wal", backupCopy(t, h.DBPath)); len(found) > 0 {
		t.Fatalf("the TOTP secret is readable in %v", found)
	}

	// The sealed value names its tech: moved onto dave's row it does not open.
	enD, err := dave.EnrollTOTP(ctx)
	noErr(t, err)
	_, err = dave.ConfirmTOTP(ctx, code(t, enD.Secret, h.Clock.Now()))
	noErr(t, err)
	putStoredTOTP(t, h, dave.ID, storedTOTP(t, h, carol.ID))
	h.Clock.Advance(13 * time.Hour)
	_, err = dave.OpenSession(ctx, code(t, en.Secret, h.Clock.Now()))
	if !isField(err, wire.CodeForbidden, wire.FieldTOTP) || !strings.Contains(err.Error(), "reset your authenticator") {
		t.Fatalf("carol's sealed secret on dave's row: %v, want refused with a reset hint", err)
	}
	sec, err := h.Owner.TechSecurities(ctx)
	noErr(t, err)
	for _, s := range sec {
		if s.TechID == dave.ID && s.Failures != 0 {
			t.Fatalf("an unopenable secret counted %d failures", s.Failures)
		}
	}
}

// TestTOTPClearSecretsResealed: a secret an older hub stored in clear still checks codes, and is sealed in place
// when the hub starts listening, once (a second pass seals nothing); afterwards neither the row, nor the database's
// file and WAL (checkpointed), nor a backup holds it, and codes still open sessions.
func TestTOTPClearSecretsResealed(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t, enforceTOTP)
	carol := coManagedTech(t, h, "carol", "Client Ltd")
	en, err := carol.EnrollTOTP(ctx)
	noErr(t, err)
	_, err = carol.ConfirmTOTP(ctx, code(t, en.Secret, h.Clock.Now()))
	noErr(t, err)
	putStoredTOTP(t, h, carol.ID, en.Secret) // as an older hub kept it
	h.RequireSQLite("greps the SQLite file, its WAL and a backup for the secret")
	if found := leaks(t, en.Secret, backupCopy(t, h.DBPath)); len(found) != 1 {
		t.Fatal("the clear secret written for the test is not found in a backup: the search cannot fail")
	}
	h.Clock.Advance(13 * time.Hour)
	if _, err := carol.OpenSession(ctx, code(t, en.Secret, h.Clock.Now())); err != nil {
		t.Fatalf("session with a secret still in clear: %v", err)
	}

	srv, err := hubserve.Listen(h.Hub, "127.0.0.1:0", hubserve.Config{})
	noErr(t, err)
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	noErr(t, srv.Shutdown(sctx))
	if got := storedTOTP(t, h, carol.ID); got == en.Secret || strings.Contains(got, en.Secret) {
		t.Fatal("the clear secret is still stored after the hub started")
	}
	h.RequireSQLite("greps the SQLite file, its WAL and a backup for the secret")
	if found := leaks(t, en.Secret, h.DBPath, h.DBPath+"-wal", backupCopy(t, h.DBPath)); len(found) > 0 {
		t.Fatalf("the TOTP secret is readable after sealing in: %v", found)
	}
	if !strings.Contains(string(h.Logs.Bytes()), "sealed TOTP secrets stored in clear") {
		t.Fatal("the sealing is not logged")
	}
	if n, err := h.Hub.SealTOTPSecrets(ctx); err != nil || n != 0 {
		t.Fatalf("second pass: sealed %d, %v; want 0", n, err)
	}
	h.Clock.Advance(13 * time.Hour)
	if _, err := carol.OpenSession(ctx, code(t, en.Secret, h.Clock.Now())); err != nil {
		t.Fatalf("session after sealing: %v", err)
	}
	if _, err := carol.Credentials(ctx); err != nil && !hubclient.IsTOTPRequired(err) {
		t.Fatal(err)
	}
}
