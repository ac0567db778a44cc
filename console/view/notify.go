package view

import (
	"fyne.io/fyne/v2"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/shared/wire"
)

// sendNotification shows a desktop notification; tests replace it.
var sendNotification = func(n *fyne.Notification) {
	if app := fyne.CurrentApp(); app != nil {
		app.SendNotification(n)
	}
}

// notifyJIT shows a desktop notification for every new JIT request.
func notifyJIT(a *vm.App) {
	a.OnJITRequest(func(g wire.JITGrant) {
		n := fyne.NewNotification("Just-in-time access requested", vm.DescribeJIT(g))
		fyne.Do(func() { sendNotification(n) })
	})
}

// notifyAgentOffline shows a desktop notification for every agent a refresh finds newly offline.
func notifyAgentOffline(a *vm.App) {
	a.OnAgentOffline(func(g wire.Agent) {
		n := fyne.NewNotification("Agent offline: "+g.Name, vm.OfflineText(g, a.Now()))
		fyne.Do(func() { sendNotification(n) })
	})
}

// notifyFailedAccounts shows a desktop notification for every account a refresh finds newly failed.
func notifyFailedAccounts(a *vm.App) {
	a.OnAccountFailed(func(acc vm.TechAccount) {
		n := fyne.NewNotification("Account failed: an admin must act", a.Snapshot().DescribeFailure(acc))
		fyne.Do(func() { sendNotification(n) })
	})
}

// notifyPending shows a desktop notification for every new tech registration and device replacement waiting for
// approval.
func notifyPending(a *vm.App) {
	a.OnPendingRequest(func(title, text string) {
		n := fyne.NewNotification(title, text)
		fyne.Do(func() { sendNotification(n) })
	})
}
