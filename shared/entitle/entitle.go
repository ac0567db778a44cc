// Package entitle computes who gets which account where.
//
// The rule is one line: tech T gets an account on agent A with rights R = the union of the rights of every triplet
// whose TechGroup holds T and whose AgentGroup holds A, counting only active techs and active agents. Nothing here is
// stored; the hub rebuilds an Index from its tables whenever they change and asks it for one agent's plan or one
// tech's credential list.
//
// The Index is built for a large MSP (10,000 techs × 10,000 agents × 100 triplets): every group becomes a bitset of
// its active members, every agent keeps the short list of triplets whose AgentGroup holds it, and the entitled techs
// of an agent are the OR of a few bitsets. A full recompute is a few word operations per (agent, triplet), and one
// agent's plan walks only the set bits of its triplets' tech groups. The (tech × agent) matrix is never materialised.
package entitle

import (
	"math/bits"
	"slices"
)

// Tech is a tech as the entitlement rule sees it.
type Tech struct {
	ID       int64
	Active   bool
	Username string
	// ShortName, when an admin set one, stands for the username in the tech's account names (Base).
	ShortName string
}

// Agent is an agent as the entitlement rule sees it.
type Agent struct {
	ID     int64
	Active bool
	Driver string
}

// Group is a TechGroup or an AgentGroup. All makes the group hold every active member implicitly (AllTechs).
type Group struct {
	ID      int64
	All     bool
	Members []int64
}

// Triplet grants Right to the techs of TechGroup on the agents of AgentGroup.
type Triplet struct {
	ID         int64
	TechGroup  int64
	AgentGroup int64
	Right      int64
}

// Graph is one tenant's entitlement inputs.
type Graph struct {
	Techs       []Tech
	Agents      []Agent
	TechGroups  []Group
	AgentGroups []Group
	Triplets    []Triplet
}

type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

func (b bitset) set(i int32)      { b[i>>6] |= 1 << (uint(i) & 63) }
func (b bitset) has(i int32) bool { return b[i>>6]&(1<<(uint(i)&63)) != 0 }
func (b bitset) or(c bitset) {
	for i := range b {
		b[i] |= c[i]
	}
}
func (b bitset) count() int {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}

// each calls fn for every set bit in increasing order.
func (b bitset) each(fn func(i int32)) {
	for wi, w := range b {
		for w != 0 {
			t := bits.TrailingZeros64(w)
			fn(int32(wi<<6 + t))
			w &= w - 1
		}
	}
}

// triplet is a Triplet resolved to dense indexes.
type triplet struct {
	techGroup  int32 // index into techBits
	agentGroup int32 // index into agentBits
	right      int32 // dense right index
}

// Index answers entitlement questions for one Graph. It is immutable once built and safe for concurrent use.
type Index struct {
	techs     []Tech
	agents    []Agent
	techPos   map[int64]int32
	agentPos  map[int64]int32
	rights    []int64 // dense right index → right ID, sorted
	techBits  []bitset
	agentBits []bitset
	triplets  []triplet // sorted by right
	// perAgent[a] lists the triplets (indexes into triplets, increasing, hence by right) whose AgentGroup holds a.
	perAgent [][]int32
	// entitled[a] counts the techs with at least one right on agent a.
	entitled []int
}

// Compute builds the Index of g. Unknown group, member or right references are ignored: they grant nothing.
func Compute(g *Graph) *Index {
	x := &Index{
		techs:    g.Techs,
		agents:   g.Agents,
		techPos:  make(map[int64]int32, len(g.Techs)),
		agentPos: make(map[int64]int32, len(g.Agents)),
	}
	for i, t := range g.Techs {
		x.techPos[t.ID] = int32(i)
	}
	for i, a := range g.Agents {
		x.agentPos[a.ID] = int32(i)
	}
	techGroupPos := make(map[int64]int32, len(g.TechGroups))
	x.techBits = make([]bitset, len(g.TechGroups))
	for i, grp := range g.TechGroups {
		techGroupPos[grp.ID] = int32(i)
		x.techBits[i] = members(grp, len(g.Techs), x.techPos, func(p int32) bool { return g.Techs[p].Active })
	}
	agentGroupPos := make(map[int64]int32, len(g.AgentGroups))
	x.agentBits = make([]bitset, len(g.AgentGroups))
	for i, grp := range g.AgentGroups {
		agentGroupPos[grp.ID] = int32(i)
		x.agentBits[i] = members(grp, len(g.Agents), x.agentPos, func(p int32) bool { return g.Agents[p].Active })
	}

	for _, t := range g.Triplets {
		x.rights = append(x.rights, t.Right)
	}
	slices.Sort(x.rights)
	x.rights = slices.Compact(x.rights)
	for _, t := range g.Triplets {
		tg, ok1 := techGroupPos[t.TechGroup]
		ag, ok2 := agentGroupPos[t.AgentGroup]
		if !ok1 || !ok2 {
			continue
		}
		r, _ := slices.BinarySearch(x.rights, t.Right)
		x.triplets = append(x.triplets, triplet{techGroup: tg, agentGroup: ag, right: int32(r)})
	}
	slices.SortFunc(x.triplets, func(a, b triplet) int { return int(a.right) - int(b.right) })

	x.perAgent = make([][]int32, len(g.Agents))
	for ti, t := range x.triplets {
		x.agentBits[t.agentGroup].each(func(a int32) { x.perAgent[a] = append(x.perAgent[a], int32(ti)) })
	}
	x.entitled = make([]int, len(g.Agents))
	scratch := newBitset(len(g.Techs))
	for a, ts := range x.perAgent {
		if len(ts) == 0 {
			continue
		}
		clear(scratch)
		for _, ti := range ts {
			scratch.or(x.techBits[x.triplets[ti].techGroup])
		}
		x.entitled[a] = scratch.count()
	}
	return x
}

