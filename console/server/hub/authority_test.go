package hub_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/hub"
	"github.com/watchword/watchword/console/server/hub/hubserve"
	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// signedLog builds a tenant's chain as a Console does: it signs updates after its own head and keeps the state
// they replay to, to compare with what the hub answers.
type signedLog struct {
	t      *testing.T
	tenant string
	state  *authority.State
	at     time.Time
}

// sign builds the update after the log's head (or the genesis) with ops, signed by keys, without applying it.
func (l *signedLog) sign(seq uint64, parent authority.Hash, ops []authority.Op, keys ...ed25519.PrivateKey) []byte {
	l.t.Helper()
	var genesis authority.Hash
	if l.state != nil {
		genesis = l.state.Genesis
	}
	u := authority.New(l.tenant, seq, parent, genesis, l.at.Add(time.Duration(seq)*time.Minute), ops...)
	for _, k := range keys {
		noErr(l.t, u.Sign(k))
	}
	b, err := u.Encode()
	noErr(l.t, err)
	return b
}

// next signs the update that extends the head and applies it to the log's state.
func (l *signedLog) next(ops []authority.Op, keys ...ed25519.PrivateKey) []byte {
	l.t.Helper()
	var seq uint64
	var parent authority.Hash
	s := l.state
	if s == nil {
		s = &authority.State{}
	} else {
		seq, parent = s.Seq+1, s.Head
	}
	b := l.sign(seq, parent, ops, keys...)
	u, err := authority.Decode(b)
	noErr(l.t, err)
	if l.state, err = s.Apply(u); err != nil {
		l.t.Fatalf("update %d does not apply locally: %v", seq, err)
	}
	return b
}

func (l *signedLog) head() wire.AuthorityHead {
	return wire.AuthorityHead{Seq: l.state.Seq, Hash: l.state.Head.String()}
}

// genesisOps are a tenant's first signed state: the owner, the recovery recipient, the naming format, one agent
// and one tech.
func genesisOps(h *hubtest.Harness, agent *hubtest.Agent, tech *hubtest.Tech) []authority.Op {
	return []authority.Op{
		authority.SetAdmin(h.OwnerID.Signer().Public().(ed25519.PublicKey), wire.RoleOwner, "Owner", ""),
		authority.SetRecovery(h.Recovery.Public().Recipient().String()),
		authority.SetNaming("{username}-{abbrev}", "tm"),
		authority.EnrollAgent(agent.ID, "a.local", wire.DriverAD, agent.Identity.Signer().Public().(ed25519.PublicKey)),
		authority.ApproveTech(tech.ID, "alice", "", tech.Identity.Public()),
	}
}

// verifyServed fetches the whole chain from c, as a verifier pinned to anchor does, and returns its head.
func verifyServed(t *testing.T, c *hubclient.Client, anchor authority.Anchor) (uint64, authority.Hash) {
	t.Helper()
	resp, err := c.Authority(testCtx(t), -1)
	noErr(t, err)
	chain := authority.NewChain(anchor)
	if _, err := chain.Advance(resp.Updates...); err != nil {
		t.Fatalf("the served chain does not verify: %v", err)
	}
	seq, hash := chain.Head()
	if resp.Head == nil || resp.Head.Seq != seq || resp.Head.Hash != hash.String() || resp.More {
		t.Fatalf("served head %+v (more %v), the updates lead to %d %s", resp.Head, resp.More, seq, hash)
	}
	return seq, hash
}

// refusedWith fails unless err is a hub error of code whose message holds want.
func refusedWith(t *testing.T, what string, err error, code, want string) {
	t.Helper()
	e, ok := wire.AsError(err)
	if !ok || e.Code != code || !strings.Contains(e.Message, want) {
		t.Fatalf("%s: %v, want %s naming %q", what, err, code, want)
	}
}

