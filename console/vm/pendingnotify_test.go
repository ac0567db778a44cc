package vm_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/watchword/watchword/shared/wire"
)

// A new registration and a new device replacement are each announced once, with how long ago on the Console's
// clock; those waiting when the Console connected are not (the navigation counts them).
func TestPendingRequestsNotified(t *testing.T) {
	a, h, _ := world(t)
	ctx := testCtx(t)
	a.UseClock(func() time.Time { return time.Now().Add(5 * time.Minute) })
	var mu sync.Mutex
	var got []string
	a.OnPendingRequest(func(title, text string) {
		mu.Lock()
		got = append(got, title+": "+text)
		mu.Unlock()
	})
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Fatalf("the demo's pending techs announced at connection: %q", got)
	}

	h.ActiveTech("zoe")
	h.NewTech("yann")
	if _, err := h.Client(h.NewIdentity()).Rekey(ctx, wire.RekeyRequest{Username: "zoe", Email: "zoe@example.com"}); err != nil {
		t.Fatal(err)
	}
	for range 2 { // a second refresh announces nothing again
		if err := a.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{
		"New tech waiting for approval: yann: yann (yann, the MSP) registered 5 min ago. Compare their device's fingerprint before approving.",
		"Device replacement requested: zoe: zoe asked 5 min ago to replace their device. Compare both fingerprints before approving: the old device is revoked.",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("notifications:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
