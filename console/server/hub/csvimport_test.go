package hub_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/wire"
)

// importFixture has an organization (created by a co-managed tech's registration) and a tech group.
func importFixture(t *testing.T) *hubtest.Harness {
	t.Helper()
	ctx := testCtx(t)
	h := hubtest.New(t)
	coManagedTech(t, h, "carol", "Client Ltd")
	_, err := h.Owner.CreateTechGroup(ctx, wire.GroupRequest{Name: "Helpdesk"})
	noErr(t, err)
	_, err = h.Owner.CreateTechGroup(ctx, wire.GroupRequest{Name: "Night shift"})
	noErr(t, err)
	return h
}

var badImport = wire.ImportTemplateHeader + "\n" +
	"jdoe,Jane Doe,jane@example.com,,Helpdesk\n" + // row 2: good
	"asmith,Alex Smith,alex@client.example,client ltd,Helpdesk;Night shift\n" + // row 3: good (org matched case-insensitively)
	"jdoe,Jane Again,jane2@example.com,,\n" + // row 4: duplicate in the file
	"carol,Carol,carol@client.example,Client Ltd,\n" + // row 5: a tech has it
	"bmail,B,not-an-email,,\n" + // row 6: bad email
	"norg,N,n@example.com,Nowhere Inc,\n" + // row 7: unknown organization
	"ngrp,N,g@example.com,,Ghosts\n" + // row 8: unknown group
	"long," + strings.Repeat("x", 101) + ",l@example.com,,\n" + // row 9: over-long name
	"evil,\"=cmd|' /C calc'!A0\",e@example.com,,\n" + // row 10: formula injection
	"@sum,S,s@example.com,,\n" // row 11: formula in the username

