package view

import (
	"slices"
	"sync"
	"testing"

	"fyne.io/fyne/v2"
)

// captureNotifications records the desktop notifications ("title: content") instead of showing them, until the
// test ends; the function it returns lists them so far.
func captureNotifications(t *testing.T) func() []string {
	var mu sync.Mutex
	var sent []string
	old := sendNotification
	sendNotification = func(n *fyne.Notification) {
		mu.Lock()
		sent = append(sent, n.Title+": "+n.Content)
		mu.Unlock()
	}
	t.Cleanup(func() { sendNotification = old })
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(sent)
	}
}
