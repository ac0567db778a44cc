package view

// The Console's own hub stops when the Console quits: TechClients wait, agents find no plan, rotations pause. While
// the admin keeps it running, closing the window hides it instead (the system tray brings it back or quits), the
// Console can start at login, or the hub runs as a service of the admin's user (local/service.go); the first
// start says so (setup.go) and the tray menu changes it later.

import (
	"errors"
	"os"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/console/local"
	"github.com/watchword/watchword/console/session"
)

// prefKeepRunning is the app preference: hide the window on close while the Console runs its hub.
const prefKeepRunning = "keepRunning"

// keepRunning reports whether closing the window hides it (the preference, off until the admin turns it on).
func keepRunning() bool {
	return fyne.CurrentApp().Preferences().BoolWithFallback(prefKeepRunning, false)
}

func setKeepRunning(on bool) { fyne.CurrentApp().Preferences().SetBool(prefKeepRunning, on) }

// keepHubRunning makes closing win hide it while s runs the hub in this process and the admin keeps it running,
// and puts the Console in the system tray where the desktop has one. Without a tray the window closes as before,
// since nothing could bring it back.
func keepHubRunning(win fyne.Window, s *session.Session) {
	desk, ok := fyne.CurrentApp().(desktop.App)
	if !ok {
		return
	}
	var keep *fyne.MenuItem
	keep = fyne.NewMenuItem("Keep the hub running when the window closes", func() {
		setKeepRunning(!keepRunning())
		keep.Checked = keepRunning()
	})
	keep.Checked = keepRunning()
	quit := fyne.NewMenuItem("Quit (stops this Console's hub)", func() {
		s.Close()
		fyne.CurrentApp().Quit()
	})
	quit.IsQuit = true
	service := fyne.NewMenuItem("Run the hub as a service…", func() { win.Show(); showServiceSetup(env{win: win}, s) })
	desk.SetSystemTrayMenu(fyne.NewMenu("Watchword Console", fyne.NewMenuItem("Show the Console", win.Show), keep, service, quit))
	hidden := false
	win.SetCloseIntercept(func() {
		if !keepRunning() || !s.RunsHub() {
			win.Close()
			return
		}
		win.Hide()
		if !hidden {
			hidden = true
			fyne.CurrentApp().SendNotification(fyne.NewNotification("Watchword Console keeps running",
				"Its hub keeps serving TechClients and agents. Open or quit it from the system tray."))
		}
	})
}

// keepRunningForm is the first start's choice of how the local hub keeps running: in the tray when the window
// closes, the Console at login, or the hub as a service (the unit and commands shown in a dialog).
func keepRunningForm(e env, s *session.Session) fyne.CanvasObject {
	tray := widget.NewCheck("Keep running in the system tray when the window closes", setKeepRunning)
	tray.SetChecked(keepRunning())
	cfg, _ := os.UserConfigDir()
	login := widget.NewCheck("Start the Console at login", func(on bool) {
		exe, err := os.Executable()
		if err == nil {
			err = local.Autostart(cfg, exe, on)
		}
		if err != nil {
			dialog.ShowError(err, e.win)
		}
	})
	login.SetChecked(local.AutostartOn(cfg))
	service := widget.NewButton("Run it as a service instead…", func() { showServiceSetup(e, s) })
	note := widget.NewLabel("The hub runs inside this Console: when the Console quits, TechClients cannot fetch " +
		"passwords and rotations pause. Keep it running:")
	note.Wrapping = fyne.TextWrapWord
	return container.NewVBox(note, tray, login, service)
}

// showServiceSetup shows the systemd unit and the commands that run this Console's hub as a service.
func showServiceSetup(e env, s *session.Session) {
	_, cmds, err := s.ServiceSetup()
	if errors.Is(err, local.ErrNotConfigured) {
		dialog.ShowInformation("Run the hub as a service", "Create the local hub first: the service runs that same hub. "+
			"Then choose \"Run the hub as a service…\" in the Console's system tray menu.", e.win)
		return
	}
	if err != nil {
		dialog.ShowError(err, e.win)
		return
	}
	text := widget.NewMultiLineEntry()
	text.SetText(cmds)
	text.Wrapping = fyne.TextWrapOff
	copyBtn := widget.NewButton("Copy", func() { fyne.CurrentApp().Clipboard().SetContent(cmds) })
	body := container.NewBorder(widget.NewLabel("Run these as yourself (not root) on this machine; the Console then connects to the service."),
		copyBtn, nil, nil, text)
	d := dialog.NewCustom("Run the hub as a service", "Close", body, e.win)
	d.Resize(fyne.NewSize(820, 520))
	d.Show()
}