// TestCSVImport: template, per-row exceptions with reasons, atomic or per-row, history, reserved
// usernames pending-match until a device registers with the reserved email, which then lands in its organization
// and, once approved, its groups.
func TestCSVImport(t *testing.T) {
	ctx := testCtx(t)
	h := importFixture(t)

	tpl, err := h.Owner.ImportTemplate(ctx)
	if err != nil || !strings.HasPrefix(tpl.CSV, wire.ImportTemplateHeader+"\r\n") || !strings.HasSuffix(tpl.Filename, ".csv") {
		t.Fatalf("template: %+v, %v", tpl, err)
	}

	want := map[int]string{4: "duplicate username in this file", 5: "a tech has it", 6: "plain address", 7: "unknown organization",
		8: "unknown tech group", 9: "too long", 10: "formula", 11: "formula"}
	check := func(im *wire.Import) {
		t.Helper()
		if im.Rows != 10 || len(im.Exceptions) != len(want) {
			t.Fatalf("import: rows %d, exceptions %+v", im.Rows, im.Exceptions)
		}
		for _, e := range im.Exceptions {
			if !strings.Contains(e.Reason, want[e.Row]) || want[e.Row] == "" {
				t.Errorf("row %d (%s): %q, want %q", e.Row, e.Username, e.Reason, want[e.Row])
			}
		}
	}

	// Atomic: one exception refuses the file; the attempt is in the history.
	im, err := h.Owner.ImportTechs(ctx, badImport, wire.ImportAtomic)
	noErr(t, err)
	check(im)
	if im.Created != 0 {
		t.Fatalf("atomic import with exceptions created %d", im.Created)
	}
	if rs, err := h.Owner.Reservations(ctx); err != nil || len(rs) != 0 {
		t.Fatalf("reservations after a refused atomic import: %+v, %v", rs, err)
	}

	// Per row: the good rows are reserved.
	im, err = h.Owner.ImportTechs(ctx, badImport, wire.ImportPerRow)
	noErr(t, err)
	check(im)
	if im.Created != 2 {
		t.Fatalf("per-row import created %d, want 2", im.Created)
	}
	rs, err := h.Owner.Reservations(ctx)
	if err != nil || len(rs) != 2 || rs[1].Username != "asmith" || rs[1].Organization != "Client Ltd" ||
		!slices.Equal(rs[1].Groups, []string{"Helpdesk", "Night shift"}) || rs[1].Status != wire.TechStatusPendingMatch {
		t.Fatalf("reservations: %+v, %v", rs, err)
	}
	hist, err := h.Owner.Imports(ctx)
	if err != nil || len(hist) != 2 || hist[0].Mode != wire.ImportPerRow || hist[1].Mode != wire.ImportAtomic || len(hist[1].Exceptions) != len(want) {
		t.Fatalf("history: %+v, %v", hist, err)
	}

	// Re-importing the same file: the reserved usernames are duplicates now.
	im, err = h.Owner.ImportTechs(ctx, wire.ImportTemplateHeader+"\njdoe,J,j@example.com,,\n", wire.ImportAtomic)
	if err != nil || im.Created != 0 || len(im.Exceptions) != 1 || !strings.Contains(im.Exceptions[0].Reason, "earlier import") {
		t.Fatalf("re-import: %+v, %v", im, err)
	}

	// A good atomic file is imported whole.
	im, err = h.Owner.ImportTechs(ctx, wire.ImportTemplateHeader+"\r\nx1,X,x1@example.com,,\r\nx2,X,x2@example.com,,Helpdesk\r\n", wire.ImportAtomic)
	if err != nil || im.Created != 2 || len(im.Exceptions) != 0 {
		t.Fatalf("good atomic import: %+v, %v", im, err)
	}

	// The device of a reserved username registers with its email: pending, in the reserved organization; approved,
	// in its groups (TestReservationSquatting: another email is refused, groups wait for the approval).
	c := h.Client(h.NewIdentity())
	st, err := c.Register(ctx, wire.RegisterRequest{Username: "asmith", Email: "alex@client.example"})
	if err != nil || st.Status != wire.TechPending {
		t.Fatalf("register reserved: %+v, %v", st, err)
	}
	techs, err := h.Owner.Techs(ctx, wire.TechPending)
	noErr(t, err)
	if len(techs) != 1 || techs[0].Organization != "Client Ltd" || !techs[0].CoManaged || techs[0].Email != "alex@client.example" || techs[0].DisplayName != "Alex Smith" {
		t.Fatalf("matched tech: %+v", techs)
	}
	_, err = h.ApproveCoManaged(ctx, st.TechID)
	noErr(t, err)
	groups, err := h.Owner.TechGroups(ctx)
	noErr(t, err)
	for _, g := range groups {
		if (g.Name == "Helpdesk" || g.Name == "Night shift") && !slices.Contains(g.Members, st.TechID) {
			t.Errorf("matched tech not in %q: %v", g.Name, g.Members)
		}
	}
	rs, err = h.Owner.Reservations(ctx)
	noErr(t, err)
	if rs[1].Status == wire.TechStatusPendingMatch || rs[1].TechID != st.TechID || rs[0].Status != wire.TechStatusPendingMatch {
		t.Fatalf("reservations after the match: %+v", rs)
	}

	// File-level refusals.
	for name, body := range map[string]string{
		"no header":    "jdoe,J,j@example.com,,\n",
		"bad quoting":  wire.ImportTemplateHeader + "\n\"jdoe,J,j@example.com,,\n",
		"empty":        "",
		"other header": "user,name,mail,org,groups\n",
	} {
		if _, err := h.Owner.ImportTechs(ctx, body, wire.ImportPerRow); !isField(err, wire.CodeInvalid, "csv") {
			t.Errorf("%s: %v, want invalid csv", name, err)
		}
	}
	if _, err := h.Owner.ImportTechs(ctx, tpl.CSV, "best-effort"); !isField(err, wire.CodeInvalid, "mode") {
		t.Errorf("unknown mode: %v", err)
	}
	if !auditHas(t, h, "tech.import", "mode=per-row rows=10 reserved=2 exceptions=8") || !auditHas(t, h, "tech.reservation-match", "asmith") {
		t.Fatal("import or match not audited")
	}
}
