package hub_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/wire"
)

func hubErr(t *testing.T, what string, err error) hubclient.Error {
	t.Helper()
	var he *hubclient.Error
	if !errors.As(err, &he) {
		t.Fatalf("%s: %v, want a refusal from the hub", what, err)
	}
	return *he
}

// TestRekeyRefusalsAlike: a device replacement naming an unknown username, a known username with the wrong email,
// a deactivated tech with the wrong email, or a tech whose replacement is already waiting gets one and the same
// answer (HTTP status, code, field, message), so the refusal tells nobody which usernames exist or which email
// belongs to them.
func TestRekeyRefusalsAlike(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	h.ActiveTech("alice")
	bob := h.ActiveTech("bob")
	_, err := h.Owner.DisableTech(ctx, bob.ID)
	noErr(t, err)
	carol := h.ActiveTech("carol")
	_, err = h.Client(h.NewIdentity()).Rekey(ctx, wire.RekeyRequest{Username: "carol", Email: "carol@example.com"})
	noErr(t, err)

	cases := []struct {
		name string
		req  wire.RekeyRequest
	}{
		{"unknown username", wire.RekeyRequest{Username: "nobody", Email: "nobody@example.com"}},
		{"wrong email", wire.RekeyRequest{Username: "alice", Email: "bob@example.com"}},
		{"deactivated, wrong email", wire.RekeyRequest{Username: "bob", Email: "alice@example.com"}},
		{"replacement already waiting", wire.RekeyRequest{Username: "carol", Email: "carol@example.com"}},
	}
	var first hubclient.Error
	for i, c := range cases {
		_, err := h.Client(h.NewIdentity()).Rekey(ctx, c.req)
		got := hubErr(t, c.name, err)
		if i == 0 {
			first = got
			if got.Wire.Code != wire.CodeForbidden || got.Wire.Field != "" {
				t.Fatalf("%s: %+v, want forbidden naming no field", c.name, got)
			}
			continue
		}
		if !reflect.DeepEqual(got, first) {
			t.Fatalf("%s answers %+v; %s answers %+v", c.name, got, cases[0].name, first)
		}
	}
	// The right email still gets the specific answers a tech needs.
	if _, err := h.Client(h.NewIdentity()).Rekey(ctx, wire.RekeyRequest{Username: "bob", Email: "bob@example.com"}); !isField(err, wire.CodeForbidden, "username") {
		t.Fatalf("deactivated, right email: %v", err)
	}
	if _, err := carol.Credentials(ctx); err != nil {
		t.Fatalf("carol's device while a replacement waits: %v", err)
	}
}

// TestRekeyContested: at most one device replacement per tech waits. Another device asking for the same tech is
// refused (the generic answer) and does not displace it; the pending request counts the refused attempt with that
// device's fingerprint and time, which the admin list shows (the devices' own status does not), and it is audited.
// The pending device asking again gets its request back. Once the admin rejects the pending request, the other
// device's new request is accepted and can be approved.
func TestRekeyContested(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	alice := h.ActiveTech("alice")
	req := wire.RekeyRequest{Username: "alice", Email: "alice@example.com"}

	squatterID := h.NewIdentity()
	squatter := h.Client(squatterID)
	first, err := squatter.Rekey(ctx, req)
	noErr(t, err)

	realID := h.NewIdentity()
	laptop := h.Client(realID)
	if _, err := laptop.Rekey(ctx, req); !isCode(err, wire.CodeForbidden) {
		t.Fatalf("second device while one waits: %v, want the generic refusal", err)
	}
	h.Clock.Advance(time.Minute)
	_, err = laptop.Rekey(ctx, req)
	hubErr(t, "second device again", err)
	if _, err := laptop.RekeyStatus(ctx); !isCode(err, wire.CodeNotFound) {
		t.Fatalf("the refused device's status: %v, want no request", err)
	}
	pending, err := h.Owner.Rekeys(ctx, wire.RekeyPending)
	noErr(t, err)
	if len(pending) != 1 || pending[0].ID != first.ID || pending[0].Fingerprint != squatterID.Public().Fingerprint().String() {
		t.Fatalf("pending after the refused attempts: %+v, want the first request alone", pending)
	}
	if p := pending[0]; p.Contested != 2 || p.ContestedFingerprint != realID.Public().Fingerprint().String() || p.ContestedAt.IsZero() {
		t.Fatalf("the admin's notice: contested=%d fingerprint=%q at=%v; want 2, the refused device's, a time",
			p.Contested, p.ContestedFingerprint, p.ContestedAt)
	}
	if !auditHas(t, h, "tech.rekey-contested", "refusedFingerprint=\""+realID.Public().Fingerprint().String()+"\"") {
		t.Fatal("the refused attempt is not audited with its fingerprint")
	}
	again, err := squatter.Rekey(ctx, req)
	if err != nil || again.ID != first.ID || again.Status != wire.RekeyPending {
		t.Fatalf("the pending device asking again: %+v, %v; want its request %d back", again, err, first.ID)
	}
	if st, err := squatter.RekeyStatus(ctx); err != nil || st.Contested != 0 || st.ContestedFingerprint != "" {
		t.Fatalf("the pending device's own status: %+v, %v; want no notice of the other device", st, err)
	}

	// The admin, having called alice and compared fingerprints, rejects the squatter's request.
	_, err = h.Owner.RejectRekey(ctx, first.ID)
	noErr(t, err)
	rk, err := laptop.Rekey(ctx, req)
	if err != nil || rk.Status != wire.RekeyPending || rk.Fingerprint != realID.Public().Fingerprint().String() {
		t.Fatalf("the real device after the rejection: %+v, %v", rk, err)
	}
	if _, err := squatter.Rekey(ctx, req); err == nil {
		t.Fatal("the rejected device asked again and was accepted")
	}
	done, err := h.Owner.ApproveRekey(ctx, rk.ID)
	if err != nil || done.Status != wire.RekeyApproved {
		t.Fatalf("approve the real device: %+v, %v", done, err)
	}
	if _, err := laptop.Status(ctx); err != nil {
		t.Fatalf("the real device after approval: %v", err)
	}
	if _, err := alice.Credentials(ctx); !errors.Is(err, hubclient.ErrUnauthenticated) {
		t.Fatalf("the old device after approval: %v", err)
	}
}
