package view

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"

	"github.com/watchword/watchword/shared/wire"
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

// TestPendingNotification: a new registration and a new device replacement found by a refresh send one desktop
// notification each; those waiting when the Console connected send none.
func TestPendingNotification(t *testing.T) {
	notifications := captureNotifications(t)
	a, _, h := connectedHub(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h.ActiveTech("zoe")
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := notifications(); len(got) != 0 {
		t.Fatalf("notifications before any new request: %q", got)
	}
	h.NewTech("yann")
	if _, err := h.Client(h.NewIdentity()).Rekey(ctx, wire.RekeyRequest{Username: "zoe", Email: "zoe@example.com"}); err != nil {
		t.Fatal(err)
	}
	for range 2 { // twice: one notification per request, not per refresh
		if err := a.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "the notifications", func() bool { return len(notifications()) == 2 })
	got := strings.Join(notifications(), "\n")
	if !strings.Contains(got, "New tech waiting for approval: yann: yann (yann, the MSP) registered ") ||
		!strings.Contains(got, "Device replacement requested: zoe: zoe asked ") {
		t.Fatalf("notifications %q", got)
	}
}