// TestAuthorityRelay: the hub stores the updates the owner signs and hands them to agents, techs and admins as
// signed; refuses an update that does not extend its head (409) or does not verify (400, saying why); names the
// head in the plan; wakes the agents' long polls; shows the agents' receipts and refusals; keeps tenants apart.
func TestAuthorityRelay(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	agent := h.NewAgent("a.local", wire.DriverAD)
	tech := h.ActiveTech("alice")
	owner := h.OwnerID.Signer()

	// Before the genesis there is nothing to serve, and the plan names no head.
	resp, err := agent.Authority(ctx, -1)
	if err != nil || len(resp.Updates) != 0 || resp.Head != nil {
		t.Fatalf("authority before the genesis: %+v, %v", resp, err)
	}
	p, err := agent.Plan(ctx, 0)
	if err != nil || p.Authority != nil {
		t.Fatalf("plan before the genesis: %+v, %v", p.Authority, err)
	}

	l := &signedLog{t: t, tenant: h.GUID, at: h.Clock.Now()}
	// Only the owner publishes a genesis, whoever signed it.
	admin := h.Client(invitedAdmin(t, h, wire.RoleAdmin, "", true))
	_, err = admin.PublishAuthority(ctx, l.sign(0, authority.Hash{}, genesisOps(h, agent, tech), owner))
	refusedWith(t, "a genesis published by an administrator", err, wire.CodeForbidden, "owner")
	// An update after a genesis the hub does not have extends nothing.
	_, err = h.Owner.PublishAuthority(ctx, l.sign(1, authority.Hash{1}, []authority.Op{authority.SetNaming("{username}", "")}, owner))
	refusedWith(t, "an update before any genesis", err, wire.CodeConflict, "genesis first")

	genesis := l.next(genesisOps(h, agent, tech), owner)
	head, err := h.Owner.PublishAuthority(ctx, genesis)
	if err != nil || *head != l.head() || head.Seq != 0 {
		t.Fatalf("publish the genesis: %+v, %v; want %+v", head, err, l.head())
	}
	anchor := authority.Anchor{Tenant: h.GUID, Genesis: l.state.Genesis}

	// Served byte for byte, to an agent and a tech, from the genesis (-1) and after it (0).
	for name, c := range map[string]*hubclient.Client{"agent": agent.Client, "tech": tech.Client, "owner": h.Owner} {
		resp, err := c.Authority(ctx, -1)
		if err != nil || len(resp.Updates) != 1 || !bytes.Equal(resp.Updates[0], genesis) || *resp.Head != l.head() || resp.More {
			t.Fatalf("%s reads from the genesis: %+v, %v", name, resp, err)
		}
		resp, err = c.Authority(ctx, 0)
		if err != nil || len(resp.Updates) != 0 || *resp.Head != l.head() {
			t.Fatalf("%s reads after the genesis: %+v, %v", name, resp, err)
		}
	}
	verifyServed(t, agent.Client, anchor)

	p1, err := agent.Plan(ctx, 0)
	if err != nil || p1.Authority == nil || *p1.Authority != l.head() {
		t.Fatalf("plan after the genesis names %+v, %v; want %+v", p1.Authority, err, l.head())
	}
	// Nothing due any more, so that the next plan is a long poll that only a change ends.
	for _, a := range p1.Accounts {
		confirm(t, agent, p1, a, "pw-"+a.AccountName)
	}
	p1, err = agent.Plan(ctx, 0)
	noErr(t, err)
	if anyDue := len(p1.Disable) > 0; anyDue {
		t.Fatalf("plan still has work: %+v", p1)
	}
	for _, a := range p1.Accounts {
		if a.Due {
			t.Fatalf("account %s still due", a.AccountName)
		}
	}

	// A second update wakes the agent's long poll, and its plan names the new head.
	woke := make(chan *wire.Plan, 1)
	go func() {
		p, err := agent.PlanWait(ctx, p1.Revision, 20*time.Second)
		if err != nil {
			t.Errorf("long poll: %v", err)
		}
		woke <- p
	}()
	second := l.next([]authority.Op{authority.SetNaming("{username}-ww", "tm")}, owner)
	if head, err = h.Owner.PublishAuthority(ctx, second); err != nil || *head != l.head() {
		t.Fatalf("publish update 1: %+v, %v", head, err)
	}
	select {
	case p2 := <-woke:
		if p2 == nil || p2.Revision <= p1.Revision || p2.Authority == nil || *p2.Authority != l.head() {
			t.Fatalf("the woken plan: %+v", p2)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the agent's long poll did not wake on the new head")
	}
	resp, err = tech.Authority(ctx, 0)
	if err != nil || len(resp.Updates) != 1 || !bytes.Equal(resp.Updates[0], second) {
		t.Fatalf("tech reads after the genesis: %+v, %v", resp, err)
	}
	if seq, _ := verifyServed(t, tech.Client, anchor); seq != 1 {
		t.Fatalf("verified head %d, want 1", seq)
	}

	// Stale and forked updates: 409, nothing stored.
	naming := []authority.Op{authority.SetNaming("{username}-x", "tm")}
	for what, b := range map[string][]byte{
		"a sibling of update 1":    l.sign(1, l.state.Genesis, naming, owner),
		"update 3, after a gap":    l.sign(3, l.state.Head, naming, owner),
		"update 2 of another head": l.sign(2, authority.Hash{9}, naming, owner),
		"update 1 again":           second,
		"a second genesis":         l.sign(0, authority.Hash{}, genesisOps(h, agent, tech), owner),
	} {
		_, err := h.Owner.PublishAuthority(ctx, b)
		refusedWith(t, what, err, wire.CodeConflict, "")
	}
	// Updates that extend the head but do not verify: 400 with the verifier's reason.
	stranger := h.NewIdentity()
	_, err = h.Owner.PublishAuthority(ctx, l.sign(2, l.state.Head, naming, stranger.Signer()))
	refusedWith(t, "an update signed by a stranger", err, wire.CodeInvalid, authority.ErrBadSignature.Error())
	_, err = h.Owner.PublishAuthority(ctx, l.sign(2, l.state.Head, naming))
	refusedWith(t, "an unsigned update", err, wire.CodeInvalid, authority.ErrMalformed.Error())
	_, err = h.Owner.PublishAuthority(ctx, []byte("garbage, not an update"))
	refusedWith(t, "a garbage body", err, wire.CodeInvalid, authority.ErrMalformed.Error())
	other := &signedLog{t: t, tenant: "bbbbbbbb-0000-4000-8000-000000000002", state: l.state, at: l.at}
	_, err = h.Owner.PublishAuthority(ctx, other.sign(2, l.state.Head, naming, owner))
	refusedWith(t, "an update of another tenant", err, wire.CodeInvalid, authority.ErrWrongTenant.Error())
	if seq, _ := verifyServed(t, agent.Client, anchor); seq != 1 {
		t.Fatalf("after the refused updates the head is %d, want 1", seq)
	}

	// The audit log names each stored update briefly: sequence number, hash, signer, operations.
	ev, err := h.Owner.Audit(ctx, wire.AuditQuery{Action: "authority.update"})
	noErr(t, err)
	if len(ev) != 2 {
		t.Fatalf("authority.update events: %+v", ev)
	}
	for i, e := range ev {
		if !strings.Contains(e.Detail, "seq="+string(rune('0'+i))) || !strings.Contains(e.Detail, h.OwnerID.Public().ID()) ||
			len(e.Detail) > 500 || e.ActorKind != "admin" {
			t.Fatalf("event %d: %+v", i, e)
		}
	}
	if !strings.Contains(ev[0].Detail, "enroll agent") || !strings.Contains(ev[1].Detail, `naming \"{username}-ww\"`) {
		t.Fatalf("the events do not say what the updates do: %q, %q", ev[0].Detail, ev[1].Detail)
	}

	// The agent's receipt and refusal on the admin's agent list; a refusal is audited once, and again when it
	// changes.
	receipt := l.head()
	noErr(t, agent.ReportAuthority(ctx, wire.AgentAuthorityReport{Head: &receipt}))
	listed := func(wantRefusal string) {
		t.Helper()
		as, err := h.Owner.Agents(ctx)
		noErr(t, err)
		if len(as) != 1 || as[0].AuthorityHead == nil || *as[0].AuthorityHead != receipt || as[0].AuthorityRefusal != wantRefusal {
			t.Fatalf("agent list: %+v, want head %+v and refusal %q", as, receipt, wantRefusal)
		}
	}
	listed("")
	refusals := func() []wire.AuditEvent {
		ev, err := h.Owner.Audit(ctx, wire.AuditQuery{Action: "agent.authority-refused"})
		noErr(t, err)
		return ev
	}
	if ev := refusals(); len(ev) != 0 {
		t.Fatalf("a receipt without refusal was audited: %+v", ev)
	}
	why := "account alice-tm: recipient 3f2a… is no approved device of alice"
	for range 2 {
		noErr(t, agent.ReportAuthority(ctx, wire.AgentAuthorityReport{Head: &receipt, Refusal: why}))
	}
	listed(why)
	if ev := refusals(); len(ev) != 1 || !strings.Contains(ev[0].Detail, why) || ev[0].ActorKind != "agent" || ev[0].ActorID != agent.ID {
		t.Fatalf("refusal events after the same refusal twice: %+v", ev)
	}
	why2 := "plan names signed authority head 7, the hub serves 1\nsecond line"
	noErr(t, agent.ReportAuthority(ctx, wire.AgentAuthorityReport{Head: &receipt, Refusal: why2}))
	listed("plan names signed authority head 7, the hub serves 1 second line")
	if ev := refusals(); len(ev) != 2 {
		t.Fatalf("a changed refusal is audited again: %+v", ev)
	}
	noErr(t, agent.ReportAuthority(ctx, wire.AgentAuthorityReport{Head: &receipt}))
	listed("")
	err = agent.ReportAuthority(ctx, wire.AgentAuthorityReport{Head: &wire.AuthorityHead{Seq: 1, Hash: "not a hash"}})
	refusedWith(t, "a receipt with a malformed hash", err, wire.CodeInvalid, "hex")

	// Another tenant on the same hub sees none of it.
	b := otherTenant(t, h)
	bAgent, err := hubclient.New(b.invite, b.agent, hubclient.WithTimeout(10*time.Second))
	noErr(t, err)
	t.Cleanup(bAgent.Close)
	if resp, err := bAgent.Authority(ctx, -1); err != nil || len(resp.Updates) != 0 || resp.Head != nil {
		t.Fatalf("tenant B's authority: %+v, %v", resp, err)
	}
	if p, err := bAgent.Plan(ctx, 0); err != nil || p.Authority != nil {
		t.Fatalf("tenant B's plan names %+v, %v", p.Authority, err)
	}
	if ev, err := b.owner.Audit(ctx, wire.AuditQuery{Action: "authority.update"}); err != nil || len(ev) != 0 {
		t.Fatalf("tenant B's audit log: %+v, %v", ev, err)
	}
	if as, err := b.owner.Agents(ctx); err != nil || len(as) != 1 || as[0].AuthorityHead != nil || as[0].AuthorityRefusal != "" {
		t.Fatalf("tenant B's agents: %+v, %v", as, err)
	}
	// Tenant A's update is not tenant B's, and A's agent is a stranger at B.
	_, err = b.owner.PublishAuthority(ctx, genesis)
	refusedWith(t, "tenant A's genesis published to B", err, wire.CodeInvalid, authority.ErrWrongTenant.Error())
	aAtB, err := hubclient.New(b.invite, agent.Identity, hubclient.WithTimeout(10*time.Second))
	noErr(t, err)
	t.Cleanup(aAtB.Close)
	_, err = aAtB.Authority(ctx, -1)
	refusedWith(t, "tenant A's agent at B", err, wire.CodeUnauthenticated, "")

	// A restarted hub (the store opened again, nothing cached) serves the same chain and verifies before it
	// extends it.
	h2 := restarted(t, h)
	agent2, owner2 := h2(agent.Identity), h2(h.OwnerID)
	if seq, hash := verifyServed(t, agent2, anchor); seq != 1 || hash != l.state.Head {
		t.Fatalf("restarted hub serves head %d %s, want 1 %s", seq, hash, l.state.Head)
	}
	_, err = owner2.PublishAuthority(ctx, l.sign(2, l.state.Head, naming, stranger.Signer()))
	refusedWith(t, "a stranger's update at the restarted hub", err, wire.CodeInvalid, authority.ErrBadSignature.Error())
	third := l.next([]authority.Op{authority.RemoveTech(tech.ID)}, owner)
	if head, err := owner2.PublishAuthority(ctx, third); err != nil || *head != l.head() {
		t.Fatalf("publish update 2 at the restarted hub: %+v, %v", head, err)
	}
	if seq, _ := verifyServed(t, agent2, anchor); seq != 2 {
		t.Fatalf("restarted hub's head %d, want 2", seq)
	}
}

// restarted opens h's database again under a new hub, as after a restart, and returns a client maker for it.
func restarted(t *testing.T, h *hubtest.Harness) func(*seal.Identity) *hubclient.Client {
	t.Helper()
	st := h.OpenStore()
	id, err := seal.GenerateIdentity()
	noErr(t, err)
	hb := hub.New(st, id, hub.Config{Logger: slog.New(slog.DiscardHandler), Now: h.Clock.Now})
	tlsCfg, err := hubserve.TLSConfig(hb)
	noErr(t, err)
	srv := httptest.NewUnstartedServer(hb.Handler())
	srv.TLS = tlsCfg
	base, cancel := context.WithCancel(context.Background())
	srv.Config.BaseContext = func(net.Listener) context.Context { return base }
	srv.StartTLS()
	t.Cleanup(func() {
		cancel()
		srv.Close()
		st.Close()
	})
	invite := hb.Invite(srv.URL, h.GUID)
	return func(who *seal.Identity) *hubclient.Client {
		c, err := hubclient.New(invite, who, hubclient.WithTimeout(10*time.Second))
		noErr(t, err)
		t.Cleanup(c.Close)
		return c
	}
}

// TestAuthorityBatch: a verifier far behind gets wire.MaxAuthorityBatch updates at a time, told there is more,
// and the rest when it asks after the last one it got. The reads serve what is stored; the rows are written
// straight into the store (what they hold is the verifiers' business, tested above).
func TestAuthorityBatch(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	agent := h.NewAgent("a.local", wire.DriverAD)
	total := wire.MaxAuthorityBatch + 7
	noErr(t, h.Store.Write(ctx, func(tx store.Tx) error {
		tn, err := tx.Tenant(h.GUID)
		if err != nil {
			return err
		}
		for seq := range uint64(total) {
			if err := tx.AppendAuthority(&store.AuthorityUpdate{TenantID: tn.ID, Seq: seq, Hash: fmt.Sprintf("%064x", seq),
				Body: []byte{byte(seq), byte(seq >> 8)}, CreatedAt: h.Clock.Now()}); err != nil {
				return err
			}
		}
		return nil
	}))
	last := &wire.AuthorityHead{Seq: uint64(total - 1), Hash: fmt.Sprintf("%064x", total-1)}
	first, err := agent.Authority(ctx, -1)
	if err != nil || len(first.Updates) != wire.MaxAuthorityBatch || !first.More || *first.Head != *last {
		t.Fatalf("first batch: %d updates, more %v, head %+v, %v", len(first.Updates), first.More, first.Head, err)
	}
	rest, err := agent.Authority(ctx, int64(wire.MaxAuthorityBatch-1))
	if err != nil || len(rest.Updates) != 7 || rest.More || *rest.Head != *last {
		t.Fatalf("the rest: %d updates, more %v, head %+v, %v", len(rest.Updates), rest.More, rest.Head, err)
	}
	for i, b := range append(first.Updates, rest.Updates...) {
		if !bytes.Equal(b, []byte{byte(i), byte(i >> 8)}) {
			t.Fatalf("update %d is %x", i, b)
		}
	}
	_, err = agent.Authority(ctx, -2)
	refusedWith(t, "since -2", err, wire.CodeInvalid, "")
}
