package vm_test

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/watchword/watchword/console/server/hub"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/internal/testsupport/keyringtest"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
	"github.com/watchword/watchword/techclient/vm"
	"github.com/watchword/watchword/techclient/vm/vmtest"
)

// olderHub makes the real hub look older than the capability header: its answers lose wire.HeaderCapability on
// their way to the client. It notes every request that reaches the hub.
type olderHub struct {
	mu       sync.Mutex
	requests []string // path?query
}

func (o *olderHub) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTrip(func(r *http.Request) (*http.Response, error) {
		o.mu.Lock()
		o.requests = append(o.requests, r.URL.Path+"?"+r.URL.RawQuery)
		o.mu.Unlock()
		resp, err := rt.RoundTrip(r)
		if resp != nil {
			resp.Header.Del(wire.HeaderCapability)
		}
		return resp, err
	})
}

// sent lists the requests whose path starts with prefix.
func (o *olderHub) sent(prefix string) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []string
	for _, r := range o.requests {
		if strings.HasPrefix(r, prefix) {
			out = append(out, r)
		}
	}
	return out
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestOlderHub: against a hub at the first capability version the TechClient fetches whole lists, and says the
// hub has no password history or just-in-time access instead of asking it for them; the rest works as ever.
func TestOlderHub(t *testing.T) {
	ctx := ctxT(t)
	h := hubtest.New(t, hubtest.WithConfig(func(c *hub.Config) { c.DisableTOTP = true })) // older than sessions
	old := &olderHub{}
	test.NewTempApp(t)
	a := vm.New(vm.Options{Dir: t.TempDir(), Keyring: keyringtest.New(), ScryptWorkFactor: 10, Do: func(f func()) { f() },
		Wait: 2 * time.Second, Retry: 50 * time.Millisecond, Tick: 50 * time.Millisecond,
		Dial: func(inv wire.Invite, id *seal.Identity) (vm.Hub, error) {
			return hubclient.New(inv, id, hubclient.WithTransport(old.wrap))
		}})
	t.Cleanup(a.Close)
	firstRun(t, a)
	if _, err := h.ApproveCoManaged(ctx, registerAs(t, ctx, h, a, "olga")[0].ID); err != nil {
		t.Fatal(err)
	}
	agent := h.NewAgent("contoso.local", wire.DriverAD)
	for i, pw := range []string{"Older-First-Pa55!", "Older-Second-Pa55!"} {
		vmtest.Rotate(t, ctx, agent, func(wire.PlanAccount) string { return pw })
		eventually(t, 5*time.Second, "the rotated version", func() bool {
			v := a.Visible()
			return len(v) == 1 && v[0].Version == int64(i+1)
		})
	}
	row := a.Visible()[0]
	if got, err := a.Reveal(row.AccountID); err != nil || got != "Older-Second-Pa55!" {
		t.Fatalf("reveal: %q, %v", got, err)
	}

	lists := old.sent(wire.PathTechCredentials)
	if len(lists) < 2 {
		t.Fatalf("credential lists asked for: %q, want one after each rotation", lists)
	}
	for _, l := range lists {
		if !strings.HasSuffix(l, "?") {
			t.Errorf("asked an older hub for %s, want the whole list", l)
		}
	}
	if _, err := a.History(ctx, row.AccountID); !errors.Is(err, vm.ErrNoHistory) {
		t.Errorf("history from an older hub: %v, want vm.ErrNoHistory", err)
	}
	if err := a.RequestAccess(ctx, row.AccountID, time.Hour, "ticket 4711"); !errors.Is(err, vm.ErrNoJIT) {
		t.Errorf("just-in-time request to an older hub: %v, want vm.ErrNoJIT", err)
	}
	if n := len(old.sent(wire.PathTechAccounts)) + len(old.sent(wire.PathTechJIT)); n != 0 {
		t.Errorf("%d history or just-in-time requests reached a hub that has neither", n)
	}
}
