package vm_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/internal/testsupport/keyringtest"
	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
	"github.com/watchword/watchword/techclient/vm"
	"github.com/watchword/watchword/techclient/vm/vmtest"
)

// signedTenant is the harness's tenant whose owner signed its authority: the genesis from what the hub holds.
type signedTenant struct {
	t    *testing.T
	ctx  context.Context
	h    *hubtest.Harness
	auth *hubtest.Authority
}

func newSignedTenant(t *testing.T, ctx context.Context, h *hubtest.Harness) *signedTenant {
	return &signedTenant{t: t, ctx: ctx, h: h, auth: h.SignAuthority(ctx)}
}

// publish signs an update of ops with the owner's key and publishes it at the hub.
func (st *signedTenant) publish(ops ...authority.Op) { st.t.Helper(); st.auth.Publish(ops...) }

// approve signs the approval of a pending tech's device (its key as the hub shows it to the admin).
func (st *signedTenant) approve(tech wire.Tech) {
	st.t.Helper()
	pub, err := seal.ParsePublicKey(tech.PublicKey)
	if err != nil {
		st.t.Fatal(err)
	}
	st.publish(authority.ApproveTech(tech.ID, tech.Username, tech.Organization, pub))
}

// enroll signs an agent's enrolment.
func (st *signedTenant) enroll(a *hubtest.Agent, name, driver string) {
	st.publish(authority.EnrollAgent(a.ID, name, driver, a.Identity.Public().AuthKey()))
}

