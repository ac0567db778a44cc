package authority_test

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

var t0 = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

const tenant = "5f0c3d2e-8a41-4b7e-9d55-1c2b3a4d5e6f"

// key returns a deterministic Ed25519 key for a name, so test logs and vectors do not change between runs.
func key(name string) ed25519.PrivateKey {
	seed := make([]byte, ed25519.SeedSize)
	copy(seed, name)
	return ed25519.NewKeyFromSeed(seed)
}

func pub(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

// log is a chain under construction in a test: it signs updates and keeps the state an honest verifier reaches.
type log struct {
	t     testing.TB
	state *authority.State
	enc   [][]byte
}

func encode(t testing.TB, u *authority.Update) []byte {
	t.Helper()
	b, err := u.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// next builds the update after the log's head with ops, signed by keys.
func (l *log) next(ops []authority.Op, keys ...ed25519.PrivateKey) *authority.Update {
	l.t.Helper()
	var u *authority.Update
	if l.state == nil {
		u = authority.New(tenant, 0, authority.Hash{}, authority.Hash{}, t0, ops...)
	} else {
		u = authority.New(tenant, l.state.Seq+1, l.state.Head, l.state.Genesis, t0.Add(time.Duration(l.state.Seq+1)*time.Minute), ops...)
	}
	for _, k := range keys {
		if err := u.Sign(k); err != nil {
			l.t.Fatal(err)
		}
	}
	return u
}

// add applies an update the test expects to be valid.
func (l *log) add(ops []authority.Op, keys ...ed25519.PrivateKey) []byte {
	l.t.Helper()
	u := l.next(ops, keys...)
	s := l.state
	if s == nil {
		s = &authority.State{}
	}
	next, err := s.Apply(u)
	if err != nil {
		l.t.Fatalf("apply %d: %v", u.Seq, err)
	}
	l.state = next
	b := encode(l.t, u)
	l.enc = append(l.enc, b)
	return b
}

// refused applies an update the test expects to be refused with want.
func (l *log) refused(want error, ops []authority.Op, keys ...ed25519.PrivateKey) {
	l.t.Helper()
	u := l.next(ops, keys...)
	s := l.state
	if s == nil {
		s = &authority.State{}
	}
	if _, err := s.Apply(u); !errors.Is(err, want) {
		l.t.Fatalf("apply %d (%v): %v, want %v", u.Seq, ops, err, want)
	}
}

var (
	owner    = key("owner")
	admin    = key("admin")
	auditor  = key("auditor")
	comgr    = key("comanager-contoso")
	attacker = key("attacker")
)

const recovery = "age1pq1recovery-of-the-tenant"

// genesis starts a log with an owner, an admin, an auditor and a Co-managed Manager of Contoso, the recovery
// recipient, the default naming format, the built-in groups, right and triplet.
func genesis(t testing.TB) *log {
	l := &log{t: t}
	l.add([]authority.Op{
		authority.SetAdmin(pub(owner), wire.RoleOwner, "Olivia", ""),
		authority.SetAdmin(pub(admin), wire.RoleAdmin, "Adam", ""),
		authority.SetAdmin(pub(auditor), wire.RoleAuditor, "Audrey", ""),
		authority.SetAdmin(pub(comgr), wire.RoleCoManager, "Carl", "Contoso"),
		authority.SetRecovery(recovery),
		authority.SetNaming("{username}-{abbrev}", "ctso"),
		authority.SetGroup(authority.TechGroup, 1, "AllTechs", true, nil),
		authority.SetGroup(authority.AgentGroup, 2, "AllDomains", true, nil),
		authority.SetRight(3, "AllRights", map[string][]string{wire.DriverAD: {"Domain Admins"}, wire.DriverLinux: {"sudo"}}),
		authority.SetTriplet(4, 1, 2, 3),
	}, owner)
	return l
}

func TestGenesis(t *testing.T) {
	l := genesis(t)
	s := l.state
	if s.Seq != 0 || s.Genesis != s.Head || s.Genesis.IsZero() || len(s.Admins) != 4 || s.Naming != "{username}-{abbrev}" {
		t.Fatalf("state after genesis: %+v", s)
	}
	// A genesis must be signed by an owner it adds, and must set recovery and naming.
	for name, tc := range map[string]struct {
		ops  []authority.Op
		keys []ed25519.PrivateKey
		want error
	}{
		"signed by a stranger":    {[]authority.Op{authority.SetAdmin(pub(owner), wire.RoleOwner, "O", ""), authority.SetRecovery(recovery), authority.SetNaming("{username}", "")}, []ed25519.PrivateKey{attacker}, authority.ErrBadSignature},
		"signed by an admin only": {[]authority.Op{authority.SetAdmin(pub(owner), wire.RoleOwner, "O", ""), authority.SetAdmin(pub(admin), wire.RoleAdmin, "A", ""), authority.SetRecovery(recovery), authority.SetNaming("{username}", "")}, []ed25519.PrivateKey{admin}, authority.ErrBadSignature},
		"no recovery":             {[]authority.Op{authority.SetAdmin(pub(owner), wire.RoleOwner, "O", ""), authority.SetNaming("{username}", "")}, []ed25519.PrivateKey{owner}, authority.ErrInvalidOp},
		"no naming":               {[]authority.Op{authority.SetAdmin(pub(owner), wire.RoleOwner, "O", ""), authority.SetRecovery(recovery)}, []ed25519.PrivateKey{owner}, authority.ErrInvalidOp},
		"unsigned":                {[]authority.Op{authority.SetAdmin(pub(owner), wire.RoleOwner, "O", ""), authority.SetRecovery(recovery), authority.SetNaming("{username}", "")}, nil, authority.ErrMalformed},
	} {
		t.Run(name, func(t *testing.T) { (&log{t: t}).refused(tc.want, tc.ops, tc.keys...) })
	}
}

// TestWhoMaySign: each op needs a signer whose role allows it in the parent state; a removed admin signs nothing.
func TestWhoMaySign(t *testing.T) {
	l := genesis(t)
	dev := identity(t)
	l.refused(authority.ErrBadSignature, []authority.Op{authority.ApproveTech(7, "mallory", "", dev.Public())}, attacker)
	l.refused(authority.ErrBadSignature, []authority.Op{authority.SetTriplet(9, 1, 2, 3)}, auditor)
	l.refused(authority.ErrBadSignature, []authority.Op{authority.SetRecovery("age1pq1attacker")}, admin)
	l.refused(authority.ErrBadSignature, []authority.Op{authority.SetAdmin(pub(attacker), wire.RoleOwner, "M", "")}, admin)
	// A Co-managed Manager approves its own organization's techs only, and changes nothing else.
	l.refused(authority.ErrBadSignature, []authority.Op{authority.ApproveTech(7, "erin", "Fabrikam", dev.Public())}, comgr)
	l.refused(authority.ErrBadSignature, []authority.Op{authority.ApproveTech(7, "erin", "", dev.Public())}, comgr)
	l.refused(authority.ErrBadSignature, []authority.Op{authority.SetGroup(authority.TechGroup, 1, "AllTechs", true, nil)}, comgr)
	l.add([]authority.Op{authority.ApproveTech(7, "erin", "Contoso", dev.Public())}, comgr)
	l.add([]authority.Op{authority.ApproveTech(8, "alice", "", identity(t).Public())}, admin)
	l.refused(authority.ErrBadSignature, []authority.Op{authority.RemoveTech(8)}, comgr)
	// One bad signature among good ones spoils the update; so does one key signing twice.
	u := l.next([]authority.Op{authority.RemoveTech(7)}, admin)
	u.Sigs = append(u.Sigs, authority.Sig{KeyID: seal.KeyID(pub(owner)), Signature: make([]byte, 64)})
	if _, err := l.state.Apply(u); !errors.Is(err, authority.ErrBadSignature) {
		t.Fatalf("bad second signature: %v", err)
	}
	u = l.next([]authority.Op{authority.RemoveTech(7)}, admin)
	u.Sigs = append(u.Sigs, u.Sigs[0])
	if _, err := l.state.Apply(u); !errors.Is(err, authority.ErrBadSignature) {
		t.Fatalf("signed twice: %v", err)
	}
	// The owner removes the admin; the admin's key signs nothing after.
	l.add([]authority.Op{authority.RemoveAdmin(seal.KeyID(pub(admin)))}, owner)
	l.refused(authority.ErrBadSignature, []authority.Op{authority.RemoveTech(7)}, admin)
	// The last owner can be neither removed nor demoted.
	l.refused(authority.ErrInvalidOp, []authority.Op{authority.RemoveAdmin(seal.KeyID(pub(owner)))}, owner)
	l.refused(authority.ErrInvalidOp, []authority.Op{authority.SetAdmin(pub(owner), wire.RoleAdmin, "Olivia", "")}, owner)
}

// TestTamperedUpdate: changing anything a signature covers after signing breaks the signature.
func TestTamperedUpdate(t *testing.T) {
	l := genesis(t)
	u := l.next([]authority.Op{authority.SetRight(3, "AllRights", map[string][]string{wire.DriverAD: {"Domain Admins"}})}, admin)
	u.Ops[0].Targets[wire.DriverAD] = []string{"Enterprise Admins"}
	if _, err := l.state.Apply(u); !errors.Is(err, authority.ErrBadSignature) {
		t.Fatalf("tampered ops: %v", err)
	}
	u = l.next([]authority.Op{authority.RemoveTech(1)}, admin)
	u.Time++
	if _, err := l.state.Apply(u); !errors.Is(err, authority.ErrBadSignature) {
		t.Fatalf("tampered time: %v", err)
	}
}

// TestChainRollbackAndFork: a verifier accepts only updates that extend what it verified, pinned to its genesis.
func TestChainRollbackAndFork(t *testing.T) {
	l := genesis(t)
	l.add([]authority.Op{authority.SetNaming("{username:8}-{abbrev}", "ctso")}, admin)
	sibling := l.next([]authority.Op{authority.SetNaming("{username}", "")}, admin) // built on update 1 too
	l.add([]authority.Op{authority.RemoveTriplet(4)}, admin)

	c := authority.NewChain(authority.Anchor{Tenant: tenant, Genesis: l.state.Genesis})
	if n, err := c.Advance(l.enc...); err != nil || n != 3 {
		t.Fatalf("advance: %d, %v", n, err)
	}
	if n, err := c.Advance(l.enc...); err != nil || n != 0 {
		t.Fatalf("replaying what was verified: %d, %v", n, err)
	}
	// The sibling of update 2 names update 1 as parent: a fork, refused.
	sibling.Seq = 2
	if _, err := c.Advance(encode(t, sibling)); !errors.Is(err, authority.ErrFork) {
		t.Fatalf("sibling: %v", err)
	}
	seq, head := c.Head()
	if seq != 2 || head != l.state.Head {
		t.Fatalf("head %d %s after refusals", seq, head)
	}
	// The hub announcing an older head is a rollback; another hash at a verified sequence number is a fork.
	if err := c.CheckHead(1, authority.Hash{1}); !errors.Is(err, authority.ErrFork) {
		t.Fatalf("other hash at 1: %v", err)
	}
	if err := c.CheckHead(head2(l), l.state.Head); err != nil {
		t.Fatalf("same head: %v", err)
	}
	// Another genesis (the hub's own, with its own owner) is refused by a verifier pinned to the real one.
	other := &log{t: t}
	other.add([]authority.Op{authority.SetAdmin(pub(attacker), wire.RoleOwner, "M", ""), authority.SetRecovery("age1pq1attacker"), authority.SetNaming("{username}", "")}, attacker)
	fresh := authority.NewChain(authority.Anchor{Tenant: tenant, Genesis: l.state.Genesis})
	if _, err := fresh.Advance(other.enc...); !errors.Is(err, authority.ErrWrongTenant) {
		t.Fatalf("another genesis: %v", err)
	}
	// Skipping an update is refused.
	fresh = authority.NewChain(authority.Anchor{Tenant: tenant, Genesis: l.state.Genesis})
	if _, err := fresh.Advance(l.enc[0], l.enc[2]); !errors.Is(err, authority.ErrFork) {
		t.Fatalf("gap: %v", err)
	}
}

func head2(l *log) uint64 { return l.state.Seq }

// TestChainPersists: a chain written to disk and read back is verified again and reaches the same head.
func TestChainPersists(t *testing.T) {
	l := genesis(t)
	l.add([]authority.Op{authority.ApproveTech(8, "alice", "", identity(t).Public())}, admin)
	c := authority.NewChain(authority.Anchor{Tenant: tenant, Genesis: l.state.Genesis})
	if _, err := c.Advance(l.enc...); err != nil {
		t.Fatal(err)
	}
	b, err := c.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	back, err := authority.LoadChain(b)
	if err != nil {
		t.Fatal(err)
	}
	if s1, h1 := c.Head(); true {
		s2, h2 := back.Head()
		if s1 != s2 || h1 != h2 || back.Anchor() != c.Anchor() {
			t.Fatalf("loaded %d %s, saved %d %s", s2, h2, s1, h1)
		}
	}
	b[len(b)-5] ^= 1 // inside the last update's signature
	if _, err := authority.LoadChain(b); err == nil {
		t.Fatal("a corrupted stored chain loaded")
	}
}

// TestDecodeStrict: one update has one encoding; anything else is refused.
func TestDecodeStrict(t *testing.T) {
	l := genesis(t)
	b := l.enc[0]
	if _, err := authority.Decode(b); err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string][]byte{
		"trailing byte":   append(append([]byte{}, b...), 0),
		"truncated":       b[:len(b)-1],
		"empty":           {},
		"indefinite map":  {0xbf, 0x01, 0x01, 0xff},
		"duplicate key":   {0xa2, 0x01, 0x01, 0x01, 0x01},
		"unknown key":     {0xa1, 0x18, 0x63, 0x01},
		"non-minimal int": {0xa1, 0x18, 0x01, 0x01},
	} {
		if _, err := authority.Decode(bad); !errors.Is(err, authority.ErrMalformed) && !errors.Is(err, authority.ErrVersion) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// An operation of a kind this build does not know halts at the previous head: it could be a restriction.
	u := l.next([]authority.Op{{Kind: 99}}, owner)
	if _, err := l.state.Apply(u); !errors.Is(err, authority.ErrInvalidOp) || !strings.Contains(err.Error(), "upgrade") {
		t.Fatalf("unknown op: %v", err)
	}
}

func identity(t testing.TB) *seal.Identity {
	t.Helper()
	id, err := seal.GenerateIdentity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}
