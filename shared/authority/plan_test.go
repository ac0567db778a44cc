package authority_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// planFixture is a tenant with alice (approved, in AllTechs) and agent 20 (AD, enrolled), and the plan an honest
// hub sends agent 20.
type planFixture struct {
	l      *log
	chain  *authority.Chain
	alice  *seal.Identity
	plan   wire.Plan
	thief  *seal.Identity
	stolen string // the attacker's recipient
}

func newPlanFixture(t *testing.T) *planFixture {
	f := &planFixture{l: genesis(t), alice: identity(t), thief: identity(t)}
	f.stolen = f.thief.Public().Recipient().String()
	f.l.add([]authority.Op{
		authority.ApproveTech(8, "alice", "", f.alice.Public()),
		authority.EnrollAgent(20, "contoso.local", wire.DriverAD, pub(key("agent-20"))),
	}, admin)
	f.chain = authority.NewChain(authority.Anchor{Tenant: tenant, Genesis: f.l.state.Genesis})
	if _, err := f.chain.Advance(f.l.enc...); err != nil {
		t.Fatal(err)
	}
	f.plan = wire.Plan{ClientGUID: tenant, AgentID: 20, Driver: wire.DriverAD, Recovery: recovery,
		Accounts: []wire.PlanAccount{{AccountID: 1, TechID: 8, Username: "alice", AccountName: "alice-ctso",
			Groups: []string{"Domain Admins"}, Recipients: []string{f.alice.Public().Recipient().String()}}}}
	return f
}

// TestCheckPlan: the honest plan passes; each lie a hub could tell to widen access is refused, naming the account.
func TestCheckPlan(t *testing.T) {
	f := newPlanFixture(t)
	if err := f.chain.CheckPlan(&f.plan); err != nil {
		t.Fatalf("honest plan: %v", err)
	}
	for name, lie := range map[string]func(p *wire.Plan){
		"recovery swapped":          func(p *wire.Plan) { p.Recovery = f.stolen },
		"attacker's device added":   func(p *wire.Plan) { p.Accounts[0].Recipients = append(p.Accounts[0].Recipients, f.stolen) },
		"attacker's device instead": func(p *wire.Plan) { p.Accounts[0].Recipients = []string{f.stolen} },
		"unapproved tech": func(p *wire.Plan) {
			p.Accounts = append(p.Accounts, wire.PlanAccount{TechID: 9, Username: "mallory", AccountName: "mallory-ctso", Recipients: []string{f.stolen}})
		},
		"username swapped":         func(p *wire.Plan) { p.Accounts[0].Username = "administrator" },
		"naming to hit an account": func(p *wire.Plan) { p.Accounts[0].AccountName = "alice" },
		"group no right names":     func(p *wire.Plan) { p.Accounts[0].Groups = append(p.Accounts[0].Groups, "Enterprise Admins") },
		"another agent's plan":     func(p *wire.Plan) { p.AgentID = 21 },
		"another tenant":           func(p *wire.Plan) { p.ClientGUID = "another" },
	} {
		t.Run(name, func(t *testing.T) {
			p := f.plan
			p.Accounts = append([]wire.PlanAccount(nil), f.plan.Accounts...)
			p.Accounts[0].Groups = append([]string(nil), f.plan.Accounts[0].Groups...)
			p.Accounts[0].Recipients = append([]string(nil), f.plan.Accounts[0].Recipients...)
			lie(&p)
			err := f.chain.CheckPlan(&p)
			if !errors.Is(err, authority.ErrNotAuthorized) {
				t.Fatalf("%s: %v", name, err)
			}
			if strings.Contains(err.Error(), f.stolen) {
				t.Fatal("the error repeats a whole recipient")
			}
		})
	}
}

// TestCheckPlanFollowsSignedChanges: access the admins take away in a signed update is refused at once, and a
// right they widen is accepted.
func TestCheckPlanFollowsSignedChanges(t *testing.T) {
	f := newPlanFixture(t)
	f.plan.Accounts[0].Groups = []string{"Domain Admins", "Backup Operators"}
	if err := f.chain.CheckPlan(&f.plan); err == nil {
		t.Fatal("a group no right names was accepted")
	}
	b := f.l.add([]authority.Op{authority.SetRight(3, "AllRights", map[string][]string{wire.DriverAD: {"Domain Admins", "Backup Operators"}})}, admin)
	if _, err := f.chain.Advance(b); err != nil {
		t.Fatal(err)
	}
	if err := f.chain.CheckPlan(&f.plan); err != nil {
		t.Fatalf("after the signed right: %v", err)
	}
	b = f.l.add([]authority.Op{authority.RemoveTriplet(4)}, admin)
	if _, err := f.chain.Advance(b); err != nil {
		t.Fatal(err)
	}
	if err := f.chain.CheckPlan(&f.plan); !errors.Is(err, authority.ErrNotAuthorized) {
		t.Fatalf("after the triplet was removed: %v", err)
	}
	// Disabling needs no grant: taking access away is never a breach.
	f.plan.Disable = append(f.plan.Disable, wire.PlanDisable{AccountID: 1, TechID: 8, AccountName: "alice-ctso"})
	f.plan.Accounts = nil
	if err := f.chain.CheckPlan(&f.plan); err != nil {
		t.Fatalf("a plan that only disables: %v", err)
	}
}

