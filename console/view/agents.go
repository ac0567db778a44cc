package view

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// agentsScreen lists enrolled agents with their health (offline ones marked and explained above the list) and their
// receipt of the signed authority, approves or rejects the pending ones, retires and restores agents, rotates on
// demand and creates enrollment commands.
func agentsScreen(e env) screen {
	var rows []wire.Agent
	var sel int64
	table := newTable([]column{{"Name", 150}, {"Driver", 60}, {"Status", 120}, {"Last seen", 110}, {"Accounts", 75}, {"Signed authority", 170}, {"Errors", 260}},
		func() int { return len(rows) },
		func(r, c int) string {
			s := e.a.Snapshot()
			a := rows[r]
			now := e.a.Now()
			return [...]string{a.Name, a.Driver, vm.AgentStatusText(a, now), ago(now, a.LastSeen), strconv.Itoa(len(s.Accounts[a.ID])),
				s.Receipt(a).Text, joinOrDash(s.AgentErrors(a.ID))}[c]
		}, nil)
	accounts := widget.NewSelect(nil, nil)
	accounts.PlaceHolder = "All accounts of the agent"
	rotate := widget.NewButtonWithIcon("Rotate now", theme.ViewRefreshIcon(), func() {
		a := e.a.Snapshot().Agent(sel)
		if a == nil {
			dialog.ShowInformation("Rotate now", "Select an agent first.", e.win)
			return
		}
		var account int64
		if i := accounts.SelectedIndex(); i >= 0 && i < len(e.a.Snapshot().Accounts[sel]) {
			account = e.a.Snapshot().Accounts[sel][i].ID
		}
		e.run(func(ctx context.Context) error { _, err := e.a.RotateAgent(ctx, a.ID, account); return err }, nil)
	})
	e.only(vm.Me.CanChange, rotate)
	// Retire an active agent (its accounts stay on the target: the confirmation says so), restore a retired one.
	retire := widget.NewButtonWithIcon("Retire…", theme.DeleteIcon(), nil)
	retire.Importance = widget.DangerImportance
	restore := widget.NewButtonWithIcon("Restore", theme.ContentUndoIcon(), nil)
	e.only(vm.Me.CanChange, retire, restore)
	showLife := func() {
		a := e.a.Snapshot().Agent(sel)
		setEnabled(retire, a != nil && a.Status == wire.AgentActive)
		setEnabled(restore, a != nil && a.Status == wire.AgentDisabled)
	}
	retire.OnTapped = func() {
		a := e.a.Snapshot().Agent(sel)
		if a == nil || a.Status != wire.AgentActive {
			return
		}
		d := dialog.NewCustomConfirm("Retire agent "+a.Name+"?", "Retire", "Cancel", paragraph(e.a.Snapshot().RetireText(a.ID)), func(ok bool) {
			if ok {
				e.run(func(ctx context.Context) error { return e.a.RetireAgent(ctx, a.ID) }, showLife)
			}
		}, e.win)
		d.Resize(fyne.NewSize(560, 320))
		d.Show()
	}
	restore.OnTapped = func() {
		if a := e.a.Snapshot().Agent(sel); a != nil && a.Status == wire.AgentDisabled {
			e.run(func(ctx context.Context) error { return e.a.RestoreAgent(ctx, a.ID) }, showLife)
		}
	}

	// A pending agent: its key fingerprint, to compare with the one its enroll printed, and Approve…/Reject…. The two
	// lines keep their place whatever is selected, so nothing below moves.
	pendingInfo := widget.NewLabel("")
	pendingInfo.Truncation = fyne.TextTruncateEllipsis
	pendingFP := widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
	approveAgent := widget.NewButtonWithIcon("Approve…", theme.ConfirmIcon(), nil)
	approveAgent.Importance = widget.HighImportance
	rejectAgent := widget.NewButtonWithIcon("Reject…", theme.CancelIcon(), nil)
	e.only(vm.Me.CanChange, approveAgent, rejectAgent)
	showPending := func() {
		a := e.a.Snapshot().Agent(sel)
		if a == nil || a.Status != wire.AgentPending {
			pendingInfo.SetText("No agent waits for approval.")
			if n := len(e.a.PendingAgents()); n > 0 {
				pendingInfo.SetText(fmt.Sprintf("%d agent(s) wait for approval: select one to see its key fingerprint.", n))
			}
			pendingFP.SetText("")
			approveAgent.Disable()
			rejectAgent.Disable()
			return
		}
		pendingInfo.SetText(fmt.Sprintf("%s waits for approval (no plan, no tech until then). Its key fingerprint:", a.Name))
		if fp, err := seal.ParseFingerprint(a.Fingerprint); err == nil {
			l := fp.Lines()
			pendingFP.SetText(l[0] + "  " + l[1] + "  " + l[2] + "  " + l[3])
		} else {
			pendingFP.SetText(a.Fingerprint)
		}
		approveAgent.Enable()
		rejectAgent.Enable()
	}
	pendingBox := container.NewVBox(container.NewBorder(nil, nil, nil, container.NewHBox(approveAgent, rejectAgent), pendingInfo), pendingFP)
	approveAgent.OnTapped = func() {
		a := e.a.Snapshot().Agent(sel)
		if a == nil || a.Status != wire.AgentPending {
			return
		}
		msg := paragraph(vm.AgentApprovalText(*a))
		d := dialog.NewCustomConfirm("Approve agent "+a.Name+"?", "Fingerprint matches: approve", "Cancel",
			container.NewVBox(msg, monospace(fingerprintLines(a.Fingerprint))), func(ok bool) {
				if ok {
					e.run(func(ctx context.Context) error { return e.a.ApproveAgent(ctx, a.ID) }, showPending)
				}
			}, e.win)
		d.Resize(fyne.NewSize(560, 340))
		d.Show()
	}
	rejectAgent.OnTapped = func() {
		a := e.a.Snapshot().Agent(sel)
		if a == nil || a.Status != wire.AgentPending {
			return
		}
		dialog.ShowConfirm("Reject agent "+a.Name+"?", "The agent is refused for good: it never gets a plan. If this was a mistake, "+
			"enroll it again with a new token.", func(ok bool) {
			if ok {
				e.run(func(ctx context.Context) error { return e.a.RejectAgent(ctx, a.ID) }, showPending)
			}
		}, e.win)
	}

	table.OnSelected = func(id widget.TableCellID) {
		if id.Row >= len(rows) {
			return
		}
		sel = rows[id.Row].ID
		showPending()
		showLife()
		accounts.ClearSelected()
		accounts.Options = nil
		s := e.a.Snapshot()
		for _, acc := range s.Accounts[sel] {
			who := fmt.Sprint(acc.TechID)
			if t := s.Tech(acc.TechID); t != nil {
				who = t.Username
			}
			accounts.Options = append(accounts.Options, fmt.Sprintf("%s (%s, %s)", acc.Name, who, acc.State))
		}
		accounts.Refresh()
	}

	name := widget.NewEntry()
	name.SetPlaceHolder("Domain or host name, e.g. litware.local")
	entra := newEntraForm()
	var relayout func() // the screen makes room for the entra settings, or takes it back
	driver := widget.NewSelect(vm.EnrollDrivers, func(d string) {
		if d == wire.DriverEntra {
			entra.box.Show()
		} else {
			entra.box.Hide()
		}
		if relayout != nil {
			relayout()
		}
	})
	driver.SetSelected(wire.DriverAD)
	approveOnUse := widget.NewCheck("Approve on use", nil)
	cmd := widget.NewMultiLineEntry()
	cmd.Wrapping = fyne.TextWrapWord // the placeholder breaks between words; a long token still breaks where it must
	cmd.TextStyle = fyne.TextStyle{Monospace: true}
	cmd.SetPlaceHolder("The enroll command appears here: run it on the agent's machine, adding the target's settings (watchword-agent help enroll); it asks for the token. The new agent waits for your approval unless \"Approve on use\" was ticked.")
	cmd.SetMinRowsVisible(3)
	token := widget.NewEntry()
	token.TextStyle = fyne.TextStyle{Monospace: true}
	token.SetPlaceHolder("Single-use, for one day: paste it when the command asks")
	copyBtn := widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), func() {
		fyne.CurrentApp().Clipboard().SetContent(cmd.Text)
	})
	copyToken := widget.NewButtonWithIcon("Copy token", theme.ContentCopyIcon(), func() {
		fyne.CurrentApp().Clipboard().SetContent(token.Text)
	})
	create := widget.NewButtonWithIcon("Create enrollment token", theme.ContentAddIcon(), func() {
		n, d, approve := strings.TrimSpace(name.Text), driver.Selected, approveOnUse.Checked
		var out *vm.Enrollment
		settings := entra.settings()
		e.run(func(ctx context.Context) (err error) {
			if d == wire.DriverEntra {
				out, err = e.a.NewEntraEnrollment(ctx, n, settings, 24*time.Hour, approve)
				return err
			}
			out, err = e.a.NewEnrollment(ctx, n, d, 24*time.Hour, approve)
			return err
		},
			func() {
				if out != nil {
					cmd.SetText(out.Command)
					token.SetText(out.Token)
				}
			})
	})
	e.only(vm.Me.CanChange, create, approveOnUse)
	create.Importance = widget.HighImportance
	enroll := container.NewVBox(
		heading("Enroll a new agent"),
		container.NewBorder(nil, nil, nil, container.NewHBox(driver, approveOnUse, create), name),
		entra.box,
		container.NewBorder(nil, nil, nil, copyBtn, cmd),
		container.NewBorder(nil, nil, widget.NewLabel("Token"), copyToken, token))
	ops := container.NewBorder(nil, nil, nil, container.NewHBox(rotate, retire, restore), accounts)
	// Agents that refuse the hub's plan (or report a head this Console did not verify) show above the list.
	alerts := notice(widget.DangerImportance)
	obj := container.NewBorder(alerts, container.NewVBox(pendingBox, ops, widget.NewSeparator(), enroll), nil, nil, table)
	relayout = func() {
		enroll.Refresh()
		obj.Refresh()
	}
	return screen{
		obj: obj,
		refresh: func() {
			rows = e.a.Snapshot().Agents
			lines := e.a.Snapshot().AuthorityAlerts()
			for _, g := range e.a.Snapshot().OfflineAgents(e.a.Now()) {
				lines = append(lines, "⚠ "+vm.OfflineText(g, e.a.Now()))
			}
			alerts.SetText(strings.Join(lines, "\n"))
			if alerts.Text == "" {
				alerts.Hide() // no room taken from the list when all is well
			} else {
				alerts.Show()
			}
			table.Refresh()
			showPending()
			showLife()
		},
	}
}

