package view

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/internal/readable"
)

// TestTechsScreenShowsDeletedTechs: "Show deleted" swaps the tech list for the deleted techs, the last deleted
// first, each with how far the deletion of its accounts has come; the selected one's accounts show as their agents
// reported them; the search filters the deleted techs too, and unchecking brings the tech list back.
func TestTechsScreenShowsDeletedTechs(t *testing.T) {
	a, w, world := connected(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ben := world.Techs["bokafor"]
	if err := a.DeleteTech(ctx, world.Techs["eschulz"], false); err != nil { // deactivated in the demo
		t.Fatal(err)
	}
	if err := a.Deactivate(ctx, ben); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteTech(ctx, ben, true); err != nil { // the last deleted, listed first
		t.Fatal(err)
	}
	a.Select("techs")
	root := w.Canvas().Content()
	var check *widget.Check
	var status *widget.Select
	var search *widget.Entry
	find(root, func(o fyne.CanvasObject) {
		switch x := o.(type) {
		case *widget.Check:
			if x.Text == "Show deleted" {
				check = x
			}
		case *widget.Select:
			if x.Selected == "All states" {
				status = x
			}
		case *widget.Entry:
			if strings.HasPrefix(x.PlaceHolder, "Search") {
				search = x
			}
		}
	})
	if check == nil || status == nil || search == nil {
		t.Fatal("no Show deleted check, status filter or search on the Techs screen")
	}
	// The first shown table is the list: its usernames, and its whole rows.
	list := func() [][]string { return cells(visibleTables(w.Canvas().Content())[0]) }
	usernames := func() []string {
		var out []string
		for _, r := range list() {
			out = append(out, r[0])
		}
		return out
	}
	if u := usernames(); slices.Contains(u, "bokafor") || !slices.Contains(u, "amoreau") {
		t.Fatalf("the tech list before Show deleted: %v", u)
	}
	fyne.DoAndWait(func() { check.SetChecked(true) })
	eventually(t, "the deleted techs", func() bool { return slices.Equal(usernames(), []string{"bokafor", "eschulz"}) })
	if !status.Disabled() {
		t.Fatal("the status filter stays on for the deleted techs")
	}
	rows := list()
	if got := rows[0][4]; !strings.HasPrefix(got, "0 of ") || !strings.Contains(got, "waiting for their agent (") {
		t.Fatalf("bokafor's deletion progress: %q", got)
	}
	if got := rows[1][4]; got != "no accounts" || rows[1][3] == "never" {
		t.Fatalf("eschulz's row: %q", rows[1])
	}
	fyne.DoAndWait(func() { visibleTables(w.Canvas().Content())[0].Select(widget.TableCellID{Row: 0, Col: 0}) }) // the last deleted: bokafor
	eventually(t, "the selected deleted tech", func() bool {
		return showing(w.Canvas().Content(), has("Ben Okafor (bokafor), deleted ")) &&
			showing(w.Canvas().Content(), has("accounts deleted from the domains and hosts"))
	})
	accounts := cells(visibleTables(w.Canvas().Content())[1])
	if len(accounts) < 2 {
		t.Fatalf("bokafor's accounts: %v", accounts)
	}
	for _, r := range accounts {
		if r[2] != "deleting" {
			t.Fatalf("bokafor's account %v is not listed as being deleted", r)
		}
	}

	fyne.DoAndWait(func() { search.SetText("emma") })
	eventually(t, "the search among the deleted techs", func() bool { return slices.Equal(usernames(), []string{"eschulz"}) })
	fyne.DoAndWait(func() { search.SetText(""); check.SetChecked(false) })
	eventually(t, "the tech list back", func() bool { return slices.Contains(usernames(), "amoreau") })
	if slices.Contains(usernames(), "bokafor") || status.Disabled() {
		t.Fatal("a deleted tech in the tech list, or the status filter still off")
	}
}

// cells reads every row of a table as its cells say it, scrolled or not.
func cells(tbl *widget.Table) [][]string {
	var out [][]string
	fyne.DoAndWait(func() {
		rows, cols := tbl.Length()
		for r := range rows {
			var row []string
			for c := range cols {
				o := tbl.CreateCell()
				tbl.UpdateCell(widget.TableCellID{Row: r, Col: c}, o)
				row = append(row, o.(*readable.Label).Text.Text)
			}
			out = append(out, row)
		}
	})
	return out
}

// visibleTables lists the shown tables under root, in layout order.
func visibleTables(root fyne.CanvasObject) []*widget.Table {
	var out []*widget.Table
	anyVisible(root, func(o fyne.CanvasObject) bool {
		if t, ok := o.(*widget.Table); ok {
			out = append(out, t)
		}
		return false
	})
	return out
}

// showing says whether a shown label's text passes ok (a hidden container hides all it holds).
func showing(root fyne.CanvasObject, ok func(string) bool) bool {
	return anyVisible(root, func(o fyne.CanvasObject) bool {
		l, isLabel := o.(*widget.Label)
		return isLabel && ok(l.Text)
	})
}

func has(sub string) func(string) bool {
	return func(s string) bool { return strings.Contains(s, sub) }
}
