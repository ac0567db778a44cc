package vm_test

import (
	"context"
	"encoding/base64"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/watchword/watchword/internal/testsupport/cliptest"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/internal/testsupport/keyringtest"
	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
	"github.com/watchword/watchword/techclient/vm"
	"github.com/watchword/watchword/techclient/vm/vmtest"
)

// sent notes every event and JIT request a device sends through the real hub client.
type sent struct {
	mu     sync.Mutex
	events []wire.EventRequest
	jit    []wire.JITRequest
}

// noting is the real hub client of a device, noting into s.
type noting struct {
	*hubclient.Client
	s *sent
}

func (n noting) ReportEvent(ctx context.Context, ev wire.EventRequest) error {
	n.s.mu.Lock()
	n.s.events = append(n.s.events, ev)
	n.s.mu.Unlock()
	return n.Client.ReportEvent(ctx, ev)
}

func (n noting) RequestJIT(ctx context.Context, req wire.JITRequest) (*wire.JITGrant, error) {
	n.s.mu.Lock()
	n.s.jit = append(n.s.jit, req)
	n.s.mu.Unlock()
	return n.Client.RequestJIT(ctx, req)
}

// notingEnv is an app whose hub client notes what it sends, on a device clock hours behind the hub's.
func notingEnv(t *testing.T, h *hubtest.Harness) (*env, *sent, *hubtest.Clock) {
	t.Helper()
	clock := &hubtest.Clock{}
	clock.Advance(-3 * time.Hour)
	test.NewTempApp(t)
	s := &sent{}
	dial := func(inv wire.Invite, id *seal.Identity) (vm.Hub, error) {
		c, err := hubclient.New(inv, id)
		return noting{Client: c, s: s}, err
	}
	e := &env{h: h, dir: t.TempDir(), clip: &cliptest.Memory{}, notes: &notes{}, set: vm.DefaultSettings()}
	e.set.LockAfter = 0
	e.app = vm.New(vm.Options{Dir: e.dir, Keyring: keyringtest.New(), Clipboard: e.clip, Notify: e.notes.add, Now: clock.Now,
		Dial: dial, Settings: func() vm.Settings { return e.set }, Do: func(f func()) { f() },
		Wait: 2 * time.Second, Retry: 50 * time.Millisecond, Tick: 50 * time.Millisecond, Poll: 100 * time.Millisecond})
	t.Cleanup(e.app.Close)
	return e, s, clock
}

// deviceKey is the key the hub holds for its only tech, and the tech's ID.
func deviceKey(t *testing.T, h *hubtest.Harness) (*seal.PublicKey, int64) {
	t.Helper()
	techs, err := h.Owner.Techs(ctxT(t), "")
	if err != nil || len(techs) != 1 {
		t.Fatalf("techs: %v %+v", err, techs)
	}
	key, err := seal.ParsePublicKey(techs[0].PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return key, techs[0].ID
}

// TestEventsSignedByTheDevice: the reveal and the copy the TechClient reports carry a signature that verifies
// with the device's key over exactly what it reports, at the device's clock; the hub audits each with that
// signature.
func TestEventsSignedByTheDevice(t *testing.T) {
	ctx := ctxT(t)
	h := hubtest.New(t)
	e, s, clock := notingEnv(t, h)
	row := activeWith(t, h, e, "alice", "first-Pa55word!")
	key, tech := deviceKey(t, h)

	before := clock.Now().Truncate(time.Second)
	if _, err := e.app.Reveal(row.AccountID); err != nil {
		t.Fatal(err)
	}
	if err := e.app.CopyPassword(row.AccountID); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "both events sent", func() bool { return e.app.PendingEvents() == 0 && hasAudit(ctx, h, "credential.copy") })
	s.mu.Lock()
	evs := append([]wire.EventRequest(nil), s.events...)
	s.mu.Unlock()
	if len(evs) != 2 || evs[0].Kind != wire.EventReveal || evs[1].Kind != wire.EventCopy {
		t.Fatalf("sent %+v", evs)
	}
	for _, ev := range evs {
		if ev.SignedAt.Before(before) || ev.SignedAt.After(clock.Now()) {
			t.Errorf("%s signed at %v, the device's clock was at %v", ev.Kind, ev.SignedAt, before)
		}
		if err := authority.VerifyTechEvent(key.AuthKey(), authority.TechEventOf(h.GUID, tech, ev), ev.Signature); err != nil {
			t.Errorf("%s: %v", ev.Kind, err)
		}
		audit, err := h.Owner.Audit(ctx, wire.AuditQuery{Action: "credential." + ev.Kind})
		if err != nil || len(audit) != 1 || !strings.Contains(audit[0].Detail, "devsig="+base64.StdEncoding.EncodeToString(ev.Signature)) {
			t.Errorf("audited %s: %v %+v", ev.Kind, err, audit)
		}
	}
}

// TestJITRequestSignedByTheDevice: a request for a window carries the device's signature over its account,
// duration and reason.
func TestJITRequestSignedByTheDevice(t *testing.T) {
	ctx := ctxT(t)
	h := hubtest.New(t)
	e, s, _ := notingEnv(t, h)
	jitTriplet(t, h, 2*time.Hour, true)
	firstRun(t, e.app)
	activate(t, ctx, h, e.app, "alice")
	agent := h.NewAgent("contoso.local", wire.DriverAD)
	vmtest.Rotate(t, ctx, agent, func(wire.PlanAccount) string { return "recovery-only-1!" })
	eventually(t, 3*time.Second, "the JIT row", func() bool { v := e.app.Visible(); return len(v) == 1 && v[0].JIT })
	row := e.app.Visible()[0]
	if err := e.app.RequestAccess(ctx, row.AccountID, time.Hour, "ticket 4711"); err != nil {
		t.Fatal(err)
	}
	key, tech := deviceKey(t, h)
	s.mu.Lock()
	reqs := append([]wire.JITRequest(nil), s.jit...)
	s.mu.Unlock()
	if len(reqs) != 1 || reqs[0].Reason != "ticket 4711" || reqs[0].SignedAt.IsZero() {
		t.Fatalf("sent %+v", reqs)
	}
	if err := authority.VerifyTechEvent(key.AuthKey(), authority.JITRequestOf(h.GUID, tech, reqs[0]), reqs[0].Signature); err != nil {
		t.Fatal(err)
	}
	audit, err := h.Owner.Audit(ctx, wire.AuditQuery{Action: "jit.request"})
	if err != nil || len(audit) != 1 || !strings.Contains(audit[0].Detail, "devsig="+base64.StdEncoding.EncodeToString(reqs[0].Signature)) {
		t.Fatalf("audited request: %v %+v", err, audit)
	}
}
