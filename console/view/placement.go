package view

import (
	"context"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/shared/wire"
)

// approveDialog asks to compare the fingerprint and to decide where the tech belongs: the organization they typed
// (the default), another recorded organization, or MSP staff. Being co-managed requires 2FA, so this is the
// admin's decision rather than the form's; the note under the choice says what each one means, and a co-managed
// placement the hub would refuse (vm.App.Override) asks for the override and confirms it again. The dialog opens
// with the suggestion and MSP staff, and gains the recorded organizations once the hub has listed them.
func approveDialog(e env, t wire.Tech) {
	places := e.a.Placements(t.ID, nil)
	if len(places) == 0 {
		return
	}
	labels := func() []string {
		out := make([]string, len(places))
		for i, p := range places {
			out[i] = p.Label
		}
		return out
	}
	note := paragraph("")
	// A co-managed placement while a triplet gives every tech every domain: the hub refuses it unless the admin
	// overrides, which this check (and a second confirmation) stands for.
	danger := notice(widget.DangerImportance)
	override := widget.NewCheck("Override: approve anyway, reaching every client's domains (written to the audit log)", nil)
	danger.Hide()
	override.Hide()
	choice := widget.NewSelect(labels(), nil)
	choice.OnChanged = func(string) {
		if i := choice.SelectedIndex(); i >= 0 && i < len(places) {
			note.SetText(e.a.PlacementNote(places[i]))
			if ids, warn := e.a.Override(t.ID, places[i]); len(ids) > 0 {
				danger.SetText(warn)
				danger.Show()
				override.Show()
			} else {
				danger.Hide()
				override.SetChecked(false)
				override.Hide()
			}
		}
	}
	choice.SetSelectedIndex(0)
	msg := widget.NewLabel(fmt.Sprintf("Ask %s to read out the fingerprint their TechClient shows.\nApprove only if every group matches:", t.DisplayName))
	form := widget.NewForm(widget.NewFormItem("Belongs to", choice))
	d := dialog.NewCustomConfirm("Approve "+t.Username+"?", "Fingerprint matches: approve", "Cancel",
		container.NewVBox(msg, monospace(fingerprintLines(t.Fingerprint)), form, note, danger, override), func(ok bool) {
			i := choice.SelectedIndex()
			if !ok || i < 0 || i >= len(places) {
				return
			}
			place := places[i].Req
			approve := func() {
				e.run(func(ctx context.Context) error { return e.a.ApproveAs(ctx, t.ID, place) }, func() { approvalProblems(e, t.ID) })
			}
			ids, warn := e.a.Override(t.ID, places[i])
			switch {
			case len(ids) == 0:
				approve()
			case !override.Checked:
				dialog.ShowInformation("Not approved", t.Username+" is still pending.\n\n"+warn, e.win)
			default:
				place.OverrideTriplets = ids
				c := dialog.NewConfirm("Override and approve "+t.Username+"?", warn, func(yes bool) {
					if yes {
						approve()
					}
				}, e.win)
				c.SetConfirmText("Override and approve")
				c.SetConfirmImportance(widget.DangerImportance)
				c.Resize(fyne.NewSize(560, 300))
				c.Show()
			}
		}, e.win)
	d.Resize(fyne.NewSize(640, 460))
	d.Show()
	var recorded []string
	e.run(func(ctx context.Context) (err error) { recorded, err = e.a.RecordedOrganizations(ctx); return err }, func() {
		sel := places[max(choice.SelectedIndex(), 0)].Req
		places = e.a.Placements(t.ID, recorded)
		choice.SetOptions(labels())
		for i, p := range places {
			if p.Req.Organization == sel.Organization && p.Req.MSPStaff == sel.MSPStaff {
				choice.SetSelectedIndex(i)
			}
		}
	})
}

// approvalProblems says, right after an approval, what of the tech's access cannot become an account.
func approvalProblems(e env, id int64) {
	t := e.a.Snapshot().Tech(id)
	if t == nil || len(t.Problems) == 0 {
		return
	}
	msg := widget.NewLabel(fmt.Sprintf("%s is approved, but gets no account on some domains or hosts:\n\n%s\n\n"+
		"Fix it with a shorter username, another naming format or other rights; the Techs screen keeps showing it until then.",
		t.Username, "⚠ "+strings.Join(t.Problems, "\n⚠ ")))
	msg.Wrapping = fyne.TextWrapWord
	d := dialog.NewCustom("Approved "+t.Username+", with problems", "OK", msg, e.win)
	d.Resize(fyne.NewSize(640, 320))
	d.Show()
}
