package vm_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/internal/testsupport/keyringtest"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
	"github.com/watchword/watchword/techclient/vm"
	"github.com/watchword/watchword/techclient/vm/vmtest"
)

// recordingHub is the real client, noting every credential list it asks for and what it got.
type recordingHub struct {
	*hubclient.Client
	mu    sync.Mutex
	calls []string // "full" or "delta N" (N credentials)
	since []int64
	revs  []int64 // the revision of each answer
}

func (r *recordingHub) CredentialsSince(ctx context.Context, since int64, grants string) (*wire.CredentialsResponse, error) {
	resp, err := r.Client.CredentialsSince(ctx, since, grants)
	if err == nil {
		r.mu.Lock()
		if resp.Delta {
			r.calls = append(r.calls, "delta "+strings.Repeat("x", len(resp.Credentials)))
		} else {
			r.calls = append(r.calls, "full")
		}
		r.since = append(r.since, since)
		r.revs = append(r.revs, resp.Revision)
		r.mu.Unlock()
	}
	return resp, err
}

// revision is the revision of the last answer, 0 before any.
func (r *recordingHub) revision() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.revs) == 0 {
		return 0
	}
	return r.revs[len(r.revs)-1]
}

func (r *recordingHub) log() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

// TestDeltaSync: after its first list the view-model asks only for what changed, merges it (a rotated account
// replaced, the others kept), caches the merged list, resumes from the cache with a delta, and falls back to the
// full list when the entitlements change shape (an agent disabled: its row goes).
func TestDeltaSync(t *testing.T) {
	ctx := ctxT(t)
	h := hubtest.New(t)
	dir := t.TempDir()
	ring := keyringtest.New()
	var rec *recordingHub
	start := func() *vm.App {
		test.NewTempApp(t)
		rec = nil
		a := vm.New(vm.Options{Dir: dir, Keyring: ring, ScryptWorkFactor: 10, Do: func(f func()) { f() },
			Wait: 2 * time.Second, Retry: 50 * time.Millisecond, Tick: 50 * time.Millisecond,
			Dial: func(inv wire.Invite, id *seal.Identity) (vm.Hub, error) {
				c, err := hubclient.New(inv, id)
				if err != nil {
					return nil, err
				}
				rec = &recordingHub{Client: c}
				return rec, nil
			}})
		a.Start()
		return a
	}
	a := start()
	eventually(t, 5*time.Second, "first run", func() bool { return state(a) == vm.StateUnregistered })
	activate(t, ctx, h, a, "carol")
	one, two := h.NewAgent("contoso.local", wire.DriverAD), h.NewAgent("web01.fabrikam.com", wire.DriverLinux)
	vmtest.Rotate(t, ctx, one, func(wire.PlanAccount) string { return "Pw-one-1111!" })
	vmtest.Rotate(t, ctx, two, func(wire.PlanAccount) string { return "Pw-two-1111!" })
	eventually(t, 3*time.Second, "two rows", func() bool { return len(a.Visible()) == 2 })
	// Caught up, not just shown: a list carries the revision the hub read before its view, so one that already
	// shows the last confirmation can still be followed by a delta of both accounts.
	now, err := rec.Client.WaitChanges(ctx, 0, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "caught up with the hub", func() bool { return rec.revision() >= now.Revision })

	version := func(host string) int64 {
		for _, r := range a.Visible() {
			if r.Host == host {
				return r.Version
			}
		}
		return 0
	}
	// (Each enrollment changed the grants' shape: those were full lists.)
	before := len(rec.log())
	vmtest.Rotate(t, ctx, one, func(wire.PlanAccount) string { return "Pw-one-2222!" })
	eventually(t, 3*time.Second, "the rotation shown", func() bool { return version("contoso.local") == 2 })
	if v := version("web01.fabrikam.com"); v != 1 || len(a.Visible()) != 2 {
		t.Fatalf("the other row after a delta: version %d, %d rows", v, len(a.Visible()))
	}
	calls := rec.log()
	if calls[0] != "full" || len(calls) == before || calls[len(calls)-1] != "delta x" {
		t.Fatalf("credential requests %v: want the full list first, then deltas of the one rotated account", calls)
	}
	for _, c := range calls[before:] {
		if c != "delta x" {
			t.Fatalf("credential requests %v: after %d, a rotation of one account should come as deltas of one", calls, before)
		}
	}
	row := a.Visible()[0]
	if pw, err := a.Reveal(row.AccountID); err != nil || !strings.HasPrefix(pw, "Pw-") {
		t.Fatalf("reveal after a delta: %v", err)
	}

	// The cache holds the merged list: a restart shows both rows at once and resumes with a delta.
	eventually(t, 3*time.Second, "cache written", func() bool {
		// Not just any cache: an earlier write (before the last change merged) would make the restart ask for a
		// delta of one account instead of an empty one.
		b, err := os.ReadFile(filepath.Join(dir, "credentials.json"))
		if err != nil {
			return false
		}
		var c struct {
			Credentials wire.CredentialsResponse `json:"credentials"`
		}
		if json.Unmarshal(b, &c) != nil || c.Credentials.Grants == "" {
			return false
		}
		// The reveal above is a use: the hub marks that account "rotates after use", which reaches the device as
		// one more delta. The cache must hold that too.
		rotated, used := false, false
		for _, cr := range c.Credentials.Credentials {
			rotated = rotated || len(cr.Versions) > 0 && cr.Versions[0].Version == 2
			used = used || !cr.RotatesAfterUseAt.IsZero()
		}
		return rotated && used
	})
	a.Close()
	a = start()
	t.Cleanup(a.Close)
	eventually(t, 5*time.Second, "rows after restart", func() bool { return len(a.Visible()) == 2 && version("contoso.local") == 2 })
	eventually(t, 3*time.Second, "first request after restart", func() bool { return rec != nil && len(rec.log()) > 0 })
	if calls := rec.log(); calls[0] != "delta " {
		t.Fatalf("first request after a restart with a cache: %v", calls)
	}

	// An agent disabled: the grants change shape, the hub answers in full, the row goes.
	if _, err := h.Owner.DisableAgent(ctx, two.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "the disabled host's row gone", func() bool { return len(a.Visible()) == 1 })
	if calls := rec.log(); calls[len(calls)-1] != "full" {
		t.Fatalf("after an entitlement change: %v, want the full list", calls)
	}
	if a.Visible()[0].Host != "contoso.local" || version("contoso.local") != 2 {
		t.Fatalf("rows after the full list: %+v", a.Visible())
	}
}
