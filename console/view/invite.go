package view

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

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
	guide := paragraph("")
	qr := container.NewCenter()
	return screen{
		obj: container.NewVBox(inv, container.NewHBox(copyBtn), guide, qr),
		refresh: func() {
			i := e.a.TechInvite()
			s := e.a.Snapshot()
			inv.SetText(i.String())
			guide.SetText(fmt.Sprintf("Send this invite to each technician of %s. In the TechClient they paste it, choose the username you tell them "+
				"(co-managed client staff also give their organization), and register. They then show up under Pending techs: "+
				"approve them after they read out the fingerprint their TechClient shows.\n\nClient GUID: %s\nHub: %s\nHub fingerprint: %s",
				orDash(s.Tenant.Name), i.ClientGUID, strings.Join(i.URLs(), ", "), i.HubPin))
			qr.Objects = inviteQR(i.String())
			qr.Refresh()
		},
	}
}