// entraForm asks for an Entra ID agent's settings (vm.EntraSettings) under the enrolment's name and driver, shown
// only while the picker says entra.
type entraForm struct {
	box                                         *fyne.Container
	tenant, client, cert, key, domain, location *widget.Entry
	verify, tap                                 *widget.Check
}

func newEntraForm() *entraForm {
	def := vm.DefaultEntraSettings()
	f := &entraForm{tenant: widget.NewEntry(), client: widget.NewEntry(), cert: widget.NewEntry(), key: widget.NewEntry(),
		domain: widget.NewEntry(), location: widget.NewEntry(),
		verify: widget.NewCheck("Verify passwords by a sign-in (off where the tenant blocks it)", nil),
		tap:    widget.NewCheck("Temporary Access Pass per JIT window (tenant requires MFA)", nil)}
	f.tenant.SetPlaceHolder("Directory (tenant) ID, a GUID")
	f.client.SetPlaceHolder("Application (client) ID of the app registration")
	f.cert.SetPlaceHolder("Certificate PEM file on the agent's machine")
	f.key.SetPlaceHolder("The private key's PEM file, if separate")
	f.domain.SetPlaceHolder("Verified domain, e.g. contoso.com")
	f.location.SetText(def.UsageLocation)
	f.verify.SetChecked(def.Verify)
	f.tap.SetChecked(def.IssueTAP)
	// Two columns of three: the agents' list above keeps its room.
	ids := widget.NewForm(widget.NewFormItem("Tenant ID", f.tenant), widget.NewFormItem("Client ID", f.client),
		widget.NewFormItem("UPN domain", f.domain))
	files := widget.NewForm(widget.NewFormItem("Certificate", f.cert), widget.NewFormItem("Key file", f.key),
		widget.NewFormItem("Usage location", f.location))
	f.box = container.NewVBox(container.NewGridWithColumns(2, ids, files), container.NewGridWithColumns(2, f.verify, f.tap))
	f.box.Hide()
	return f
}

func (f *entraForm) settings() vm.EntraSettings {
	return vm.EntraSettings{TenantID: f.tenant.Text, ClientID: f.client.Text, CertFile: f.cert.Text, KeyFile: f.key.Text,
		UPNDomain: f.domain.Text, UsageLocation: f.location.Text, Verify: f.verify.Checked, IssueTAP: f.tap.Checked}
}
