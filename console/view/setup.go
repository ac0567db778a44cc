package view

import (
	"context"
	"os"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/console/local"
	"github.com/watchword/watchword/console/session"
	"github.com/watchword/watchword/shared/seal"
)

// showSetup is the first start: create a local hub, or connect to one elsewhere.
func showSetup(e env, s *session.Session) {
	dir, _ := s.Dir() // Open found it
	host, _ := os.Hostname()
	name, abbrev := widget.NewEntry(), widget.NewEntry()
	name.SetPlaceHolder("Your MSP's name")
	abbrev.SetPlaceHolder("e.g. nw (in account names)")
	listen, public := widget.NewEntry(), widget.NewEntry()
	listen.SetText("0.0.0.0:8443")
	public.SetText("https://" + host + ":8443")
	invite, token, admin := widget.NewEntry(), widget.NewPasswordEntry(), widget.NewEntry()
	invite.SetPlaceHolder("watchword-invite:… from watchword-hub init")
	admin.SetText("Owner")

	var d dialog.Dialog
	create := widget.NewButton("Create local hub", func() {
		spec := local.LocalSpec{Tenant: name.Text, Abbrev: abbrev.Text, Listen: listen.Text, PublicURL: public.Text}
		var rec *seal.Identity
		e.run(func(ctx context.Context) (err error) { rec, err = s.CreateLocal(ctx, spec); return err }, func() {
			d.Hide()
			showRecovery(e, spec.Tenant, rec, newRecoveryClip(e.win, s.Close))
		})
	})
	create.Importance = widget.HighImportance
	join := widget.NewButton("Connect", func() {
		inv, tok, who := invite.Text, token.Text, admin.Text
		e.run(func(ctx context.Context) error { return s.Join(ctx, inv, tok, who) }, d.Hide)
	})
	tabs := container.NewAppTabs(
		container.NewTabItem("Create a local hub", container.NewVBox(
			widget.NewLabel("For a single admin: the hub runs inside this Console (SQLite in "+dir+")."),
			widget.NewForm(widget.NewFormItem("MSP name", name), widget.NewFormItem("Abbreviation", abbrev),
				widget.NewFormItem("Listen on", listen), widget.NewFormItem("TechClients reach it at", public)),
			keepRunningForm(e, s), create)),
		container.NewTabItem("Connect to a hub", container.NewVBox(
			widget.NewLabel("For a hub run as a service: paste its invite and the owner claim token."),
			widget.NewForm(widget.NewFormItem("Invite", invite), widget.NewFormItem("Claim token", token), widget.NewFormItem("Your name", admin)), join)),
	)
	d = dialog.NewCustomWithoutButtons("Set up the Watchword Console", tabs, e.win)
	d.Resize(fyne.NewSize(680, 520))
	d.Show()
}
