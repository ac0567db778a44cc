package authority_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// What the admins' signatures cost where someone waits for them: an admin's approval in the Console, and a
// technician's open in the TechClient. The agent's plan check is BenchmarkCheckPlan5000 (plan_test.go).

// Sizes of the tenant the approvals are measured on: an MSP of a thousand technicians and a hundred domains.
const (
	costTechs       = 1000
	costAgents      = 100
	costTechGroups  = 25 // beside AllTechs
	costAgentGroups = 25 // beside AllDomains
	costTriplets    = 20 // beside the built-in one
	mspGroup        = int64(10)
)

// bigTenant is the genesis log grown by signed updates to costTechs approved techs (all in mspGroup, the TechGroup
// new MSP techs join), costAgents enrolled agents, costTechGroups + costAgentGroups groups and costTriplets triplets
// over ten rights. Distinct device keys are costly to make and cost nothing more to apply than repeated ones, so
// 64 devices stand for the thousand.
func bigTenant(b *testing.B) *log {
	l := genesis(b)
	devs := make([]*seal.PublicKey, 64)
	for i := range devs {
		devs[i] = identity(b).Public()
	}
	var ops []authority.Op
	var techs, agents []int64
	for i := range costTechs {
		id := int64(1000 + i)
		ops = append(ops, authority.ApproveTech(id, fmt.Sprintf("tech%04d", i), "", devs[i%len(devs)]))
		techs = append(techs, id)
	}
	for i := range costAgents {
		id := int64(5000 + i)
		ops = append(ops, authority.EnrollAgent(id, fmt.Sprintf("domain%03d.local", i), wire.DriverAD, pub(key(fmt.Sprintf("agent-%d", i)))))
		agents = append(agents, id)
	}
	ops = append(ops, authority.SetGroup(authority.TechGroup, mspGroup, "MSP staff", false, techs))
	for i := 1; i < costTechGroups; i++ {
		ops = append(ops, authority.SetGroup(authority.TechGroup, mspGroup+int64(i), fmt.Sprintf("team %d", i), false, techs[i*10:i*10+40]))
	}
	for i := range costAgentGroups {
		ops = append(ops, authority.SetGroup(authority.AgentGroup, 100+int64(i), fmt.Sprintf("customer %d", i), false, agents[i*4:i*4+4]))
	}
	for i := range 10 {
		ops = append(ops, authority.SetRight(200+int64(i), fmt.Sprintf("right %d", i), map[string][]string{wire.DriverAD: {"Domain Admins", fmt.Sprintf("Helpdesk %d", i)}}))
	}
	for i := range costTriplets {
		ops = append(ops, authority.SetTriplet(300+int64(i), mspGroup+int64(i%costTechGroups), 100+int64(i%costAgentGroups), 200+int64(i%10)))
	}
	for len(ops) > 0 {
		k := min(len(ops), authority.MaxOps)
		l.add(ops[:k], admin)
		ops = ops[k:]
	}
	return l
}

