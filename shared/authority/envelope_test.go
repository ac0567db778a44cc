package authority_test

import (
	"errors"
	"testing"

	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/wire"
)

// TestVerifyEnvelope: an envelope statement verifies only with the signature of the agent it names, made with the
// key the signed state enrolled, over exactly that envelope and version; a removed agent's signatures stop
// verifying.
func TestVerifyEnvelope(t *testing.T) {
	agentKey, otherKey := key("agent-contoso"), key("agent-fabrikam")
	l := genesis(t)
	l.add([]authority.Op{authority.EnrollAgent(3, "contoso.local", wire.DriverAD, pub(agentKey)),
		authority.EnrollAgent(4, "fabrikam.corp", wire.DriverAD, pub(otherKey))}, admin)
	env := []byte("age-encryption.org/v1\n-> stanza\nsealed bytes")
	st := authority.NewEnvelopeStatement(tenant, 3, 17, "alice-ctso", 7, env)
	sig := authority.SignEnvelope(agentKey, st)
	if err := l.state.VerifyEnvelope(st, sig); err != nil {
		t.Fatalf("the agent's own signature: %v", err)
	}

	changed := append([]byte(nil), env...)
	changed[len(changed)-1] ^= 1
	other := st
	other.Agent = 4
	cases := map[string]struct {
		st  authority.EnvelopeStatement
		sig []byte
	}{
		"another agent's key":               {st, authority.SignEnvelope(otherKey, st)},
		"another agent's own statement":     {other, authority.SignEnvelope(agentKey, other)},
		"a changed envelope byte":           {authority.NewEnvelopeStatement(tenant, 3, 17, "alice-ctso", 7, changed), sig},
		"a changed version":                 {authority.NewEnvelopeStatement(tenant, 3, 17, "alice-ctso", 8, env), sig},
		"a changed account":                 {authority.NewEnvelopeStatement(tenant, 3, 18, "alice-ctso", 7, env), sig},
		"another tenant":                    {authority.NewEnvelopeStatement("0b5e6a3c-1f2d-4e5f-8a9b-0c1d2e3f4a5b", 3, 17, "alice-ctso", 7, env), sig},
		"no signature":                      {st, nil},
		"an agent the state never enrolled": {authority.NewEnvelopeStatement(tenant, 9, 17, "alice-ctso", 7, env), authority.SignEnvelope(agentKey, authority.NewEnvelopeStatement(tenant, 9, 17, "alice-ctso", 7, env))},
		"an admin's key":                    {st, authority.SignEnvelope(admin, st)},
	}
	for name, c := range cases {
		if err := l.state.VerifyEnvelope(c.st, c.sig); !errors.Is(err, authority.ErrEnvelopeSignature) {
			t.Errorf("%s: %v, want ErrEnvelopeSignature", name, err)
		}
	}

	l.add([]authority.Op{authority.RemoveAgent(3)}, admin)
	if err := l.state.VerifyEnvelope(st, sig); !errors.Is(err, authority.ErrEnvelopeSignature) {
		t.Fatalf("a removed agent's signature: %v, want ErrEnvelopeSignature", err)
	}
	if err := (&authority.State{}).VerifyEnvelope(st, sig); !errors.Is(err, authority.ErrEnvelopeSignature) {
		t.Fatalf("before the genesis: %v", err)
	}
}

// BenchmarkEnvelopeSignature: what the agent adds to each staged version (SignEnvelope) and the TechClient to each
// password it opens (VerifyEnvelope), for an envelope of the size a hybrid-sealed password has (about 3.5 KB).
func BenchmarkEnvelopeSignature(b *testing.B) {
	agentKey := key("agent-contoso")
	l := genesis(b)
	l.add([]authority.Op{authority.EnrollAgent(3, "contoso.local", wire.DriverAD, pub(agentKey))}, admin)
	env := make([]byte, 3500)
	b.Run("sign", func(b *testing.B) {
		for b.Loop() {
			authority.SignEnvelope(agentKey, authority.NewEnvelopeStatement(tenant, 3, 17, "alice-ctso", 7, env))
		}
	})
	sig := authority.SignEnvelope(agentKey, authority.NewEnvelopeStatement(tenant, 3, 17, "alice-ctso", 7, env))
	b.Run("verify", func(b *testing.B) {
		for b.Loop() {
			if err := l.state.VerifyEnvelope(authority.NewEnvelopeStatement(tenant, 3, 17, "alice-ctso", 7, env), sig); err != nil {
				b.Fatal(err)
			}
		}
	})
}
