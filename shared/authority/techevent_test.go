package authority_test

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// device is the deterministic device key of the tech the tests and vectors sign as.
var device = key("device-alice")

// techEventVector is a vector of testdata/techevents.txt and the statement it was made from.
type techEventVector struct {
	vector
	st authority.TechEventStatement
}

// techEventVectors are the statements testdata/techevents.txt holds, with the signature each vector carries: the
// device's own, or (refused) another device's over the same bytes.
func techEventVectors() []techEventVector {
	at := t0.Add(90 * time.Second)
	reveal := authority.TechEventOf(tenant, 7, wire.EventRequest{Kind: wire.EventReveal, AccountID: 17, Version: 3, SignedAt: at})
	cp := authority.TechEventOf(tenant, 7, wire.EventRequest{Kind: wire.EventCopy, AccountID: 17, Version: 3, SignedAt: at})
	jit := authority.JITRequestOf(tenant, 7, wire.JITRequest{AccountID: 18, DurationSeconds: 3600, Reason: "ticket 4711: printer GPO", SignedAt: at})
	tapReveal := authority.TechEventOf(tenant, 7, wire.EventRequest{Kind: wire.EventTAPReveal, AccountID: 18, Version: 5, SignedAt: at})
	tapCopy := authority.TechEventOf(tenant, 7, wire.EventRequest{Kind: wire.EventTAPCopy, AccountID: 18, Version: 5, SignedAt: at})
	v := func(name, want string, st authority.TechEventStatement, k []byte) techEventVector {
		return techEventVector{vector{name: name, want: want, hash: hex.EncodeToString(authority.SignTechEvent(k, st)), enc: st.SignedBytes()}, st}
	}
	return []techEventVector{
		v("reveal", "ok", reveal, device),
		v("copy", "ok", cp, device),
		v("jit-request", "ok", jit, device),
		v("other-device", "refused", reveal, key("device-mallory")),
		v("tap-reveal", "ok", tapReveal, device),
		v("tap-copy", "ok", tapCopy, device),
	}
}

