package hub_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/auditexport"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/wire"
)

// TestAuditQuery: the admin API filters by action prefix and by the principal an event is about, pages newest
// first, and sends each event's tenant and previous hash, with which every hash computes again away from the hub.
func TestAuditQuery(t *testing.T) {
	ctx := context.Background()
	h := hubtest.New(t)
	bob := h.ActiveTech("bob")
	carol := h.NewTech("carol")
	if !h.Owner.Supports(wire.CapAuditQuery) {
		t.Fatal("the hub does not say it filters the audit log")
	}
	all, err := h.Owner.Audit(ctx, wire.AuditQuery{})
	if err != nil || len(all) < 3 {
		t.Fatalf("audit: %d events, %v", len(all), err)
	}
	if r := auditexport.Verify(all); len(r.Problems) > 0 || r.Links != len(all)-1 {
		t.Fatalf("the events as sent do not verify: %s", r)
	}
	newest, err := h.Owner.Audit(ctx, wire.AuditQuery{Newest: true, Limit: 2})
	if err != nil || len(newest) != 2 || newest[0].Seq != all[len(all)-1].Seq || newest[1].Seq != newest[0].Seq-1 {
		t.Fatalf("newest 2: %+v, %v", newest, err)
	}
	older, err := h.Owner.Audit(ctx, wire.AuditQuery{Newest: true, Limit: 1, BeforeSeq: newest[1].Seq})
	if err != nil || len(older) != 1 || older[0].Seq != newest[1].Seq-1 {
		t.Fatalf("the page before %d: %+v, %v", newest[1].Seq, older, err)
	}
	seqs := func(evs []wire.AuditEvent) (out []string) {
		for _, e := range evs {
			out = append(out, e.Action+" "+e.Target)
		}
		return out
	}
	aboutBob, err := h.Owner.Audit(ctx, wire.AuditQuery{About: fmt.Sprintf("tech %d", bob.ID)})
	if err != nil || len(aboutBob) != 2 || aboutBob[0].Action != "tech.register" || aboutBob[1].Action != "tech.approve" {
		t.Fatalf("about bob: %v, %v", seqs(aboutBob), err)
	}
	regs, err := h.Owner.Audit(ctx, wire.AuditQuery{ActionPrefix: "tech.reg"})
	if err != nil || len(regs) != 2 || regs[1].Target != fmt.Sprintf("tech %d", carol.ID) {
		t.Fatalf("prefix tech.reg: %v, %v", seqs(regs), err)
	}
	if _, err := h.Owner.Audit(ctx, wire.AuditQuery{About: "tech"}); !errors.Is(err, hubclient.ErrInvalid) {
		t.Fatalf("about without an ID: %v", err)
	}
}
