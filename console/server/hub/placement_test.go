package hub_test

import (
	"testing"

	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/wire"
)

// TestApprovalDecidesCoManaged: being co-managed, and with it two-factor authentication, follows the approving
// admin's decision, not the registration form. A registrant who left the organization blank and is approved into
// an organization must use 2FA; one who typed an organization and is approved as MSP staff is MSP staff. Without a
// decision the tech is placed as the pending list showed it. A decision that cannot stand changes nothing, and a
// Co-managed Manager places only its own organization's techs in its own organization.
func TestApprovalDecidesCoManaged(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t, enforceTOTP)
	deleteAllTriplet(t, h) // placement, not access, is this test's subject: no override needed (approve.go)
	_, err := h.Owner.CreateOrg(ctx, "Client Ltd")
	noErr(t, err)
	_, err = h.Owner.CreateOrg(ctx, "Other Co")
	noErr(t, err)
	register := func(username, org string) *hubtest.Tech {
		t.Helper()
		id := h.NewIdentity()
		c := h.Client(id)
		st, err := c.Register(ctx, wire.RegisterRequest{Username: username, Email: username + "@client.example", Organization: org})
		noErr(t, err)
		return &hubtest.Tech{Client: c, ID: st.TechID, Identity: id}
	}
	needs2FA := func(who *hubtest.Tech, want bool) {
		t.Helper()
		_, err := who.Credentials(ctx)
		if want && !hubclient.IsTOTPRequired(err) || !want && err != nil {
			t.Fatalf("tech %d credentials: %v, want 2FA required %t", who.ID, err, want)
		}
		sec, err := who.Security(ctx)
		if err != nil || sec.Required != want || sec.CoManaged != want {
			t.Fatalf("tech %d security: %+v, %v, want required and co-managed %t", who.ID, sec, err, want)
		}
	}

	// Typed nothing, placed in an organization (spelled as recorded): co-managed, 2FA required.
	nina := register("nina", "")
	got, err := h.Owner.ApproveTechAs(ctx, nina.ID, wire.ApproveRequest{Organization: "client ltd"})
	if err != nil || got.Status != wire.TechActive || got.Organization != "Client Ltd" || !got.CoManaged {
		t.Fatalf("approve nina into Client Ltd: %+v, %v", got, err)
	}
	needs2FA(nina, true)
	if !auditHas(t, h, "tech.approve", `username="nina" from=pending to=active`) || !auditHas(t, h, "tech.approve", `organization="Client Ltd"`) {
		t.Fatal("the approval's organization is not audited")
	}

	// Typed an organization, approved as MSP staff: no organization, no 2FA (the tenant does not ask it of MSP staff).
	oscar := register("oscar", "Client Ltd")
	got, err = h.Owner.ApproveTechAs(ctx, oscar.ID, wire.ApproveRequest{MSPStaff: true})
	if err != nil || got.Organization != "" || got.CoManaged {
		t.Fatalf("approve oscar as MSP staff: %+v, %v", got, err)
	}
	needs2FA(oscar, false)

	// No decision: as the pending list showed it.
	pam, quinn := register("pam", ""), register("quinn", "Client Ltd")
	_, err = h.Owner.ApproveTech(ctx, pam.ID)
	noErr(t, err)
	needs2FA(pam, false)
	_, err = h.Owner.ApproveTech(ctx, quinn.ID)
	noErr(t, err)
	needs2FA(quinn, true)

	// Decisions that cannot stand change nothing.
	rita, sam := register("rita", "Client Ltd"), register("sam", "")
	for name, req := range map[string]wire.ApproveRequest{
		"both":          {Organization: "Client Ltd", MSPStaff: true},
		"unknown":       {Organization: "Nowhere Inc"},
		"blank":         {Organization: "  "},
		"control chars": {Organization: "Client\x00Ltd"},
	} {
		if _, err := h.Owner.ApproveTechAs(ctx, sam.ID, req); !isCode(err, wire.CodeInvalid) {
			t.Errorf("approve sam, %s: %v, want invalid", name, err)
		}
	}
	mgr := h.Client(invitedAdmin(t, h, wire.RoleCoManager, "Client Ltd", true))
	if _, err := mgr.ApproveTechAs(ctx, rita.ID, wire.ApproveRequest{MSPStaff: true}); !isField(err, wire.CodeInvalid, "mspStaff") {
		t.Errorf("a Co-managed Manager approves as MSP staff: %v, want invalid", err)
	}
	if _, err := mgr.ApproveTechAs(ctx, rita.ID, wire.ApproveRequest{Organization: "Other Co"}); !isField(err, wire.CodeInvalid, "organization") {
		t.Errorf("a Co-managed Manager approves into another organization: %v, want invalid", err)
	}
	if _, err := mgr.ApproveTechAs(ctx, sam.ID, wire.ApproveRequest{Organization: "Client Ltd"}); !isCode(err, wire.CodeNotFound) {
		t.Errorf("a Co-managed Manager claims a tech outside its organization: %v, want not found", err)
	}
	pending, err := h.Owner.Techs(ctx, wire.TechPending)
	noErr(t, err)
	if len(pending) != 2 || pending[0].Organization != "Client Ltd" || !pending[0].CoManaged || pending[1].Organization != "" || pending[1].CoManaged {
		t.Fatalf("refused approvals changed the pending techs: %+v", pending)
	}
	got, err = mgr.ApproveTechAs(ctx, rita.ID, wire.ApproveRequest{Organization: "CLIENT LTD"})
	if err != nil || got.Organization != "Client Ltd" || !got.CoManaged {
		t.Fatalf("the manager approves rita into its organization: %+v, %v", got, err)
	}
	needs2FA(rita, true)
}