func members(grp Group, n int, pos map[int64]int32, active func(int32) bool) bitset {
	b := newBitset(n)
	if grp.All {
		for p := range int32(n) {
			if active(p) {
				b.set(p)
			}
		}
		return b
	}
	for _, id := range grp.Members {
		if p, ok := pos[id]; ok && active(p) {
			b.set(p)
		}
	}
	return b
}

// Pairs is the number of (tech, agent) pairs with at least one right.
func (x *Index) Pairs() int {
	n := 0
	for _, e := range x.entitled {
		n += e
	}
	return n
}

// Entitled is the number of techs with at least one right on agent.
func (x *Index) Entitled(agent int64) int {
	a, ok := x.agentPos[agent]
	if !ok {
		return 0
	}
	return x.entitled[a]
}

// Rights returns the sorted right IDs tech holds on agent, nil if none.
func (x *Index) Rights(tech, agent int64) []int64 {
	t, ok1 := x.techPos[tech]
	a, ok2 := x.agentPos[agent]
	if !ok1 || !ok2 {
		return nil
	}
	var out []int64
	for _, ti := range x.perAgent[a] {
		tr := x.triplets[ti]
		r := x.rights[tr.right]
		if x.techBits[tr.techGroup].has(t) && (len(out) == 0 || out[len(out)-1] != r) {
			out = append(out, r)
		}
	}
	return out
}

// Grant is one tech's rights on one agent.
type Grant struct {
	Tech   *Tech
	Agent  *Agent
	Rights []int64 // sorted right IDs, never empty
}

// ForAgent returns the grants of every entitled tech on agent, ordered by the tech's position in the Graph.
func (x *Index) ForAgent(agent int64) []Grant {
	a, ok := x.agentPos[agent]
	if !ok || x.entitled[a] == 0 {
		return nil
	}
	ts := x.perAgent[a]
	n := len(x.techs)
	// One bitset per distinct right among this agent's triplets (they are sorted by right).
	type rightBits struct {
		right int64
		bits  bitset
	}
	var per []rightBits
	union := newBitset(n)
	for _, ti := range ts {
		tr := x.triplets[ti]
		r := x.rights[tr.right]
		if len(per) == 0 || per[len(per)-1].right != r {
			per = append(per, rightBits{right: r, bits: newBitset(n)})
		}
		per[len(per)-1].bits.or(x.techBits[tr.techGroup])
		union.or(x.techBits[tr.techGroup])
	}
	grants := make([]Grant, 0, x.entitled[a])
	backing := make([]int64, 0, x.entitled[a]*min(len(per), 2))
	union.each(func(t int32) {
		start := len(backing)
		for _, p := range per {
			if p.bits.has(t) {
				backing = append(backing, p.right)
			}
		}
		grants = append(grants, Grant{Tech: &x.techs[t], Agent: &x.agents[a], Rights: backing[start:len(backing):len(backing)]})
	})
	return grants
}

// ForTech returns the grants of tech on every agent, ordered by the agent's position in the Graph.
func (x *Index) ForTech(tech int64) []Grant {
	t, ok := x.techPos[tech]
	if !ok || !x.techs[t].Active {
		return nil
	}
	candidates := newBitset(len(x.agents))
	for _, tr := range x.triplets {
		if x.techBits[tr.techGroup].has(t) {
			candidates.or(x.agentBits[tr.agentGroup])
		}
	}
	var grants []Grant
	candidates.each(func(a int32) {
		if r := x.Rights(tech, x.agents[a].ID); len(r) > 0 {
			grants = append(grants, Grant{Tech: &x.techs[t], Agent: &x.agents[a], Rights: r})
		}
	})
	return grants
}