// BenchmarkApproval is what an admin's approval costs the Console with the signed authority on, on a tenant of
// bigTenant's size: for each tech, its device key parsed from the string the hub lists and its approval op built;
// the MSP group's new membership; one update built, signed with the admin's Ed25519 key, encoded, and verified
// and applied to a copy of the state (State.Apply, which is also what every agent and TechClient does with it).
// An admin approving a CSV import's 200 techs signs one update, not 200 (console/vm ApproveMany). verify is what
// each agent and TechClient pays for that update when it follows the chain: decode it and apply it.
func BenchmarkApproval(b *testing.B) {
	l := bigTenant(b)
	s := l.state
	if len(s.Techs) != costTechs || len(s.Agents) != costAgents || len(s.Triplets) != costTriplets+1 ||
		len(s.TechGroups) != costTechGroups+1 || len(s.AgentGroups) != costAgentGroups+1 {
		b.Fatalf("tenant of %d techs, %d agents, %d+%d groups, %d triplets", len(s.Techs), len(s.Agents), len(s.TechGroups), len(s.AgentGroups), len(s.Triplets))
	}
	for _, n := range []int{1, 200} {
		pending := make([]string, n) // the device keys as the hub lists them
		for i := range pending {
			pending[i] = identity(b).Public().String()
		}
		approve := func() ([]byte, *authority.State) {
			members := make([]int64, 0, len(s.TechGroups[mspGroup].Members)+n)
			for id := range s.TechGroups[mspGroup].Members {
				members = append(members, id)
			}
			ops := make([]authority.Op, 0, n+1)
			for i, k := range pending {
				dev, err := seal.ParsePublicKey(k)
				if err != nil {
					b.Fatal(err)
				}
				id := int64(100000 + i)
				ops = append(ops, authority.ApproveTech(id, fmt.Sprintf("new%04d", i), "", dev))
				members = append(members, id)
			}
			ops = append(ops, authority.SetGroup(authority.TechGroup, mspGroup, "MSP staff", false, members))
			u := authority.New(tenant, s.Seq+1, s.Head, s.Genesis, t0.Add(time.Hour), ops...)
			if err := u.Sign(admin); err != nil {
				b.Fatal(err)
			}
			enc, err := u.Encode()
			if err != nil {
				b.Fatal(err)
			}
			next, err := s.Apply(u)
			if err != nil {
				b.Fatal(err)
			}
			return enc, next
		}
		enc, next := approve()
		if len(next.Techs) != costTechs+n || len(next.TechGroups[mspGroup].Members) != costTechs+n {
			b.Fatalf("after approving %d: %d techs, %d in the MSP group", n, len(next.Techs), len(next.TechGroups[mspGroup].Members))
		}
		b.Run(fmt.Sprintf("techs=%d", n), func(b *testing.B) {
			for b.Loop() {
				approve()
			}
		})
		if n == 1 {
			continue
		}
		b.Run(fmt.Sprintf("verify-techs=%d", n), func(b *testing.B) {
			for b.Loop() {
				u, err := authority.Decode(enc)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.Apply(u); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSignedOpen is what checking the agent's signature adds to a TechClient's open of one password
// (techclient/vm): a 64-byte password sealed to a device and the recovery recipient (hybrid ML-KEM-768 + X25519),
// opened with the device alone (open-ms), and opened after the envelope's statement is computed and its agent's
// signature verified against the signed state (verified-ms), as the TechClient does before every reveal and copy.
// The two alternate call by call, in turn first, so that a shared machine's load falls on both alike; verified/open
// is their ratio in this run.
func BenchmarkSignedOpen(b *testing.B) {
	agentKey := key("agent-contoso")
	l := genesis(b)
	l.add([]authority.Op{authority.EnrollAgent(3, "contoso.local", wire.DriverAD, pub(agentKey))}, admin)
	dev, rec := identity(b), identity(b)
	ctx := seal.Context{Tenant: tenant, Agent: "3", Account: "alice-ctso", Version: 7}
	pw := make([]byte, 64)
	for i := range pw {
		pw[i] = 'a' + byte(i%26)
	}
	env, err := seal.Seal(pw, ctx, dev.Public(), rec.Public())
	if err != nil {
		b.Fatal(err)
	}
	sig := authority.SignEnvelope(agentKey, authority.NewEnvelopeStatement(tenant, 3, 17, "alice-ctso", 7, env))
	open := func() time.Duration {
		t := time.Now()
		if got, err := seal.Open(env, ctx, dev); err != nil || string(got) != string(pw) {
			b.Fatalf("open: %v", err)
		}
		return time.Since(t)
	}
	verified := func() time.Duration {
		t := time.Now()
		if err := l.state.VerifyEnvelope(authority.NewEnvelopeStatement(tenant, 3, 17, "alice-ctso", 7, env), sig); err != nil {
			b.Fatal(err)
		}
		open()
		return time.Since(t)
	}
	var plain, checked time.Duration
	for i := 0; b.Loop(); i++ {
		if i%2 == 0 {
			plain += open()
			checked += verified()
		} else {
			checked += verified()
			plain += open()
		}
	}
	n := float64(b.N)
	b.ReportMetric(plain.Seconds()*1e3/n, "open-ms")
	b.ReportMetric(checked.Seconds()*1e3/n, "verified-ms")
	b.ReportMetric(float64(checked)/float64(plain), "verified/open")
}
