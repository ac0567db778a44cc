package hub_test

import (
	"strings"
	"testing"

	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/rotation"
	"github.com/watchword/watchword/shared/wire"
)

// TestPolicyStrength: the hub refuses a password policy weaker than rotation.MinEntropyBits, naming the length
// (and the upper-case alternative) that would do, and changes nothing; the default policy and a strong
// lower-case one are accepted.
func TestPolicyStrength(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	before, err := h.Owner.Tenant(ctx)
	if err != nil {
		t.Fatal(err)
	}
	events := auditCount(t, h)
	weak := wire.DefaultPolicy()
	weak.Length, weak.Digits, weak.Symbols, weak.NoUpper = 12, 0, 0, true // about 55 bits
	_, err = h.Owner.SetPolicy(ctx, weak)
	if !isField(err, wire.CodeInvalid, "length") ||
		!strings.Contains(err.Error(), "about 55 bits; at least 80: raise the length to 18, or to 15 with upper case allowed") {
		t.Fatalf("12 lower-case characters: %v, want a refusal naming the bits and what to raise", err)
	}
	weak.Length, weak.NoUpper, weak.Digits = 14, false, 2 // 12 letters of 48 and 2 digits of 8: about 73 bits
	if _, err := h.Owner.SetPolicy(ctx, weak); !isField(err, wire.CodeInvalid, "length") || !strings.Contains(err.Error(), "raise the length to 16") {
		t.Fatalf("14 mixed characters: %v", err)
	}
	after, err := h.Owner.Tenant(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Policy != before.Policy || after.Revision != before.Revision || auditCount(t, h) != events {
		t.Fatalf("a refused policy changed the tenant: %+v → %+v", before.Policy, after.Policy)
	}

	strong := wire.DefaultPolicy()
	strong.Length, strong.Digits, strong.Symbols, strong.NoUpper = 18, 0, 0, true // 18 of 24 letters: 82 bits
	tn, err := h.Owner.SetPolicy(ctx, strong)
	if err != nil || tn.Policy.Length != 18 || !tn.Policy.NoUpper {
		t.Fatalf("18 lower-case characters: %v", err)
	}
	if _, err := h.Owner.SetPolicy(ctx, wire.DefaultPolicy()); err != nil {
		t.Fatalf("default policy: %v", err)
	}
	d := wire.DefaultPolicy()
	if bits := (rotation.Policy{Length: d.Length, Digits: d.Digits, Symbols: d.Symbols, NoAmbiguous: d.NoAmbiguous}).EntropyBits(); bits < 110 {
		t.Fatalf("default policy counts %.1f bits", bits)
	}
}
