package view

import (
	"context"
	"testing"
	"time"

	"fyne.io/fyne/v2"

	"github.com/watchword/watchword/console/server/hub"
	"github.com/watchword/watchword/console/view/uitest"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
)

// The Pending techs screen says when the registration queue is full, and says nothing while it has room.
func TestPendingScreenShowsFullQueue(t *testing.T) {
	uitest.NewApp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h := hubtest.New(t, hubtest.WithConfig(func(c *hub.Config) { c.MaxPendingTechs = 2 }))
	a, w := consoleAs(t, h, h.Owner)
	a.Select("pending")
	const full = "The registration queue is full"
	if containsPrefix(w, full) {
		t.Fatal("an empty queue is said to be full")
	}
	h.NewTech("qa")
	h.NewTech("qb")
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the full-queue notice", func() bool { return containsPrefix(w, full) })
}

func containsPrefix(w fyne.Window, s string) bool {
	found := false
	fyne.DoAndWait(func() { found = containsText(w.Canvas().Content(), s) })
	return found
}