// BenchmarkCheckPlan5000 checks an agent's plan of 5,000 accounts, as an agent does on every poll once its
// recipients are known.
func BenchmarkCheckPlan5000(b *testing.B) {
	l := genesis(b)
	const n = 5000
	ids := make([]*seal.Identity, 64) // distinct devices are costly to make; 64 stand for 5,000 in the hashing
	rcpts := make([]string, len(ids)) // encoded once (bech32 of 10,000 recipients was most of the setup), copied below
	for i := range ids {
		ids[i] = identity(b)
		rcpts[i] = ids[i].Public().Recipient().String()
	}
	var ops []authority.Op
	plan := wire.Plan{ClientGUID: tenant, AgentID: 20, Driver: wire.DriverAD, Recovery: recovery}
	for i := range n {
		id := int64(100 + i)
		user := fmt.Sprintf("tech%04d", i)
		dev, rcpt := ids[i%len(ids)].Public(), rcpts[i%len(ids)]
		ops = append(ops, authority.Op{Kind: authority.OpTechApprove, ID: id, Name: user, Key: dev.AuthKey(), Recipient: authority.RecipientHash(rcpt)})
		plan.Accounts = append(plan.Accounts, wire.PlanAccount{TechID: id, Username: user, AccountName: user + "-ctso",
			// Each account its own copy, as the agent decodes them from the plan's JSON: equal strings that share
			// their bytes compare at once and would flatter the check.
			Groups: []string{"Domain Admins"}, Recipients: []string{strings.Clone(rcpt)}})
	}
	ops = append(ops, authority.EnrollAgent(20, "contoso.local", wire.DriverAD, pub(key("agent-20"))))
	for len(ops) > 0 {
		k := min(len(ops), authority.MaxOps)
		l.add(ops[:k], admin)
		ops = ops[k:]
	}
	c := authority.NewChain(authority.Anchor{Tenant: tenant, Genesis: l.state.Genesis})
	if _, err := c.Advance(l.enc...); err != nil {
		b.Fatal(err)
	}
	if err := c.CheckPlan(&plan); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := c.CheckPlan(&plan); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCheckPlanShortName: an account named from the tech's signed short name passes; one named from a short name
// the admins never signed is refused; the account created under the username keeps passing; a short name that is
// another tech's username, or a bad one, is never signed in.
func TestCheckPlanShortName(t *testing.T) {
	f := newPlanFixture(t)
	short := f.plan
	short.Accounts = []wire.PlanAccount{f.plan.Accounts[0]}
	short.Accounts[0].AccountName = "al-ctso"
	if err := f.chain.CheckPlan(&short); !errors.Is(err, authority.ErrNotAuthorized) {
		t.Fatalf("unsigned short name: %v, want refused", err)
	}
	f.l.add([]authority.Op{authority.SetTechShortName(8, "al")}, admin)
	if _, err := f.chain.Advance(f.l.enc[len(f.l.enc)-1]); err != nil {
		t.Fatal(err)
	}
	if err := f.chain.CheckPlan(&short); err != nil {
		t.Fatalf("signed short name: %v", err)
	}
	if err := f.chain.CheckPlan(&f.plan); err != nil {
		t.Fatalf("the account named before the short name: %v", err)
	}
	other := short
	other.Accounts = []wire.PlanAccount{short.Accounts[0]}
	other.Accounts[0].AccountName = "bo-ctso"
	if err := f.chain.CheckPlan(&other); !errors.Is(err, authority.ErrNotAuthorized) {
		t.Fatalf("another short name: %v, want refused", err)
	}
	// A device replacement keeps the short name.
	f.l.add([]authority.Op{authority.ApproveTech(8, "alice", "", identity(t).Public())}, admin)
	if f.l.state.Techs[8].ShortName != "al" {
		t.Fatalf("short name after a new device: %q", f.l.state.Techs[8].ShortName)
	}
	f.l.add([]authority.Op{authority.ApproveTech(9, "bob", "", identity(t).Public())}, admin)
	f.l.refused(authority.ErrInvalidOp, []authority.Op{authority.SetTechShortName(9, "alice")}, admin)
	f.l.refused(authority.ErrInvalidOp, []authority.Op{authority.SetTechShortName(9, "al")}, admin)
	f.l.refused(authority.ErrInvalidOp, []authority.Op{authority.ApproveTech(10, "al", "", identity(t).Public())}, admin)
	f.l.refused(authority.ErrInvalidOp, []authority.Op{authority.SetTechShortName(9, "Root")}, admin)
	f.l.refused(authority.ErrInvalidOp, []authority.Op{authority.SetTechShortName(11, "carol")}, admin)
	f.l.refused(authority.ErrBadSignature, []authority.Op{authority.SetTechShortName(9, "bo")}, auditor)
	f.l.add([]authority.Op{authority.SetTechShortName(8, "")}, admin)
	if f.l.state.Techs[8].ShortName != "" {
		t.Fatal("the short name was not taken away")
	}
}
