package hub_test

import (
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/hub"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/wire"
)

// TestAuditVerifyScopedToTenant: an admin's audit verification walks its own tenant's chain only. With tenant
// A's chain broken, tenant B's auditor and owner are told B's chain holds (and how many events it has, B's alone),
// while A's owner is told A's is broken; the operator's verify-audit still sees every chain.
func TestAuditVerifyScopedToTenant(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	h.ActiveTech("alice") // a few events in A's chain
	nt, err := h.Hub.CreateTenant(ctx, hub.TenantSpec{Name: "Tenant B", Abbrev: "tb", Recovery: h.Recovery.Public().Recipient().String()})
	noErr(t, err)
	bOwner, err := hubclient.New(h.Hub.Invite(h.URL, nt.GUID), h.NewIdentity())
	noErr(t, err)
	t.Cleanup(bOwner.Close)
	_, err = bOwner.Claim(ctx, nt.OwnerToken, "B owner")
	noErr(t, err)
	tok, err := bOwner.InviteAdmin(ctx, wire.RoleAuditor, "", time.Hour)
	noErr(t, err)
	bAuditor, err := hubclient.New(h.Hub.Invite(h.URL, nt.GUID), h.NewIdentity())
	noErr(t, err)
	t.Cleanup(bAuditor.Close)
	claimed, err := bAuditor.Claim(ctx, tok.Token, "B auditor")
	noErr(t, err)
	_, err = bOwner.ApproveAdmin(ctx, claimed.Admin.ID)
	noErr(t, err)

	bEvents, err := bOwner.Audit(ctx, wire.AuditQuery{})
	noErr(t, err)
	for name, c := range map[string]*hubclient.Client{"A owner": h.Owner, "B owner": bOwner, "B auditor": bAuditor} {
		if v, err := c.VerifyAudit(ctx); err != nil || !v.OK {
			t.Fatalf("%s before tampering: %+v, %v", name, v, err)
		}
	}

	h.RequireSQLite("alters the audit log in the SQLite file")
	db, err := sql.Open("sqlite", "file:"+h.DBPath+"?_pragma=busy_timeout(10000)")
	noErr(t, err)
	defer db.Close()
	res, err := db.ExecContext(ctx, "UPDATE audit SET detail = 'approved by nobody' WHERE action = 'tech.approve' AND tenant_id = (SELECT id FROM tenants WHERE guid = ?)", h.GUID)
	noErr(t, err)
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("tampered with %d events of tenant A, want 1", n)
	}

	for name, c := range map[string]*hubclient.Client{"B owner": bOwner, "B auditor": bAuditor} {
		v, err := c.VerifyAudit(ctx)
		if err != nil || !v.OK || v.Error != "" {
			t.Errorf("%s with tenant A's chain broken: %+v, %v (want B's own chain: intact)", name, v, err)
			continue
		}
		// The count read before this check, plus the events written since (the auditor's claim and approval
		// came before it): B's own events, never A's.
		after, err := bOwner.Audit(ctx, wire.AuditQuery{})
		noErr(t, err)
		if v.Events != int64(len(after)) || v.Events < int64(len(bEvents)) {
			t.Errorf("%s: %d events verified, tenant B has %d", name, v.Events, len(after))
		}
	}
	if v, err := h.Owner.VerifyAudit(ctx); err != nil || v.OK || !strings.Contains(v.Error, "broken") {
		t.Errorf("A owner after tampering with A's chain: %+v, %v", v, err)
	}
	if _, err := h.Store.VerifyAudit(ctx); err == nil {
		t.Error("the operator's whole-hub verification misses tenant A's broken chain")
	}
}
