package entitle

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// randomGraph builds a tenant with random activity, memberships and triplets, including dangling references.
func randomGraph(r *rand.Rand, nTechs, nAgents, nTG, nAG, nRights, nTriplets int, density float64) *Graph {
	g := &Graph{}
	drivers := []string{"ad", "linux", "ldap"}
	for i := range nTechs {
		g.Techs = append(g.Techs, Tech{ID: int64(100 + i*3), Active: r.Float64() < 0.8, Username: fmt.Sprintf("tech%d", i)})
	}
	for i := range nAgents {
		g.Agents = append(g.Agents, Agent{ID: int64(7 + i*5), Active: r.Float64() < 0.85, Driver: drivers[r.IntN(3)]})
	}
	pick := func(ids []int64) []int64 {
		var m []int64
		for _, id := range ids {
			if r.Float64() < density {
				m = append(m, id)
			}
		}
		if r.IntN(4) == 0 {
			m = append(m, 999999) // unknown member: grants nothing
		}
		return m
	}
	var techIDs, agentIDs []int64
	for _, t := range g.Techs {
		techIDs = append(techIDs, t.ID)
	}
	for _, a := range g.Agents {
		agentIDs = append(agentIDs, a.ID)
	}
	for i := range nTG {
		g.TechGroups = append(g.TechGroups, Group{ID: int64(1000 + i), All: i == 0, Members: pick(techIDs)})
	}
	for i := range nAG {
		g.AgentGroups = append(g.AgentGroups, Group{ID: int64(2000 + i), Members: pick(agentIDs)})
	}
	for i := range nTriplets {
		tg := int64(1000 + r.IntN(nTG+1)) // sometimes a group that does not exist
		ag := int64(2000 + r.IntN(nAG+1))
		g.Triplets = append(g.Triplets, Triplet{ID: int64(i), TechGroup: tg, AgentGroup: ag, Right: int64(3000 + r.IntN(nRights))})
	}
	return g
}

