package hub

import (
	"strings"
	"testing"

	"github.com/watchword/watchword/shared/wire"
)

// FuzzParseTechCSV feeds arbitrary files to the CSV import parser: it never panics; a file is either refused as a
// whole with an invalid-csv error or every data row lands in exactly one of rows and exceptions; an accepted row
// has a valid username and email and no cell a spreadsheet would evaluate; every exception names its row and a
// reason.
func FuzzParseTechCSV(f *testing.F) {
	h := wire.ImportTemplateHeader + "\n"
	for _, s := range []string{
		importTemplate,
		h + "jdoe,Jane,jane@example.com,,Helpdesk\n",
		h + "evil,\"=cmd|' /C calc'!A0\",e@example.com,,\n",
		h + "a,b\n",
		h + "\"unterminated,x,y,z,w\n",
		"\ufeff" + h + "x,\"multi\nline\",x@example.com,Org,\"g1;g2\"\n",
		h + "+1,-2,@3,\t4,\r5\n",
		h + "é,é,é@é,é,é\n",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		rows, exc, err := parseTechCSV(data)
		if err != nil {
			we, ok := wire.AsError(err)
			if !ok || we.Code != wire.CodeInvalid || we.Field != "csv" || rows != nil || exc != nil {
				t.Fatalf("file refusal %v with rows %v exceptions %v", err, rows, exc)
			}
			return
		}
		if len(rows)+len(exc) > wire.MaxImportRows {
			t.Fatalf("%d rows over the limit", len(rows)+len(exc))
		}
		for _, r := range rows {
			if !usernameRE.MatchString(r.username) || r.line < 2 {
				t.Fatalf("accepted row %+v", r)
			}
			for _, cell := range append([]string{r.displayName, r.email, r.organization}, r.groups...) {
				if formulaCell(cell) || strings.ContainsAny(cell, "\x00\n\r") {
					t.Fatalf("accepted cell %q of row %d", cell, r.line)
				}
			}
			if r.email == "" || r.displayName == "" {
				t.Fatalf("accepted row without email or name: %+v", r)
			}
		}
		for _, e := range exc {
			if e.Row < 2 || e.Reason == "" {
				t.Fatalf("exception %+v", e)
			}
		}
	})
}

// TestParseTechCSVRows checks that each data row is counted once, with its line number, across quoted newlines.
func TestParseTechCSVRows(t *testing.T) {
	data := wire.ImportTemplateHeader + "\n" +
		"a1,\"two\nlines\",a1@example.com,,\n" + // line 2 (spans 3): control character in the name
		"a2,A,a2@example.com,,\n" + // line 4
		"=a3,A,a3@example.com,,\n" // line 5
	rows, exc, err := parseTechCSV(data)
	if err != nil || len(rows) != 1 || rows[0].line != 4 || len(exc) != 2 || exc[0].Row != 2 || exc[1].Row != 5 || exc[1].Username != "" {
		t.Fatalf("rows %+v exceptions %+v err %v", rows, exc, err)
	}
}
