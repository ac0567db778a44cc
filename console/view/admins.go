package view

import (
	"context"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/shared/wire"
)

// adminsScreen lists console admins and API identities with their role; the owner invites either (an API identity
// with an expiry and the addresses it may call from), approves after comparing fingerprints, changes roles and
// removes (revokes an API identity).
func adminsScreen(e env) screen {
	var state vm.Orgs
	sel := -1
	table := newTable([]column{{"Name", 160}, {"Role", 150}, {"Organization", 130}, {"Status", 80}, {"Since", 130}, {"Fingerprint", 200}},
		func() int { return len(state.Admins) },
		func(r, c int) string {
			a := state.Admins[r]
			return [...]string{a.Name, vm.RoleTitle(a.Role), orDash(a.Organization), string(a.Status), when(a.CreatedAt), shortFingerprint(a.Fingerprint)}[c]
		}, nil)
	detail := heading("")
	fp := monospace("") // the whole fingerprint: the table shows its first groups
	why := notice(widget.WarningImportance)
	why.Hide()
	var approve, setRole, remove *widget.Button
	// The buttons follow what the hub allows (vm.AdminActions): the sole owner is neither removed nor demoted.
	showSel := func() {
		if sel < 0 || sel >= len(state.Admins) {
			detail.SetText("Select an admin.")
			fp.SetText("")
			approve.Disable()
			setRole.Disable()
			remove.Disable()
			showIf(why, false)
			return
		}
		a := state.Admins[sel]
		text := fmt.Sprintf("%s: %s, %s", a.Name, vm.RoleTitle(a.Role), a.Status)
		if line := vm.APIIdentityLine(a, e.a.Now()); line != "" {
			text += " · " + line
		}
		detail.SetText(text)
		fp.SetText(fingerprintLines(a.Fingerprint))
		ok, role, rm, text := vm.AdminActions(state.Admins, a.ID)
		setEnabled(approve, ok)
		setEnabled(setRole, role)
		setEnabled(remove, rm)
		why.SetText(text)
		showIf(why, text != "")
	}
	table.OnSelected = func(id widget.TableCellID) { sel = id.Row; showSel() }
	var titles []string
	for _, r := range vm.Roles {
		titles = append(titles, vm.RoleTitle(r))
	}
	role := widget.NewSelect(titles, nil)
	role.SetSelected(vm.RoleTitle(wire.RoleAdmin))
	org := widget.NewSelect(nil, nil)
	org.PlaceHolder = "Organization (Co-managed Manager)"
	api := widget.NewCheck("API identity (for a script)", nil)
	expires := widget.NewEntry()
	expires.SetPlaceHolder("Expires YYYY-MM-DD (empty: never)")
	sources := widget.NewEntry()
	sources.SetPlaceHolder("From CIDRs, e.g. 10.0.0.0/8 (empty: any)")
	token := widget.NewEntry()
	token.SetPlaceHolder("The single-use invite appears here: the new admin claims it from their Console, then you approve them.")
	selected := func() *wire.Admin {
		if sel < 0 || sel >= len(state.Admins) {
			dialog.ShowInformation("Admins", "Select an admin first.", e.win)
			return nil
		}
		return &state.Admins[sel]
	}
	invite := widget.NewButtonWithIcon("Invite", theme.MailSendIcon(), func() {
		r := vm.RoleByTitle(role.Selected)
		o := ""
		if r == wire.RoleCoManager {
			o = org.Selected
		}
		var tok *wire.TokenResponse
		if api.Checked {
			// The script's machine makes its own key: watchword init --hub … --token-file - --name …
			exp, srcs, err := vm.ParseAPILimits(expires.Text, sources.Text)
			if err != nil {
				dialog.ShowError(err, e.win)
				return
			}
			e.run(func(ctx context.Context) (err error) {
				tok, err = e.a.InviteAPIIdentity(ctx, r, o, exp, srcs)
				return err
			},
				func() { token.SetText(tok.Token) })
			return
		}
		e.run(func(ctx context.Context) (err error) { tok, err = e.a.InviteAdmin(ctx, r, o); return err }, func() { token.SetText(tok.Token) })
	})
	approve = widget.NewButtonWithIcon("Approve…", theme.ConfirmIcon(), func() {
		a := selected()
		if a == nil {
			return
		}
		dialog.ShowCustomConfirm("Approve "+a.Name+" as "+vm.RoleTitle(a.Role)+"?", "Fingerprint matches: approve", "Cancel",
			container.NewVBox(widget.NewLabel("Approve only if every group matches the fingerprint their Console shows:"), monospace(fingerprintLines(a.Fingerprint))),
			func(ok bool) {
				if ok {
					e.run(func(ctx context.Context) error { return e.a.ApproveAdmin(ctx, a.ID) }, nil)
				}
			}, e.win)
	})
	setRole = widget.NewButton("Set role", func() {
		a := selected()
		if a == nil {
			return
		}
		r := vm.RoleByTitle(role.Selected)
		o := ""
		if r == wire.RoleCoManager {
			o = org.Selected
		}
		e.run(func(ctx context.Context) error { return e.a.SetAdminRole(ctx, a.ID, r, o) }, nil)
	})
	remove = widget.NewButtonWithIcon("Remove…", theme.DeleteIcon(), func() {
		a := selected()
		if a == nil {
			return
		}
		title, msg := "Remove "+a.Name+"?", "Their key stops working at once. The last owner cannot be removed."
		if a.API {
			title, msg = "Revoke the API identity "+a.Name+"?", "The script's key stops working at once; its audit events keep its name."
		}
		dialog.ShowConfirm(title, msg, func(ok bool) {
			if ok {
				e.run(func(ctx context.Context) error { return e.a.RemoveAdmin(ctx, a.ID) }, nil)
			}
		}, e.win)
	})
	e.only(vm.Me.IsOwner, invite, approve, setRole, remove, role, org, token, api, expires, sources)
	var help fyne.CanvasObject = paragraph("Owner: everything, including admins. Administrator: everything else. Auditor: reads the audit log and effective access, changes nothing. " +
		"Co-managed Manager: approves, deactivates and unlocks only their organization's techs and sees only its domains.")
	authority := notice(widget.WarningImportance)
	authority.Hide()
	help = container.NewVBox(help, authority)
	refresh := orgsLoader(e, func(o *vm.Orgs) {
		state = *o
		org.Options = nil
		for _, x := range state.Orgs {
			org.Options = append(org.Options, x.Name)
		}
		org.Refresh()
		table.Refresh()
		if (sel < 0 || sel >= len(state.Admins)) && len(state.Admins) > 0 {
			sel = 0
		}
		showSel()
		// While the signed authority is on, say whose approvals it trusts.
		signed := vm.AdminNotSigned
		if !e.a.Snapshot().Authority.On() {
			signed = ""
		}
		authority.SetText(signed)
		showIf(authority, signed != "")
	})
	bottom := container.NewVBox(widget.NewSeparator(), detail, fp, why, container.NewHBox(approve, setRole, remove),
		container.NewHBox(widget.NewLabel("Role"), container.NewGridWrap(fyne.NewSize(200, role.MinSize().Height), role), org, invite),
		container.NewHBox(api, container.NewGridWrap(fyne.NewSize(260, expires.MinSize().Height), expires),
			container.NewGridWrap(fyne.NewSize(300, sources.MinSize().Height), sources)), token)
	return screen{obj: container.NewBorder(help, bottom, nil, nil, table), refresh: refresh}
}
