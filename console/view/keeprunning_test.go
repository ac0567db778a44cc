package view

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/console/session"
	"github.com/watchword/watchword/console/view/uitest"
	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/shared/keystore"
)

// TestFirstStartSaysHowTheHubKeepsRunning: the first start says the local hub stops with the Console and offers
// the tray, the start at login and the service; the tray choice is remembered, and the service needs the hub
// created first.
func TestFirstStartSaysHowTheHubKeepsRunning(t *testing.T) {
	uitest.NewApp(t)
	a := vm.New()
	w := consoleWindow(t, a)
	s := session.New(a, session.Options{Dir: t.TempDir(), Keyring: keystore.NoKeyring})
	defer s.Close()
	fyne.DoAndWait(func() { showSetup(env{a: a, win: w}, s) })
	top := topOverlay(w)
	if top == nil || !containsText(top, "when the Console quits, TechClients cannot fetch passwords and rotations pause") {
		t.Fatal("the first start does not say the hub stops with the Console")
	}
	var tray, login *widget.Check
	find(top, func(o fyne.CanvasObject) {
		if c, ok := o.(*widget.Check); ok {
			switch {
			case strings.HasPrefix(c.Text, "Keep running in the system tray"):
				tray = c
			case c.Text == "Start the Console at login":
				login = c
			}
		}
	})
	if tray == nil || login == nil || tray.Checked {
		t.Fatalf("tray %v, login %v: the choices are not offered (or the tray is on before the admin chose)", tray, login)
	}
	fyne.DoAndWait(func() { test.Tap(tray) })
	if !keepRunning() {
		t.Fatal("the tray choice is not remembered")
	}
	tapButton(t, w, "Run it as a service instead…")
	eventually(t, "the service's answer", func() bool {
		top := topOverlay(w)
		return top != nil && containsText(top, "Create the local hub first")
	})
}
