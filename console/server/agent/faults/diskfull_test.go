package faults_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/hub"
	"github.com/watchword/watchword/console/server/hub/hubserve"
	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// TestDiskFull puts the hub's database on a small tmpfs, fills the file system while an agent stages and confirms,
// and checks that the hub refuses with an error (never a false success), says why in its log, keeps serving reads,
// and works again once space is freed, with an intact database and every confirmed version. Needs root (mount).
func TestDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	ctx := testCtx(t)
	db := filepath.Join(dir, "hub.db")
	st, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	logs := &hubtest.SyncBuffer{}
	hubID, _ := seal.GenerateIdentity()
	hb := hub.New(st, hubID, hub.Config{Logger: slog.New(slog.NewJSONHandler(logs, nil)), RateBurst: 1000, RateEvery: time.Millisecond})
	tlsCfg, err := hubserve.TLSConfig(hb)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(hb.Handler())
	srv.TLS = tlsCfg
	base, cancel := context.WithCancel(context.Background())
	srv.Config.BaseContext = func(net.Listener) context.Context { return base }
	srv.StartTLS()
	defer func() { cancel(); srv.Close(); st.Close() }()
	recovery, _ := seal.GenerateIdentity()
	nt, err := hb.CreateTenant(ctx, hub.TenantSpec{Name: "Full", Abbrev: "fu", Recovery: recovery.Public().Recipient().String()})
	if err != nil {
		t.Fatal(err)
	}
	inv := hb.Invite(srv.URL, nt.GUID)
	newClient := func() (*hubclient.Client, *seal.Identity) {
		id, _ := seal.GenerateIdentity()
		c, err := hubclient.New(inv, id, hubclient.WithTimeout(10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c, id
	}
	owner, _ := newClient()
	if _, err := owner.Claim(ctx, nt.OwnerToken, "Owner"); err != nil {
		t.Fatal(err)
	}
	tech, techID := newClient()
	ts, err := tech.Register(ctx, wire.RegisterRequest{Username: "alice", Email: "a@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	owner.ApproveTech(ctx, ts.TechID)
	tok, _ := owner.CreateEnrollmentTokenWith(ctx, wire.TokenRequest{ApproveOnUse: true})
	ag, _ := newClient()
	if _, err := ag.Enroll(ctx, wire.EnrollRequest{Token: tok.Token, Name: "full.local", Driver: wire.DriverAD}); err != nil {
		t.Fatal(err)
	}
	plan, err := ag.Plan(ctx, 0)
	if err != nil || len(plan.Accounts) != 1 {
		t.Fatalf("plan: %+v, %v", plan, err)
	}
	acc := plan.Accounts[0]

	// Fill the file system, leaving a little room so that the database fills it during the rotations.
	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte{0}, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	f.Close()
	os.Truncate(filler, max(0, fileSize(filler)-256<<10))

	confirmed := map[int64]string{}
	var refused error
	v := acc.CurrentVersion
	for i := 0; i < 2000 && refused == nil; i++ {
		v++
		pw := randomSecret()
		if err := ag.Stage(ctx, acc.AccountID, v, hubtest.Seal(t, plan, acc, v, pw)); err != nil {
			refused = err
			break
		}
		if err := ag.Confirm(ctx, acc.AccountID, v); err != nil {
			refused = err
			break
		}
		confirmed[v] = pw
	}
	scenarios.Add(1)
	if refused == nil {
		t.Fatalf("the disk never filled up after %d rotations", len(confirmed))
	}
	if !isUnavailable(refused) {
		t.Fatalf("disk full answered %v, want the clear storage-is-full error", refused)
	}
	if !bytes.Contains(logs.Bytes(), []byte("database or disk is full")) {
		t.Fatalf("the hub's log does not say the disk is full:\n%s", tailBytes(logs.Bytes()))
	}
	// Reads still work while the disk is full.
	if _, err := tech.Credentials(ctx); err != nil {
		t.Errorf("credentials while the disk is full: %v", err)
	}
	// Free space: the hub carries on without a restart.
	os.Remove(filler)
	v++
	pw := randomSecret()
	if err := ag.Stage(ctx, acc.AccountID, v, hubtest.Seal(t, plan, acc, v, pw)); err != nil {
		t.Fatalf("stage after freeing space: %v", err)
	}
	if err := ag.Confirm(ctx, acc.AccountID, v); err != nil {
		t.Fatalf("confirm after freeing space: %v", err)
	}
	confirmed[v] = pw
	cr, err := tech.Credentials(ctx)
	if err != nil || len(cr.Credentials) != 1 || cr.Credentials[0].Versions[0].Version != v {
		t.Fatalf("credentials after freeing space: %+v, %v", cr, err)
	}
	got, err := seal.Open(cr.Credentials[0].Versions[0].Envelope, hubclient.SealContext(cr.ClientGUID, plan.AgentID, acc.AccountName, v), techID)
	if err != nil || string(got) != pw {
		t.Fatalf("open the newest version: %v", err)
	}
	cancel()
	srv.Close()
	st.Close()
	integrityCheck(t, db)
	states := versionStates(t, db)
	for ver := range confirmed {
		if s := states[[2]int64{acc.AccountID, ver}]; s != string(wire.VersionConfirmed) && s != string(wire.VersionSuperseded) {
			dataLost.Add(1)
			t.Errorf("version %d confirmed before the disk filled is %q", ver, s)
		}
	}
	t.Logf("%d rotations before the disk filled; refused with %v", len(confirmed)-1, refused)
	var secrets []string
	for _, s := range confirmed {
		secrets = append(secrets, s)
	}
	grepSecrets(t, append(secrets, techID.String(), recovery.String()), []string{db, db + "-wal", db + "-shm"},
		map[string][]byte{"hub logs": logs.Bytes()})
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func isUnavailable(err error) bool {
	we, ok := wire.AsError(err)
	return ok && we.Code == wire.CodeInternal && strings.Contains(we.Message, "storage is full")
}
