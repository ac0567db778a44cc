package view

import (
	"context"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/shared/wire"
)

// onboardingScreen is the co-managed onboarding of a client organization in one step: pick, preview, apply atomically.
// An organization onboarded before opens with its groups, and applying extends them (vm.Snapshot.OnboardedGroups).
func onboardingScreen(e env) screen {
	var o vm.Onboarding
	org := widget.NewSelect(nil, nil)
	org.PlaceHolder = "Client organization"
	cmName, mspName, dgName := widget.NewEntry(), widget.NewEntry(), widget.NewEntry()
	cm := newChecklist("Search co-managed techs")
	msp := newChecklist("Search MSP techs")
	doms := newChecklist("Search domains")
	preview := monospace("")
	state := paragraph("") // whether the organization was onboarded before, so this run extends it
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
			state.SetText("")
			apply.Disable()
			return
		}
		if cm, dg := e.a.Snapshot().OnboardedGroups(o.Organization); cm != nil {
			state.SetText(fmt.Sprintf("%s is onboarded (%s on %s). Running it again extends it: the techs you tick join %s, "+
				"the domains you tick join %s, and the pending ones are activated last.", o.Organization, cm.Name, dg.Name, cm.Name, dg.Name))
		} else {
			state.SetText("")
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
						dialog.ShowInformation("Onboarding applied", plan.Organization+" is onboarded. New MSP techs you approve join "+plan.MSPGroup+
							"; new domains still join AllDomains. To add co-managed techs later, run the onboarding of "+plan.Organization+" again.", e.win)
					})
			}
		}, e.win)
	}
	column := func(title string, entry *widget.Entry, c *checklist) fyne.CanvasObject {
		return container.NewBorder(container.NewVBox(heading(title), entry), nil, nil, nil, c.obj)
	}
	picks := container.NewGridWithColumns(3,
		column("Co-managed techs → TechGroup", cmName, cm),
		column("MSP techs → TechGroup", mspName, msp),
		column("Client domains → AgentGroup", dgName, doms))
	bottom := container.NewBorder(nil, apply, nil, nil, container.NewVScroll(preview))
	split := container.NewVSplit(picks, bottom)
	split.Offset = 0.45
	return screen{
		obj: container.NewBorder(container.NewVBox(org, state), nil, nil, nil, split),
		refresh: func() {
			org.Options = e.a.Snapshot().Organizations()
			org.Refresh()
			if o.Organization == "" {
				// Open on the first organization not onboarded yet.
				for _, name := range org.Options {
					if cm, _ := e.a.Snapshot().OnboardedGroups(name); cm == nil {
						org.SetSelected(name)
						return
					}
				}
			}
			update()
		},
	}
}