// deviceIdentity is the device key the TechClient keeps in its keyring: the test opens envelopes with it to show
// that a forged one would have opened.
func deviceIdentity(t *testing.T, e *env) *seal.Identity {
	t.Helper()
	secret, err := e.ring.Get("watchword-techclient", "device")
	if err != nil {
		t.Fatal(err)
	}
	id, err := seal.ParseIdentity(secret)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// refused checks that the row of account shows the alert and that neither Reveal nor CopyPassword opens it.
func refused(t *testing.T, h *hubtest.Harness, e *env, account int64, version int64, what string) {
	t.Helper()
	defer reportedOnce(t, h, account, version, what)
	eventually(t, 3*time.Second, what+": version shown with the alert", func() bool {
		r := e.app.Row(account)
		return r != nil && r.Version == version && r.Alert == vm.UnsignedAlert
	})
	if pw, err := e.app.Reveal(account); !errors.Is(err, authority.ErrEnvelopeSignature) || pw != "" {
		t.Fatalf("%s: reveal gave %d characters, %v; want ErrEnvelopeSignature", what, len(pw), err)
	}
	e.clip.SetContent("untouched")
	if err := e.app.CopyPassword(account); !errors.Is(err, authority.ErrEnvelopeSignature) || e.clip.Content() != "untouched" {
		t.Fatalf("%s: copy: %v, clipboard %q", what, err, e.clip.Content())
	}
	if msg, _ := e.app.Error.Get(); msg == "" || !contains(msg, "not signed by an agent the admins enrolled") {
		t.Fatalf("%s: error line %q", what, msg)
	}
}

// reportedOnce checks that the device told the admins, once, that it refused version of account, in an event
// its own key signed.
func reportedOnce(t *testing.T, h *hubtest.Harness, account, version int64, what string) {
	t.Helper()
	reports := func() []wire.AuditEvent {
		evs, err := h.Owner.Audit(context.Background(), wire.AuditQuery{Action: "credential." + wire.EventUnsigned})
		if err != nil {
			t.Fatal(err)
		}
		var out []wire.AuditEvent
		for _, ev := range evs {
			if ev.Target == fmt.Sprintf("account %d", account) && strings.HasPrefix(ev.Detail, fmt.Sprintf("version=%d ", version)) {
				out = append(out, ev)
			}
		}
		return out
	}
	eventually(t, 3*time.Second, what+": the refusal reported", func() bool { return len(reports()) > 0 })
	time.Sleep(100 * time.Millisecond) // a second report would be on its way by now
	if got := reports(); len(got) != 1 || got[0].ActorKind != "tech" || !strings.Contains(got[0].Detail, "devsig=") || strings.Contains(got[0].Detail, "devsig=none") {
		t.Fatalf("%s: reports of the refusal: %+v, want one signed by the device", what, got)
	}
}

// TestSignedEnvelopes: a device whose invite pins the tenant's signed authority shows a password an enrolled agent
// signed; an envelope sealed to its key by anyone else — staged without a signature, signed with another agent's
// key, or written into the hub's database under an honest signature — shows the alert and is never opened, though
// each would have opened with the device's key; the honest flow resumes after each. The verified chain is kept
// with mode 0600 and verified again at the next start, and a hub that then serves an older head is refused.
func TestSignedEnvelopes(t *testing.T) {
	ctx := ctxT(t)
	h := hubtest.New(t)
	st := newSignedTenant(t, ctx, h)
	e := started(t, h, keyringtest.New(), vm.DefaultSettings())
	a := e.app
	reg := registration(h, "alice")
	inv := h.Invite
	inv.Authority = st.auth.State.Genesis.String()
	reg.Invite = inv.String()
	if err := a.Register(ctx, reg); err != nil {
		t.Fatal(err)
	}
	pending, err := h.Owner.Techs(ctx, wire.TechPending)
	if err != nil || len(pending) != 1 {
		t.Fatalf("pending: %+v, %v", pending, err)
	}
	st.approve(pending[0])
	approveEnrol(t, ctx, h, a, pending[0].ID)
	eventually(t, 3*time.Second, "active", func() bool { return state(a) == vm.StateActive })

	agent := h.NewAgent("contoso.local", wire.DriverAD)
	other := h.NewAgent("fabrikam.corp", wire.DriverAD)
	st.enroll(agent, "contoso.local", wire.DriverAD)
	st.enroll(other, "fabrikam.corp", wire.DriverAD)

	// The honest flow: the agent signs, the device verifies and opens.
	honest := func(want int64, secret string) int64 {
		t.Helper()
		vmtest.Rotate(t, ctx, agent, func(wire.PlanAccount) string { return secret })
		var id int64
		eventually(t, 3*time.Second, "honest version "+secret, func() bool {
			for _, r := range a.Visible() {
				if r.Host == "contoso.local" && r.Version == want {
					id = r.AccountID
					return true
				}
			}
			return false
		})
		if r := a.Row(id); r.Alert != "" {
			t.Fatalf("honest version %d shows %q", want, r.Alert)
		}
		if pw, err := a.Reveal(id); err != nil || pw != secret {
			t.Fatalf("reveal of the honest version %d: %q, %v", want, pw, err)
		}
		return id
	}
	account := honest(1, "honest-Pa55word-1")
	dev := deviceIdentity(t, e)

	// forge stages version v of the account sealed to the device with the attacker's password, signed by sign.
	forge := func(v int64, secret string, sign func(plan *wire.Plan, pa wire.PlanAccount, env []byte) []byte) []byte {
		t.Helper()
		plan, err := agent.PlanWait(ctx, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, pa := range plan.Accounts {
			if pa.AccountID != account {
				continue
			}
			env := hubtest.Seal(t, plan, pa, v, secret)
			if err := agent.StageSigned(ctx, account, v, env, sign(plan, pa, env)); err != nil {
				t.Fatal(err)
			}
			if err := agent.Confirm(ctx, account, v); err != nil {
				t.Fatal(err)
			}
			// The device's key opens it: only the signature check stands between it and the technician.
			if pw, err := seal.Open(env, hubclient.SealContext(h.GUID, agent.ID, pa.AccountName, v), dev); err != nil || string(pw) != secret {
				t.Fatalf("the forged version %d does not open with the device key: %v", v, err)
			}
			return env
		}
		t.Fatalf("account %d not in the plan", account)
		return nil
	}

	forge(2, "stripped-by-the-hub", func(*wire.Plan, wire.PlanAccount, []byte) []byte { return nil })
	refused(t, h, e, account, 2, "unsigned")
	honest(3, "honest-Pa55word-3")

	forge(4, "signed-by-another-agent", func(plan *wire.Plan, pa wire.PlanAccount, env []byte) []byte {
		return other.SignEnvelope(plan, pa, 4, env)
	})
	refused(t, h, e, account, 4, "another agent's key")
	honest(5, "honest-Pa55word-5")

	// The hub's database, written behind its back: version 5's envelope replaced, its honest signature kept.
	plan, err := agent.PlanWait(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	forged := hubtest.Seal(t, plan, plan.Accounts[0], 5, "written-into-the-store")
	e.app.Close()
	db, err := sql.Open("sqlite", "file:"+h.DBPath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if res, err := db.ExecContext(ctx, "UPDATE versions SET envelope = ? WHERE account_id = ? AND version = 5", forged, account); err != nil {
		t.Fatal(err)
	} else if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("forged %d rows", n)
	}
	fi, err := os.Stat(filepath.Join(e.dir, "authority.cbor"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("kept authority: %v, %v", fi, err)
	}
	// A restarted device without its cache fetches the whole list again, and reloads the chain it kept.
	if err := os.Remove(filepath.Join(e.dir, "credentials.json")); err != nil {
		t.Fatal(err)
	}
	e2 := newEnv(t, h, e.dir, e.ring, vm.DefaultSettings())
	e2.app.Start()
	refused(t, h, e2, account, 5, "written into the store")

	// The hub rolls its signed authority back: the device keeps what it verified and says so.
	if _, err := db.ExecContext(ctx, "DELETE FROM authority_updates WHERE seq = ?", st.auth.State.Seq); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Owner.RotateNow(ctx, wire.RotateRequest{TechID: pending[0].ID}); err != nil {
		t.Fatal(err)
	}
	vmtest.Rotate(t, ctx, agent, func(wire.PlanAccount) string { return "honest-Pa55word-6" })
	eventually(t, 3*time.Second, "the rollback shown with version 6", func() bool {
		msg, _ := e2.app.Error.Get()
		r := e2.app.Row(account)
		return contains(msg, "older than one already verified") && r != nil && r.Version == 6
	})
	if pw, err := e2.app.Reveal(account); err != nil || pw != "honest-Pa55word-6" {
		t.Fatalf("after the rollback the verified chain still verifies the honest version: %q, %v", pw, err)
	}

	// The password history: the forged versions carry the alert and do not open, the honest ones do.
	hist, err := e2.app.History(ctx, account)
	if err != nil {
		t.Fatal(err)
	}
	alerts := map[int64]bool{}
	for _, v := range hist {
		alerts[v.Version] = v.Alert != ""
	}
	for v, forged := range map[int64]bool{6: false, 5: true, 4: true, 3: false, 2: true} {
		if got, ok := alerts[v]; !ok || got != forged {
			t.Fatalf("history version %d: alert %v, want %v", v, got, forged)
		}
	}
	if pw, err := e2.app.OpenVersion(account, 5); !errors.Is(err, authority.ErrEnvelopeSignature) || pw != "" {
		t.Fatalf("history: the forged version 5 opened (%d characters), %v", len(pw), err)
	}
	if pw, err := e2.app.OpenVersion(account, 6); err != nil || pw != "honest-Pa55word-6" {
		t.Fatalf("history: the honest version 6: %q, %v", pw, err)
	}
}

// TestUnpinnedDeviceOpensUnsigned: a device whose invite carries no signed authority opens what the hub hands it,
// signed or not, as before.
func TestUnpinnedDeviceOpensUnsigned(t *testing.T) {
	ctx := ctxT(t)
	h := hubtest.New(t)
	e := started(t, h, keyringtest.New(), vm.DefaultSettings())
	activate(t, ctx, h, e.app, "bob")
	agent := h.NewAgent("contoso.local", wire.DriverAD)
	plan, err := agent.PlanWait(ctx, 0, 0)
	if err != nil || len(plan.Accounts) != 1 {
		t.Fatalf("plan: %+v, %v", plan, err)
	}
	pa := plan.Accounts[0]
	if err := agent.Stage(ctx, pa.AccountID, 1, hubtest.Seal(t, plan, pa, 1, "unsigned-Pa55")); err != nil {
		t.Fatal(err)
	}
	if err := agent.Confirm(ctx, pa.AccountID, 1); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "row", func() bool { return len(e.app.Visible()) == 1 })
	if r := e.app.Visible()[0]; r.Alert != "" {
		t.Fatalf("alert on an unpinned device: %q", r.Alert)
	}
	if pw, err := e.app.Reveal(pa.AccountID); err != nil || pw != "unsigned-Pa55" {
		t.Fatalf("reveal: %q, %v", pw, err)
	}
}