// TestTechEventVectors: the signed bytes and the signatures of testdata/techevents.txt are what this build makes,
// and each verifies (or not) with the device's key as the vector says.
func TestTechEventVectors(t *testing.T) {
	const file = "testdata/techevents.txt"
	if *updateVectors {
		var sb strings.Builder
		sb.WriteString("# name want signature signed-bytes; the device key is key(\"device-alice\") of the tests. Regenerate with go test -run TestTechEventVectors ./shared/authority -args -update-vectors\n")
		for _, v := range techEventVectors() {
			sb.WriteString(v.name + " " + v.want + " " + v.hash + " " + hex.EncodeToString(v.enc) + "\n")
		}
		if err := os.WriteFile(file, []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	vs := readVectorFile(t, file)
	fresh := techEventVectors()
	if len(vs) != len(fresh) {
		t.Fatalf("%d vectors, this build makes %d", len(vs), len(fresh))
	}
	for i, v := range vs {
		if v.name != fresh[i].name || hex.EncodeToString(v.enc) != hex.EncodeToString(fresh[i].enc) {
			t.Errorf("%s: this build signs other bytes", v.name)
		}
		if v.hash != fresh[i].hash {
			t.Errorf("%s: this build makes another signature", v.name)
		}
		sig, err := hex.DecodeString(v.hash)
		if err != nil {
			t.Fatal(err)
		}
		err = authority.VerifyTechEvent(pub(device), fresh[i].st, sig)
		switch {
		case v.want == "ok" && err != nil:
			t.Errorf("%s: %v", v.name, err)
		case v.want != "ok" && !errors.Is(err, authority.ErrTechEventSignature):
			t.Errorf("%s: %v, want ErrTechEventSignature", v.name, err)
		}
	}
}

// TestTechEventTampered: a signature covers every field of the statement; changing any one of them, or signing
// with another device, or a statement of another kind, fails.
func TestTechEventTampered(t *testing.T) {
	at := t0.Add(time.Minute)
	st := authority.JITRequestOf(tenant, 7, wire.JITRequest{AccountID: 18, DurationSeconds: 3600, Reason: "ticket 4711", SignedAt: at})
	sig := authority.SignTechEvent(device, st)
	if err := authority.VerifyTechEvent(pub(device), st, sig); err != nil {
		t.Fatalf("the device's own signature: %v", err)
	}
	change := map[string]func(*authority.TechEventStatement){
		"tenant":    func(s *authority.TechEventStatement) { s.Tenant = "0b5e6a3c-1f2d-4e5f-8a9b-0c1d2e3f4a5b" },
		"tech":      func(s *authority.TechEventStatement) { s.Tech = 8 },
		"kind":      func(s *authority.TechEventStatement) { s.Kind = wire.EventReveal },
		"account":   func(s *authority.TechEventStatement) { s.Account = 19 },
		"version":   func(s *authority.TechEventStatement) { s.Version = 1 },
		"duration":  func(s *authority.TechEventStatement) { s.Duration = 7200 },
		"reason":    func(s *authority.TechEventStatement) { s.Reason = "ticket 4712" },
		"signed at": func(s *authority.TechEventStatement) { s.SignedAt++ },
	}
	for name, fn := range change {
		c := st
		fn(&c)
		if err := authority.VerifyTechEvent(pub(device), c, sig); !errors.Is(err, authority.ErrTechEventSignature) {
			t.Errorf("a changed %s: %v, want ErrTechEventSignature", name, err)
		}
	}
	if err := authority.VerifyTechEvent(pub(key("device-mallory")), st, sig); !errors.Is(err, authority.ErrTechEventSignature) {
		t.Errorf("another device's key: %v", err)
	}
	if err := authority.VerifyTechEvent(pub(device), st, nil); !errors.Is(err, authority.ErrTechEventSignature) {
		t.Errorf("no signature: %v", err)
	}
	// An envelope statement's signature never verifies as a tech event (the tags differ).
	env := authority.NewEnvelopeStatement(tenant, 3, 18, "alice-ctso", 1, []byte("age"))
	if err := authority.VerifyTechEvent(pub(device), st, authority.SignEnvelope(device, env)); !errors.Is(err, authority.ErrTechEventSignature) {
		t.Errorf("an envelope signature: %v", err)
	}
}

// TestTechEventTAPNotPassword: the reveal of a window's Temporary Access Pass, whose version is the grant's ID,
// never verifies as the reveal or copy of the password version with the same number, nor as the pass's copy.
func TestTechEventTAPNotPassword(t *testing.T) {
	ev := wire.EventRequest{Kind: wire.EventTAPReveal, AccountID: 18, Version: 5, SignedAt: t0}
	st := authority.TechEventOf(tenant, 7, ev)
	sig := authority.SignTechEvent(device, st)
	if err := authority.VerifyTechEvent(pub(device), st, sig); err != nil {
		t.Fatalf("the pass's reveal: %v", err)
	}
	for _, kind := range []string{wire.EventReveal, wire.EventCopy, wire.EventTAPCopy} {
		other := ev
		other.Kind = kind
		if err := authority.VerifyTechEvent(pub(device), authority.TechEventOf(tenant, 7, other), sig); !errors.Is(err, authority.ErrTechEventSignature) {
			t.Errorf("the pass's reveal read as %s: %v, want ErrTechEventSignature", kind, err)
		}
	}
	if got, want := st.String(), "tech 7's tap-reveal of the access pass of window 5 of account 18"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// TestStateVerifyTechEvent: with the signed state, only the key it approved for the tech verifies, whatever key
// the hub names; a removed tech's events stop verifying.
func TestStateVerifyTechEvent(t *testing.T) {
	id, err := seal.GenerateIdentity()
	if err != nil {
		t.Fatal(err)
	}
	l := genesis(t)
	l.add([]authority.Op{authority.ApproveTech(7, "alice", "", id.Public())}, admin)
	st := authority.TechEventOf(tenant, 7, wire.EventRequest{Kind: wire.EventCopy, AccountID: 17, Version: 2, SignedAt: t0})
	if err := l.state.VerifyTechEvent(id.Public().AuthKey(), st, authority.SignTechEvent(id.Signer(), st)); err != nil {
		t.Fatalf("the approved device: %v", err)
	}
	// The hub names another key (its own device) and signs with it: the signature verifies, the key is not approved.
	if err := l.state.VerifyTechEvent(pub(device), st, authority.SignTechEvent(device, st)); !errors.Is(err, authority.ErrTechEventSignature) {
		t.Errorf("a key the authority never approved: %v", err)
	}
	other := st
	other.Tech = 9
	if err := l.state.VerifyTechEvent(id.Public().AuthKey(), other, authority.SignTechEvent(id.Signer(), other)); !errors.Is(err, authority.ErrTechEventSignature) {
		t.Errorf("a tech the authority never approved: %v", err)
	}
	l.add([]authority.Op{authority.RemoveTech(7)}, admin)
	if err := l.state.VerifyTechEvent(id.Public().AuthKey(), st, authority.SignTechEvent(id.Signer(), st)); !errors.Is(err, authority.ErrTechEventSignature) {
		t.Errorf("a removed tech: %v", err)
	}
	if err := (&authority.State{}).VerifyTechEvent(id.Public().AuthKey(), st, nil); !errors.Is(err, authority.ErrTechEventSignature) {
		t.Errorf("before the genesis: %v", err)
	}
}

// A tech's device signs its reveal with its own key; the hub keeps the signature beside the audit event, and anyone
// holding the device's public key checks it later. A hub that changes the version it recorded breaks it.
func ExampleSignTechEvent() {
	seed := make([]byte, ed25519.SeedSize)
	copy(seed, "device-alice")
	dev := ed25519.NewKeyFromSeed(seed)
	at := time.Date(2026, 12, 7, 12, 1, 30, 0, time.UTC) // the device's clock

	ev := wire.EventRequest{Kind: wire.EventReveal, AccountID: 17, Version: 3, SignedAt: at}
	ev.Signature = authority.SignTechEvent(dev, authority.TechEventOf("5f0c3d2e-8a41-4b7e-9d55-1c2b3a4d5e6f", 7, ev))

	devKey := dev.Public().(ed25519.PublicKey)
	fmt.Println(authority.VerifyTechEvent(devKey, authority.TechEventOf("5f0c3d2e-8a41-4b7e-9d55-1c2b3a4d5e6f", 7, ev), ev.Signature))
	ev.Version = 2
	err := authority.VerifyTechEvent(devKey, authority.TechEventOf("5f0c3d2e-8a41-4b7e-9d55-1c2b3a4d5e6f", 7, ev), ev.Signature)
	fmt.Println(errors.Is(err, authority.ErrTechEventSignature))
	// Output:
	// <nil>
	// true
}
