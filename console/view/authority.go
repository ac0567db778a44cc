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

// authorityScreen shows the tenant's signed authority as this Console verified it: the head's sequence number and
// fingerprint for two admins to compare, the genesis hash agents and other Consoles pin, the alerts (a hub that
// serves an older or another head, agents that refuse the hub's plan), each agent's receipt, and the agents the
// signed state has not enrolled. The owner turns it on here; another admin pastes the genesis hash to verify.
func authorityScreen(e env) screen {
	state := heading("")
	head := monospace("")
	genesis := widget.NewEntry()
	genesis.TextStyle = fyne.TextStyle{Monospace: true}
	genesis.Disable()
	copyGenesis := widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), func() {
		fyne.CurrentApp().Clipboard().SetContent(genesis.Text)
	})
	alerts := notice(widget.DangerImportance)
	about := paragraph("")

	turnOn := widget.NewButtonWithIcon("Turn on the signed authority…", theme.ConfirmIcon(), nil)
	turnOn.Importance = widget.HighImportance
	e.only(vm.Me.IsOwner, turnOn) // and shown only while the authority is off (refresh)
	turnOn.OnTapped = func() {
		var g *vm.Genesis
		e.run(func(ctx context.Context) (err error) { g, err = e.a.PrepareAuthority(ctx); return err }, func() {
			body := container.NewVBox(paragraph(vm.GenesisTrustNote), heading("It signs"), paragraph(g.Covers.Summary()),
				heading("Genesis fingerprint"), monospace(vm.Fingerprint(g.Hash)))
			d := dialog.NewCustomConfirm("Turn on the signed authority?", "Sign and publish", "Cancel", body, func(ok bool) {
				if ok {
					e.run(func(ctx context.Context) error { return e.a.TurnOnAuthority(ctx, g) }, nil)
				}
			}, e.win)
			d.Resize(fyne.NewSize(620, 420))
			d.Show()
		})
	}

	pasted := widget.NewEntry()
	pasted.TextStyle = fyne.TextStyle{Monospace: true}
	pasted.SetPlaceHolder("Genesis hash from the owner's Console (64 hex digits)")
	pin := widget.NewButtonWithIcon("Pin and verify", theme.ConfirmIcon(), func() {
		h := pasted.Text
		e.run(func(ctx context.Context) error { return e.a.PinAuthority(ctx, h) }, func() { pasted.SetText("") })
	})
	pinBox := container.NewBorder(nil, nil, nil, pin, pasted)

	var receipts []wire.Agent
	table := newTable([]column{{"Agent", 200}, {"Driver", 70}, {"Status", 80}, {"Receipt of the signed authority", 520}},
		func() int { return len(receipts) },
		func(r, c int) string {
			ag := receipts[r]
			return [...]string{ag.Name, ag.Driver, string(ag.Status), e.a.Snapshot().Receipt(ag).Text}[c]
		}, nil)

	unsigned := widget.NewSelect(nil, nil)
	unsigned.PlaceHolder = "Active agents the signed authority has not enrolled"
	var unsignedAgents []wire.Agent
	signAgent := widget.NewButtonWithIcon("Sign enrolment…", theme.ConfirmIcon(), func() {
		i := unsigned.SelectedIndex()
		if i < 0 || i >= len(unsignedAgents) {
			return
		}
		ag := unsignedAgents[i]
		d := dialog.NewCustomConfirm("Sign the enrolment of "+ag.Name+"?", "Fingerprint matches: sign", "Cancel",
			container.NewVBox(paragraph("Compare this key fingerprint with the one watchword-agent enroll printed on "+ag.Name+
				"'s machine. Once signed, the agent acts on the plans the signed authority allows."), monospace(fingerprintLines(ag.Fingerprint))),
			func(ok bool) {
				if ok {
					e.run(func(ctx context.Context) error { return e.a.SignAgent(ctx, ag.ID) }, nil)
				}
			}, e.win)
		d.Resize(fyne.NewSize(560, 320))
		d.Show()
	})
	e.only(vm.Me.CanChange, signAgent)
	unsignedBox := container.NewBorder(nil, nil, nil, signAgent, unsigned)

	genesisBox := container.NewBorder(nil, nil, widget.NewLabel("Genesis"), copyGenesis, genesis)
	turnOnBox := container.NewHBox(turnOn)
	top := container.NewVBox(state, head, genesisBox, alerts, about, turnOnBox, pinBox, unsignedBox, heading("Agents"))
	return screen{
		obj: container.NewBorder(top, nil, nil, nil, table),
		refresh: func() {
			s := e.a.Snapshot()
			st := s.Authority
			receipts = s.Agents
			table.Refresh()
			var lines []string
			for _, a := range s.AuthorityAlerts() {
				lines = append(lines, "⚠ "+a)
			}
			alerts.SetText(strings.Join(lines, "\n"))
			showIf(alerts, len(lines) > 0)
			showIf(head, st.On())
			showIf(genesisBox, st.On())
			showIf(turnOnBox, !st.On() && st.HubHead == nil && st.Supported && s.Me.IsOwner())
			pinBox.Hide()
			unsignedBox.Hide()
			genesis.SetText("")
			head.SetText("")
			switch {
			case !st.Supported:
				state.SetText("This hub does not relay a signed authority (upgrade it).")
				about.SetText("")
			case st.On():
				state.SetText(fmt.Sprintf("On: update %d, head %s", st.Seq, vm.Fingerprint(st.Head)))
				head.SetText("Head " + st.Head.String())
				genesis.SetText(st.Genesis.String())
				about.SetText("Read the head's fingerprint to another admin: their Console shows the same one when the hub serves " +
					"you both the same history. Agents pin the genesis hash (the enrolment command carries it). " +
					"Approvals, agents, groups, rights, triplets, naming and admin changes made here are signed by this Console's key.")
				if un := s.UnsignedAgents(e.a.Chain().State()); len(un) > 0 {
					unsignedAgents = un
					var opts []string
					for _, ag := range un {
						opts = append(opts, ag.Name+" ("+ag.Driver+")")
					}
					unsigned.Options = opts
					unsigned.ClearSelected()
					unsignedBox.Show()
				}
			case st.HubHead != nil:
				state.SetText(fmt.Sprintf("The hub relays a signed authority (update %d) this Console does not verify yet.", st.HubHead.Seq))
				about.SetText("Ask the owner to read you the genesis hash their Console shows, and paste it here. The Console " +
					"never takes the genesis from the hub: a hub could hand out its own.")
				pinBox.Show()
			default:
				state.SetText("Off: the hub alone decides who may read a password.")
				about.SetText("Turning it on signs what the hub holds now with the owner's key; agents enrolled with --authority then " +
					"act only on what admins signed. " + vm.GenesisTrustNote)
			}
		},
	}
}

// showIf shows o when on, else hides it (and the space it takes).
func showIf(o fyne.CanvasObject, on bool) {
	if on {
		o.Show()
	} else {
		o.Hide()
	}
}
