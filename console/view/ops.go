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

// agentsScreen lists enrolled agents with their health, approves or rejects the pending ones, rotates on demand
// and creates enrollment commands.
func agentsScreen(e env) screen {
	var rows []wire.Agent
	var sel int64
	table := newTable([]column{{"Name", 150}, {"Driver", 60}, {"Status", 80}, {"Last seen", 110}, {"Accounts", 75}, {"Errors", 370}},
		func() int { return len(rows) },
		func(r, c int) string {
			s := e.a.Snapshot()
			a := rows[r]
			return [...]string{a.Name, a.Driver, string(a.Status), ago(a.LastSeen), strconv.Itoa(len(s.Accounts[a.ID])), joinOrDash(s.AgentErrors(a.ID))}[c]
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
		msg := widget.NewLabel(vm.AgentApprovalText(*a))
		msg.Wrapping = fyne.TextWrapWord
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
	driver := widget.NewSelect([]string{wire.DriverAD, wire.DriverLinux, wire.DriverLDAP}, nil)
	driver.SetSelected(wire.DriverAD)
	approveOnUse := widget.NewCheck("Approve on use", nil)
	cmd := widget.NewMultiLineEntry()
	cmd.Wrapping = fyne.TextWrapBreak
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
		e.run(func(ctx context.Context) (err error) {
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
		widget.NewLabelWithStyle("Enroll a new agent", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		container.NewBorder(nil, nil, nil, container.NewHBox(driver, approveOnUse, create), name),
		container.NewBorder(nil, nil, nil, copyBtn, cmd),
		container.NewBorder(nil, nil, widget.NewLabel("Token"), copyToken, token))
	ops := container.NewBorder(nil, nil, nil, rotate, accounts)
	return screen{
		obj: container.NewBorder(nil, container.NewVBox(pendingBox, ops, widget.NewSeparator(), enroll), nil, nil, table),
		refresh: func() {
			rows = e.a.Snapshot().Agents
			table.Refresh()
			showPending()
		},
	}
}

// onboardingScreen is seed 003's co-managed onboarding in one step: pick, preview, apply atomically.
func onboardingScreen(e env) screen {
	var o vm.Onboarding
	org := widget.NewSelect(nil, nil)
	org.PlaceHolder = "Client organization"
	cmName, mspName, dgName := widget.NewEntry(), widget.NewEntry(), widget.NewEntry()
	cm := newChecklist("Search co-managed techs")
	msp := newChecklist("Search MSP techs")
	doms := newChecklist("Search domains")
	preview := monospace("")
	apply := widget.NewButtonWithIcon("Apply atomically…", theme.ConfirmIcon(), nil)
	apply.Importance = widget.HighImportance
	e.only(vm.Me.CanChange, apply)

	loading := false
	update := func() {
		if loading {
			return
		}
		if o.Organization == "" {
			preview.SetText("Pick the client organization whose own IT staff should reach only their domains.")
			apply.Disable()
			return
		}
		o.CoManagedGroup, o.MSPGroup, o.DomainGroup = cmName.Text, mspName.Text, dgName.Text
		o.CoManagedTechs, o.MSPTechs, o.Domains = cm.ids(), msp.ids(), doms.ids()
		p := e.a.Preview(o)
		var b strings.Builder
		for _, pr := range p.Problems {
			fmt.Fprintf(&b, "! %s\n", pr)
		}
		if len(p.Problems) > 0 {
			b.WriteString("\n")
		}
		b.WriteString("In one transaction at the hub, all or nothing:\n")
		for i, s := range p.Steps {
			fmt.Fprintf(&b, "%2d. %s\n", i+1, s)
		}
		fmt.Fprintf(&b, "\nEffective access changes (%d):\n", len(p.Changes))
		for i, c := range p.Changes {
			if i == 40 {
				fmt.Fprintf(&b, "  … and %d more\n", len(p.Changes)-40)
				break
			}
			fmt.Fprintf(&b, "  %s\n", c)
		}
		preview.SetText(b.String())
		setEnabled(apply, len(p.Problems) == 0)
	}
	load := func(name string) {
		o = e.a.NewOnboarding(name)
		s := e.a.Snapshot()
		var cmItems, mspItems, domItems []item
		for _, t := range s.Techs {
			label := fmt.Sprintf("%s — %s (%s)", t.Username, t.DisplayName, t.Status)
			switch {
			case t.Status != wire.TechPending && t.Status != wire.TechActive:
			case t.Organization == "":
				mspItems = append(mspItems, item{t.ID, label})
			case strings.EqualFold(t.Organization, name):
				cmItems = append(cmItems, item{t.ID, label})
			}
		}
		for _, a := range s.Agents {
			domItems = append(domItems, item{a.ID, fmt.Sprintf("%s (%s)", a.Name, a.Driver)})
		}
		loading = true
		cm.set(cmItems, o.CoManagedTechs)
		msp.set(mspItems, o.MSPTechs)
		doms.set(domItems, o.Domains)
		cmName.SetText(o.CoManagedGroup)
		mspName.SetText(o.MSPGroup)
		dgName.SetText(o.DomainGroup)
		loading = false
		update()
	}
	org.OnChanged = load
	for _, c := range []*checklist{cm, msp, doms} {
		c.onChange = update
	}
	for _, en := range []*widget.Entry{cmName, mspName, dgName} {
		en.OnChanged = func(string) { update() }
	}
	apply.OnTapped = func() {
		plan := o
		dialog.ShowConfirm("Apply co-managed onboarding", fmt.Sprintf("Apply the %d steps for %s? The hub applies all of them or none; the co-managed techs are activated last.",
			len(e.a.Preview(plan).Steps), plan.Organization), func(ok bool) {
			if ok {
				e.run(func(ctx context.Context) error { _, err := e.a.ApplyOnboarding(ctx, plan); return err },
					func() {
						dialog.ShowInformation("Onboarding applied", plan.Organization+" is onboarded. New MSP techs you approve join "+plan.MSPGroup+"; new domains still join AllDomains.", e.win)
					})
			}
		}, e.win)
	}
	column := func(title string, entry *widget.Entry, c *checklist) fyne.CanvasObject {
		return container.NewBorder(container.NewVBox(widget.NewLabelWithStyle(title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), entry), nil, nil, nil, c.obj)
	}
	picks := container.NewGridWithColumns(3,
		column("Co-managed techs → TechGroup", cmName, cm),
		column("MSP techs → TechGroup", mspName, msp),
		column("Client domains → AgentGroup", dgName, doms))
	bottom := container.NewBorder(nil, apply, nil, nil, container.NewVScroll(preview))
	split := container.NewVSplit(picks, bottom)
	split.Offset = 0.45
	return screen{
		obj: container.NewBorder(org, nil, nil, nil, split),
		refresh: func() {
			org.Options = e.a.Snapshot().Organizations()
			org.Refresh()
			if o.Organization == "" {
				// Open on the first organization not onboarded yet.
				for _, name := range org.Options {
					if e.a.Snapshot().Group(false, byName(e.a.Snapshot().TechGroups, name+" co-managed techs")) == nil {
						org.SetSelected(name)
						return
					}
				}
			}
			update()
		},
	}
}

// policyScreen edits the rotation, rotate-after-use, history and naming policy with a live preview of account
// names per driver.
func policyScreen(e env) screen {
	interval := widget.NewEntry()
	length, digits, symbols := widget.NewEntry(), widget.NewEntry(), widget.NewEntry()
	noUpper := widget.NewCheck("No upper-case letters", nil)
	noAmb := widget.NewCheck("Avoid look-alike characters (l 1 O 0)", nil)
	format := widget.NewEntry()
	afterUse := widget.NewEntry()
	history := widget.NewEntry()
	var checks []vm.NameCheck
	formatErr := widget.NewLabel("")
	table := newTable([]column{{"Target", 130}, {"Username", 110}, {"Account name", 200}, {"Check", 380}},
		func() int { return len(checks) },
		func(r, c int) string {
			k := checks[r]
			ok := "ok"
			if k.Problem != "" {
				ok = "✗ " + k.Problem
			}
			return [...]string{k.Driver, k.Username, k.Name, ok}[c]
		}, nil)
	summary := widget.NewLabel("")
	summary.Wrapping = fyne.TextWrapWord
	preview := func() {
		var err error
		checks, err = e.a.PreviewNames(format.Text)
		if err != nil {
			formatErr.SetText("✗ " + err.Error())
		} else {
			formatErr.SetText("Placeholders: {username}, {username:N} (first N characters), {abbrev} = " + e.a.Snapshot().Tenant.Abbrev)
		}
		table.Refresh()
	}
	format.OnChanged = func(string) { preview() }
	save := widget.NewButtonWithIcon("Save policy", theme.DocumentSaveIcon(), func() {
		f := vm.PolicyForm{IntervalHours: interval.Text, Length: length.Text, Digits: digits.Text, Symbols: symbols.Text,
			AfterUseHours: afterUse.Text, HistoryDepth: history.Text, NoUpper: noUpper.Checked, NoAmbiguous: noAmb.Checked,
			NamingFormat: format.Text}
		p, err := f.Policy()
		if err != nil {
			dialog.ShowError(err, e.win)
			return
		}
		if warning := e.a.NoFixedPartWarning(p.NamingFormat); warning != "" {
			msg := widget.NewLabel(warning)
			msg.Wrapping = fyne.TextWrapWord
			d := dialog.NewCustomConfirm("Naming format without a fixed part", "Save anyway", "Cancel", msg, func(ok bool) {
				if ok {
					e.run(func(ctx context.Context) error { return e.a.SavePolicyConfirmed(ctx, p) }, nil)
				}
			}, e.win)
			d.Resize(fyne.NewSize(640, 320))
			d.Show()
			return
		}
		e.run(func(ctx context.Context) error { return e.a.SavePolicy(ctx, p) }, nil)
	})
	e.only(vm.Me.CanChange, save)
	save.Importance = widget.HighImportance
	form := widget.NewForm(
		widget.NewFormItem("Rotate every (hours)", interval),
		widget.NewFormItem("Password length", length),
		widget.NewFormItem("At least digits", digits),
		widget.NewFormItem("At least symbols", symbols),
		widget.NewFormItem("", container.NewHBox(noUpper, noAmb)),
		widget.NewFormItem("Rotate after use (hours, 0 off)", afterUse),
		widget.NewFormItem("Password history (versions kept)", history),
		widget.NewFormItem("Account naming format", format),
	)
	form.Items[5].HintText = "A revealed or copied password rotates this long after use; an AgentGroup may override it."
	form.Items[6].HintText = "Techs can read back this many passwords of each account (1 to " + strconv.Itoa(wire.MaxHistoryDepth) + ", the current one included)."
	top := container.NewVBox(summary, form, formatErr)
	return screen{
		obj: container.NewBorder(top, save, nil, nil, table),
		refresh: func() {
			p := e.a.Snapshot().Tenant.Policy
			summary.SetText(vm.DescribePolicy(p))
			f := vm.FormOf(p)
			interval.SetText(f.IntervalHours)
			length.SetText(f.Length)
			digits.SetText(f.Digits)
			symbols.SetText(f.Symbols)
			afterUse.SetText(f.AfterUseHours)
			history.SetText(f.HistoryDepth)
			noUpper.SetChecked(f.NoUpper)
			noAmb.SetChecked(f.NoAmbiguous)
			format.SetText(f.NamingFormat)
			preview()
		},
	}
}

// auditScreen reads the audit log with filters and verifies the hash chain.
func auditScreen(e env) screen {
	var events []wire.AuditEvent
	f := vm.AuditFilter{}
	actor := widget.NewSelect([]string{"Any actor", "admin", "tech", "agent", "system"}, nil)
	actor.SetSelected("Any actor")
	tech := widget.NewSelect(nil, nil)
	tech.PlaceHolder = "Any tech"
	agent := widget.NewSelect(nil, nil)
	agent.PlaceHolder = "Any agent"
	action := widget.NewEntry()
	action.SetPlaceHolder("Action, e.g. tech. or triplet.delete")
	since, until := widget.NewEntry(), widget.NewEntry()
	since.SetPlaceHolder("From YYYY-MM-DD")
	until.SetPlaceHolder("To YYYY-MM-DD")
	verdict := widget.NewLabel("")
	table := newTable([]column{{"#", 45}, {"When", 130}, {"Actor", 140}, {"Action", 150}, {"Target", 140}, {"Detail", 420}},
		func() int { return len(events) },
		func(r, c int) string {
			ev := events[r]
			return [...]string{strconv.FormatInt(ev.Seq, 10), when(ev.At), e.a.Snapshot().Actor(ev), ev.Action, ev.Target, ev.Detail}[c]
		}, nil)
	load := func() {
		f.ActorKind = ""
		if actor.Selected != "Any actor" {
			f.ActorKind = actor.Selected
		}
		f.Action = strings.TrimSpace(action.Text)
		s := e.a.Snapshot()
		f.Tech, f.Agent = 0, 0
		if i := tech.SelectedIndex(); i > 0 && i-1 < len(s.Techs) {
			f.Tech = s.Techs[i-1].ID
		}
		if i := agent.SelectedIndex(); i > 0 && i-1 < len(s.Agents) {
			f.Agent = s.Agents[i-1].ID
		}
		var err error
		if f.Since, err = day(since.Text, 0); err == nil {
			f.Until, err = day(until.Text, 24*time.Hour)
		}
		if err != nil {
			dialog.ShowError(err, e.win)
			return
		}
		filter := f
		var out []wire.AuditEvent
		e.run(func(ctx context.Context) (err error) { out, err = e.a.Audit(ctx, filter); return err },
			func() { events = out; table.Refresh() })
	}
	apply := widget.NewButtonWithIcon("Filter", theme.SearchIcon(), load)
	verify := widget.NewButtonWithIcon("Verify hash chain", theme.ConfirmIcon(), func() {
		var ok bool
		var msg string
		e.run(func(ctx context.Context) (err error) { ok, msg, err = e.a.VerifyAudit(ctx); return err }, func() {
			verdict.SetText(msg)
			if !ok {
				dialog.ShowInformation("Audit chain broken", msg, e.win)
			}
		})
	})
	verify.Importance = widget.HighImportance
	actor.OnChanged = func(string) { load() }
	tech.OnChanged = func(string) { load() }
	agent.OnChanged = func(string) { load() }
	bar := container.NewVBox(
		container.NewGridWithColumns(3, actor, tech, agent),
		container.NewGridWithColumns(2, action, container.NewGridWithColumns(3, since, until, apply)),
		container.NewBorder(nil, nil, nil, verify, verdict))
	return screen{
		obj: container.NewBorder(bar, nil, nil, nil, table),
		refresh: func() {
			s := e.a.Snapshot()
			tech.Options = []string{"Any tech"}
			for _, t := range s.Techs {
				tech.Options = append(tech.Options, t.Username)
			}
			agent.Options = []string{"Any agent"}
			for _, a := range s.Agents {
				agent.Options = append(agent.Options, a.Name)
			}
			if e.a.Connected() {
				load()
			}
		},
	}
}

func day(s string, add time.Duration) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation("2006-01-02", s, time.Local)
	if err != nil {
		return time.Time{}, fmt.Errorf("date %q: write YYYY-MM-DD", s)
	}
	return t.Add(add), nil
}

// inviteScreen shows the invite string technicians paste into their TechClient.
func inviteScreen(e env) screen {
	inv := widget.NewEntry()
	inv.TextStyle = fyne.TextStyle{Monospace: true}
	inv.Wrapping = fyne.TextWrapBreak
	inv.MultiLine = true
	inv.SetMinRowsVisible(3)
	copyBtn := widget.NewButtonWithIcon("Copy invite", theme.ContentCopyIcon(), func() {
		fyne.CurrentApp().Clipboard().SetContent(inv.Text)
	})
	guide := widget.NewLabel("")
	guide.Wrapping = fyne.TextWrapWord
	qr := container.NewCenter()
	return screen{
		obj: container.NewVBox(inv, container.NewHBox(copyBtn), guide, qr),
		refresh: func() {
			i := e.a.Invite()
			s := e.a.Snapshot()
			inv.SetText(i.String())
			guide.SetText(fmt.Sprintf("Send this invite to each technician of %s. In the TechClient they paste it, choose the username you tell them "+
				"(co-managed client staff also give their organization), and register. They then show up under Pending techs: "+
				"approve them after they read out the fingerprint their TechClient shows.\n\nClient GUID: %s\nHub: %s\nHub key pin: %s",
				orDash(s.Tenant.Name), i.ClientGUID, i.HubURL, i.HubPin))
			qr.Objects = inviteQR(i.String())
			qr.Refresh()
		},
	}
}