// bruteRights is the entitlement rule read literally.
func bruteRights(g *Graph, tech Tech, agent Agent) []int64 {
	if !tech.Active || !agent.Active {
		return nil
	}
	holds := func(groups []Group, id, member int64) bool {
		for _, grp := range groups {
			if grp.ID == id {
				return grp.All || slices.Contains(grp.Members, member)
			}
		}
		return false
	}
	var out []int64
	for _, t := range g.Triplets {
		if holds(g.TechGroups, t.TechGroup, tech.ID) && holds(g.AgentGroups, t.AgentGroup, agent.ID) {
			out = append(out, t.Right)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func TestPropertyMatchesBruteForce(t *testing.T) {
	for seed := range uint64(200) {
		r := rand.New(rand.NewPCG(seed, 42))
		g := randomGraph(r, 1+r.IntN(40), 1+r.IntN(30), 1+r.IntN(6), 1+r.IntN(6), 1+r.IntN(5), r.IntN(12), r.Float64())
		x := Compute(g)
		pairs := 0
		for _, a := range g.Agents {
			byTech := map[int64][]int64{}
			for _, gr := range x.ForAgent(a.ID) {
				if gr.Agent.ID != a.ID || len(gr.Rights) == 0 {
					t.Fatalf("seed %d: bad grant %+v for agent %d", seed, gr, a.ID)
				}
				byTech[gr.Tech.ID] = gr.Rights
			}
			if x.Entitled(a.ID) != len(byTech) {
				t.Fatalf("seed %d agent %d: Entitled %d, ForAgent %d", seed, a.ID, x.Entitled(a.ID), len(byTech))
			}
			for _, tc := range g.Techs {
				want := bruteRights(g, tc, a)
				if got := x.Rights(tc.ID, a.ID); !slices.Equal(got, want) {
					t.Fatalf("seed %d: Rights(%d,%d) = %v, want %v", seed, tc.ID, a.ID, got, want)
				}
				if got := byTech[tc.ID]; !slices.Equal(got, want) {
					t.Fatalf("seed %d: ForAgent(%d)[%d] = %v, want %v", seed, a.ID, tc.ID, got, want)
				}
				if len(want) > 0 {
					pairs++
				}
			}
		}
		if x.Pairs() != pairs {
			t.Fatalf("seed %d: Pairs %d, want %d", seed, x.Pairs(), pairs)
		}
		for _, tc := range g.Techs {
			byAgent := map[int64][]int64{}
			for _, gr := range x.ForTech(tc.ID) {
				byAgent[gr.Agent.ID] = gr.Rights
			}
			for _, a := range g.Agents {
				if want := bruteRights(g, tc, a); !slices.Equal(byAgent[a.ID], want) {
					t.Fatalf("seed %d: ForTech(%d)[%d] = %v, want %v", seed, tc.ID, a.ID, byAgent[a.ID], want)
				}
			}
		}
	}
}

func TestInactiveGetNothing(t *testing.T) {
	g := &Graph{
		Techs:       []Tech{{ID: 1, Active: true, Username: "a"}, {ID: 2, Active: false, Username: "b"}},
		Agents:      []Agent{{ID: 10, Active: true, Driver: "ad"}, {ID: 11, Active: false, Driver: "ad"}},
		TechGroups:  []Group{{ID: 100, All: true}, {ID: 101, Members: []int64{2}}},
		AgentGroups: []Group{{ID: 200, Members: []int64{10, 11}}},
		Triplets:    []Triplet{{TechGroup: 100, AgentGroup: 200, Right: 5}, {TechGroup: 101, AgentGroup: 200, Right: 6}},
	}
	x := Compute(g)
	if got := x.Rights(1, 10); !slices.Equal(got, []int64{5}) {
		t.Errorf("active tech on active agent: %v", got)
	}
	for _, p := range [][2]int64{{2, 10}, {1, 11}, {2, 11}} {
		if got := x.Rights(p[0], p[1]); got != nil {
			t.Errorf("Rights%v = %v, want none", p, got)
		}
	}
	if got := x.ForTech(2); got != nil {
		t.Errorf("inactive tech grants: %v", got)
	}
	if got := x.ForAgent(11); got != nil {
		t.Errorf("inactive agent grants: %v", got)
	}
}

func TestNaming(t *testing.T) {
	n := Naming{Format: DefaultFormat, Abbrev: "ctso"}
	if got := n.Name("alice"); got != "alice-ctso" {
		t.Errorf("default: %q", got)
	}
	n = Naming{Format: "adm_{username:5}{abbrev}", Abbrev: "x"}
	if got := n.Name("bartholomew"); got != "adm_barthx" {
		t.Errorf("truncated: %q", got)
	}
	for _, f := range []string{"{abbrev}", "{username}{nope}", "{username:0}", "{username:99}", "{username}}"} {
		if err := CheckFormat(f); !errors.Is(err, ErrBadName) {
			t.Errorf("CheckFormat(%q) = %v", f, err)
		}
	}
	if err := CheckFormat("{username:8}-{abbrev}"); err != nil {
		t.Errorf("CheckFormat good: %v", err)
	}
	valid := map[string][]string{
		"ad":    {"alice-ctso", "a.b_c-d", "12345678901234567890"},
		"linux": {"alice-ctso", "_svc", "a"},
		"ldap":  {"Alice.Smith-x"},
		"entra": {"alice-ctso", "Alice.Smith_x", "a"},
	}
	invalid := map[string][]string{
		"ad":    {"", "123456789012345678901", "a/b", "a[b", "a*b", "a@b", "...", "ab."},
		"linux": {"Alice", "1abc", "a.b", "a234567890123456789012345678901234", ""},
		"ldap":  {"", "a b", "a,b"},
		"entra": {"", "a b", "a@b", "o'brien-ctso", "a~b", ".alice", "alice.", "a..b", "a:b", strings.Repeat("a", 65)},
		"other": {"alice"},
	}
	for d, names := range valid {
		for _, s := range names {
			if err := ValidName(d, s); err != nil {
				t.Errorf("ValidName(%s, %q) = %v", d, s, err)
			}
		}
	}
	for d, names := range invalid {
		for _, s := range names {
			if err := ValidName(d, s); !errors.Is(err, ErrBadName) {
				t.Errorf("ValidName(%s, %q) = %v, want ErrBadName", d, s, err)
			}
		}
	}
}

func TestPlanCollisions(t *testing.T) {
	g := &Graph{
		Techs: []Tech{
			{ID: 1, Active: true, Username: "jonathan1"}, {ID: 2, Active: true, Username: "jonathan2"},
			{ID: 3, Active: true, Username: "zoe"}, {ID: 4, Active: true, Username: "averyveryverylongname"},
			{ID: 5, Active: true, Username: "mia"},
		},
		Agents:      []Agent{{ID: 10, Active: true, Driver: "ad"}},
		TechGroups:  []Group{{ID: 100, All: true}},
		AgentGroups: []Group{{ID: 200, Members: []int64{10}}},
		Triplets:    []Triplet{{TechGroup: 100, AgentGroup: 200, Right: 5}},
	}
	x := Compute(g)
	planned, problems := x.Plan(10, Naming{Format: "{username:8}-{abbrev}", Abbrev: "ct"}, map[string]int64{"mia-ct": 99})
	var names []string
	for _, p := range planned {
		names = append(names, p.AccountName)
	}
	if !slices.Equal(names, []string{"zoe-ct", "averyver-ct"}) {
		t.Errorf("planned %v", names)
	}
	got := map[int64]error{}
	for _, p := range problems {
		got[p.Tech.ID] = p.Err
	}
	for _, id := range []int64{1, 2, 5} {
		if !errors.Is(got[id], ErrCollision) {
			t.Errorf("tech %d: %v, want collision", id, got[id])
		}
	}
	if len(problems) != 3 {
		t.Errorf("problems: %v", problems)
	}
	// The default format on a long username breaks the AD limit and is reported, not truncated.
	_, problems = x.Plan(10, Naming{Format: DefaultFormat, Abbrev: "ct"}, nil)
	if len(problems) != 1 || problems[0].Tech.ID != 4 || !errors.Is(problems[0].Err, ErrBadName) {
		t.Errorf("default format problems: %+v", problems)
	}
}

// TestReservedNames: the built-in and privileged principals of the targets, whatever their case, are refused as
// usernames and never planned as account names, under any format that renders them.
func TestReservedNames(t *testing.T) {
	for _, n := range []string{"administrator", "Administrator", "ADMIN", "guest", "krbtgt", "krbtgt_31337", "DefaultAccount",
		"wdagutilityaccount", "root", "daemon", "bin", "sys", "sync", "nobody", "web01$", "x$", "KRBTGT_12345678901234", " Root "} {
		if !Reserved(n) {
			t.Errorf("Reserved(%q) = false", n)
		}
		if err := CheckUsername(n); !errors.Is(err, ErrReserved) {
			t.Errorf("CheckUsername(%q) = %v, want ErrReserved", n, err)
		}
	}
	for _, n := range []string{"alice", "administrator-tm", "admin2", "rooty", "bin.smith", "guest-ct", "sysadmin", "wdagutilityaccount2", "krbtgt-tm", "krbtgtx"} {
		if Reserved(n) || CheckUsername(n) != nil {
			t.Errorf("Reserved(%q) = true", n)
		}
	}
	g := &Graph{
		Techs: []Tech{
			{ID: 1, Active: true, Username: "administrator"}, {ID: 2, Active: true, Username: "krbtgt"},
			{ID: 3, Active: true, Username: "guest"}, {ID: 4, Active: true, Username: "administrator2"},
			{ID: 5, Active: true, Username: "alice"}, {ID: 6, Active: true, Username: "rootkit"},
		},
		Agents:      []Agent{{ID: 10, Active: true, Driver: "ad"}, {ID: 11, Active: true, Driver: "linux"}, {ID: 12, Active: true, Driver: "ldap"}},
		TechGroups:  []Group{{ID: 100, All: true}},
		AgentGroups: []Group{{ID: 200, Members: []int64{10, 11, 12}}},
		Triplets:    []Triplet{{TechGroup: 100, AgentGroup: 200, Right: 5}},
	}
	x := Compute(g)
	for _, c := range []struct {
		format string
		bad    []int64 // techs whose rendered name is reserved
	}{
		{"{username}", []int64{1, 2, 3}},
		{"{username:5}", []int64{1, 4}}, // "admin" twice: reserved before colliding
		{"{username:4}", []int64{6}},    // "root"
		{"Adm{username:2}", []int64{}},  // "Admad": not reserved
		{"{username:3}$", []int64{1, 2, 3, 4, 5, 6}},
		{DefaultFormat, []int64{}},
	} {
		for _, agent := range []int64{10, 11, 12} {
			planned, problems := x.Plan(agent, Naming{Format: c.format, Abbrev: "tm"}, nil)
			for _, p := range planned {
				if Reserved(p.AccountName) {
					t.Errorf("format %q, agent %d: planned reserved %q", c.format, agent, p.AccountName)
				}
			}
			got := map[int64]bool{}
			for _, p := range problems {
				if errors.Is(p.Err, ErrReserved) {
					got[p.Tech.ID] = true
				}
			}
			for _, id := range c.bad {
				// A name that is invalid on the driver anyway (Linux and "$") is reported as invalid first.
				if !got[id] && ValidName(g.Agents[agent-10].Driver, (Naming{Format: c.format, Abbrev: "tm"}).Name(g.Techs[id-1].Username)) == nil {
					t.Errorf("format %q, agent %d: tech %d not reported reserved: %+v", c.format, agent, id, problems)
				}
			}
			if len(c.bad) == 0 && len(got) != 0 {
				t.Errorf("format %q, agent %d: reserved reported %v", c.format, agent, got)
			}
		}
	}
	for f, want := range map[string]bool{
		"{username}": false, "{username:8}": false, "{username}{username:2}": false, "": true, DefaultFormat: true,
		"{username}{abbrev}": true, "adm-{username}": true, "{username}.": true, "{username:3}x": true,
	} {
		if got := HasFixedPart(f); got != want {
			t.Errorf("HasFixedPart(%q) = %t, want %t", f, got, want)
		}
	}
}

// bigGraph is the benchmark's MSP: 10,000 techs, 10,000 agents, 100 triplets over 50 tech groups, 50 agent groups
// and 20 rights. Each group holds about 5% of its kind; one triplet is the All triplet.
func bigGraph() *Graph {
	r := rand.New(rand.NewPCG(1, 2))
	const nTechs, nAgents = 10_000, 10_000
	g := &Graph{}
	for i := range nTechs {
		g.Techs = append(g.Techs, Tech{ID: int64(i + 1), Active: i%20 != 0, Username: fmt.Sprintf("tech%05d", i)})
	}
	for i := range nAgents {
		g.Agents = append(g.Agents, Agent{ID: int64(i + 1), Active: i%50 != 0, Driver: "ad"})
	}
	g.TechGroups = append(g.TechGroups, Group{ID: 1, All: true})
	for i := range 49 {
		grp := Group{ID: int64(i + 2)}
		for range nTechs / 20 {
			grp.Members = append(grp.Members, int64(r.IntN(nTechs)+1))
		}
		g.TechGroups = append(g.TechGroups, grp)
	}
	all := Group{ID: 1}
	for i := range nAgents {
		all.Members = append(all.Members, int64(i+1))
	}
	g.AgentGroups = append(g.AgentGroups, all)
	for i := range 49 {
		grp := Group{ID: int64(i + 2)}
		for range nAgents / 20 {
			grp.Members = append(grp.Members, int64(r.IntN(nAgents)+1))
		}
		g.AgentGroups = append(g.AgentGroups, grp)
	}
	g.Triplets = append(g.Triplets, Triplet{ID: 1, TechGroup: 1, AgentGroup: 1, Right: 1})
	for i := range 99 {
		g.Triplets = append(g.Triplets, Triplet{ID: int64(i + 2), TechGroup: int64(r.IntN(50) + 1),
			AgentGroup: int64(r.IntN(50) + 1), Right: int64(r.IntN(20) + 1)})
	}
	return g
}

// BenchmarkRecompute measures a full recompute: group bitsets, per-agent triplets and every agent's entitled count
// (10k techs × 10k agents × 100 triplets). Goal: ≤ 1 s.
func BenchmarkRecompute(b *testing.B) {
	g := bigGraph()
	b.ReportAllocs()
	var pairs int
	for b.Loop() {
		pairs = Compute(g).Pairs()
	}
	b.ReportMetric(float64(pairs), "pairs")
}

// BenchmarkAgentPlan measures one agent's plan (every entitled tech, rights and validated account names) on the
// same graph. Goal: ≤ 5 ms.
func BenchmarkAgentPlan(b *testing.B) {
	x := Compute(bigGraph())
	n := Naming{Format: DefaultFormat, Abbrev: "msp"}
	b.ReportAllocs()
	var accounts int
	for b.Loop() {
		p, _ := x.Plan(2, n, nil)
		accounts = len(p)
	}
	b.ReportMetric(float64(accounts), "accounts")
}

// BenchmarkTechCredentials measures one tech's grants on every agent.
func BenchmarkTechCredentials(b *testing.B) {
	x := Compute(bigGraph())
	b.ReportAllocs()
	var agents int
	for b.Loop() {
		agents = len(x.ForTech(2))
	}
	b.ReportMetric(float64(agents), "agents")
}

// TestShortName: a tech's short name stands for the username in its account names, which resolves a name too long
// for AD and a collision; a bad or reserved short name is refused.
func TestShortName(t *testing.T) {
	g := &Graph{
		Techs: []Tech{
			{ID: 1, Active: true, Username: "maximilian.oz"}, {ID: 2, Active: true, Username: "jonathan1"},
			{ID: 3, Active: true, Username: "jonathan2"},
		},
		Agents:      []Agent{{ID: 10, Active: true, Driver: "ad"}},
		TechGroups:  []Group{{ID: 100, All: true}},
		AgentGroups: []Group{{ID: 200, Members: []int64{10}}},
		Triplets:    []Triplet{{TechGroup: 100, AgentGroup: 200, Right: 5}},
	}
	n := Naming{Format: DefaultFormat, Abbrev: "contoso"}
	taken := map[string]int64{"jonathan2-contoso": 99} // a former tech's account
	if _, problems := Compute(g).Plan(10, n, taken); len(problems) != 2 {
		t.Fatalf("without short names: %d problems, want 2 (one too long, one colliding)", len(problems))
	}
	g.Techs[0].ShortName, g.Techs[2].ShortName = "maxo", "jon2"
	planned, problems := Compute(g).Plan(10, n, taken)
	var names []string
	for _, p := range planned {
		names = append(names, p.AccountName)
	}
	if len(problems) != 0 || !slices.Equal(names, []string{"maxo-contoso", "jonathan1-contoso", "jon2-contoso"}) {
		t.Fatalf("with short names: planned %v, problems %v", names, problems)
	}
	if Base("maximilian.o", "") != "maximilian.o" || Base("maximilian.o", "maxo") != "maxo" {
		t.Error("Base")
	}
	for _, bad := range []string{"", "Max", "-max", "max o", "max@o", "a23456789012345678901234567890123"} {
		if err := CheckShortName(bad); !errors.Is(err, ErrBadName) {
			t.Errorf("short name %q: %v, want ErrBadName", bad, err)
		}
	}
	if err := CheckShortName("root"); !errors.Is(err, ErrReserved) {
		t.Errorf("short name root: %v, want ErrReserved", err)
	}
	if err := CheckShortName("max.o_2-x"); err != nil {
		t.Errorf("short name max.o_2-x: %v", err)
	}
}

// TestTooLongSaysHowLong: a name too long for AD says its length, so the admin sees by how much.
func TestTooLongSaysHowLong(t *testing.T) {
	err := ValidName("ad", "maximilian.oz-contoso")
	if !errors.Is(err, ErrBadName) || !strings.Contains(err.Error(), `"maximilian.oz-contoso" is 21 characters`) {
		t.Fatalf("too long: %v", err)
	}
}
