package hub_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/watchword/watchword/console/server/hub"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/internal/testsupport/summary"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/rotation"
	"github.com/watchword/watchword/shared/rotation/rotationtest"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// sourceClient is an HTTP client whose connections leave from ip (on Linux every address of 127.0.0.0/8 is on the
// loopback interface) and present id's key, with a new connection for every request, to the hub pinned by pin.
func sourceClient(pin string, ip net.IP, id *seal.Identity) (*http.Client, error) {
	cert, err := id.TLSCertificate()
	if err != nil {
		return nil, err
	}
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true, TLSClientConfig: &tls.Config{
		Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13,
		InsecureSkipVerify: true, VerifyPeerCertificate: seal.VerifyPeerKeyID(pin)}}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}, nil
}

// registerFrom registers username with id's key from ip, as a device would, and returns the HTTP status and, for
// a refusal, the wire error.
func registerFrom(ctx context.Context, inv wire.Invite, ip net.IP, id *seal.Identity, username, org string) (int, wire.Error, error) {
	c, err := sourceClient(inv.HubPin, ip, id)
	if err != nil {
		return 0, wire.Error{}, err
	}
	body, _ := json.Marshal(wire.RegisterRequest{Username: username, Email: username + "@example.com", Organization: org,
		PublicKey: id.Public().String()})
	req, _ := http.NewRequestWithContext(ctx, "POST", inv.HubURL+wire.PathTechRegister, bytes.NewReader(body))
	req.Header.Set(wire.HeaderClient, inv.ClientGUID)
	req.Header.Set(wire.HeaderProtocol, strconv.Itoa(wire.ProtocolVersion))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, wire.Error{}, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var e wire.Error
	if resp.StatusCode >= 400 {
		if err := json.Unmarshal(raw, &e); err != nil {
			return resp.StatusCode, e, fmt.Errorf("register %s from %s: %d with %q", username, ip, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, e, nil
}

// TestRegistrationRateLimits: registrations are limited per address, per network (/24) and per tenant, each
// refusal naming which; made-up tenant GUIDs do not touch a real tenant's bucket, another tenant keeps its own,
// and an agent's enrolment from an address whose registrations are refused is not limited by them.
func TestRegistrationRateLimits(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t, hubtest.WithConfig(func(c *hub.Config) {
		c.RateBurst, c.RateEvery = 2, time.Hour
		c.NetRateBurst, c.NetRateEvery = 4, time.Hour
		c.TenantRateBurst, c.TenantRateEvery = 7, time.Hour
	}))
	n := 0
	reg := func(ip string, guid string) (int, wire.Error) {
		t.Helper()
		n++
		inv := h.Invite
		inv.ClientGUID = guid
		status, e, err := registerFrom(ctx, inv, net.ParseIP(ip), h.NewIdentity(), fmt.Sprintf("tech%02d", n), "")
		noErr(t, err)
		return status, e
	}
	want := func(ip string, status int, why string) {
		t.Helper()
		got, e := reg(ip, h.GUID)
		if got != status || why != "" && (e.Code != wire.CodeRateLimited || !strings.Contains(e.Message, why)) {
			t.Fatalf("registration %d from %s: %d %+v, want %d %q", n, ip, got, e, status, why)
		}
	}
	want("127.0.1.1", 200, "")
	want("127.0.1.1", 200, "")
	want("127.0.1.1", 429, "from this address")
	want("127.0.1.2", 200, "")
	want("127.0.1.2", 200, "")
	want("127.0.1.3", 429, "from network 127.0.1.0/24")
	// Made-up tenants are unknown, and use up nothing of the real tenant's rate.
	for i := range 20 {
		if got, e := reg(fmt.Sprintf("127.0.%d.9", 100+i), "00000000-0000-4000-8000-0000000000"+fmt.Sprintf("%02d", i)); got != 401 {
			t.Fatalf("a made-up tenant: %d %+v", got, e)
		}
	}
	want("127.0.2.1", 200, "")
	want("127.0.2.1", 200, "")
	want("127.0.3.1", 200, "")
	want("127.0.4.1", 429, "to this tenant")
	want("127.0.5.1", 429, "to this tenant")
	// Enrolment has buckets of its own: refused for its token, not for the registrations.
	agent := h.Client(h.NewIdentity())
	if _, err := agent.Enroll(ctx, wire.EnrollRequest{Token: "wrong", Name: "x", Driver: "ad"}); !errors.Is(err, hubclient.ErrForbidden) {
		t.Fatalf("enrolment after the registrations were limited: %v", err)
	}
	// Another tenant on the same hub has its own bucket.
	nt, err := h.Hub.CreateTenant(ctx, hub.TenantSpec{Name: "Tenant B", Abbrev: "tb", Recovery: h.Recovery.Public().Recipient().String()})
	noErr(t, err)
	if got, e := reg("127.0.6.1", nt.GUID); got != 200 {
		t.Fatalf("tenant B's registration: %d %+v", got, e)
	}
	pending, err := h.Owner.Techs(ctx, wire.TechPending)
	noErr(t, err)
	if len(pending) != 7 {
		t.Fatalf("%d pending techs, want the 7 registrations let through", len(pending))
	}
}

// TestPendingTechsCapped: a tenant holds at most MaxPendingTechs pending techs. A registration beyond is refused
// with the limit named and creates nothing; the first refusal is audited once, the admin's tech list says the
// queue is full and how many were refused since; an approval makes room and the next registration goes through.
func TestPendingTechsCapped(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t, hubtest.WithConfig(func(c *hub.Config) { c.MaxPendingTechs = 3 }))
	var techs []*hubtest.Tech
	for _, u := range []string{"ann", "ben", "cat"} {
		techs = append(techs, h.NewTech(u))
	}
	q, err := h.Owner.Registrations(ctx)
	if err != nil || q.Pending != 3 || q.PendingLimit != 3 || !q.Full || q.Refused != 0 {
		t.Fatalf("queue at the limit: %+v, %v", q, err)
	}
	before := auditCount(t, h)
	for i, u := range []string{"dan", "eve"} {
		_, err := h.Client(h.NewIdentity()).Register(ctx, wire.RegisterRequest{Username: u, Email: u + "@example.com"})
		e, _ := wire.AsError(err)
		if !errors.Is(err, hubclient.ErrRateLimited) || e == nil || !strings.Contains(e.Message, "already has 3 pending registrations") ||
			!strings.Contains(e.Message, "approve or reject") {
			t.Fatalf("registration %d beyond the limit: %v", i+1, err)
		}
	}
	ev, err := h.Owner.Audit(ctx, wire.AuditQuery{Action: "tech.register-refused"})
	noErr(t, err)
	if len(ev) != 1 || ev[0].ActorKind != "system" || ev[0].Detail != "reason=pending-limit limit=3 pending=3" || ev[0].Target != "tenant "+h.GUID {
		t.Fatalf("audit of the refusals: %+v", ev)
	}
	if after := auditCount(t, h); after != before+1 {
		t.Fatalf("%d audit events for two refusals, want 1", after-before)
	}
	q, err = h.Owner.Registrations(ctx)
	if err != nil || !q.Full || q.Refused != 2 || q.RefusedSince.IsZero() || q.Pending != 3 {
		t.Fatalf("queue after two refusals: %+v, %v", q, err)
	}
	if all, _ := h.Owner.Techs(ctx, ""); len(all) != 3 {
		t.Fatalf("refused registrations left techs: %+v", all)
	}
	_, err = h.Owner.ApproveTech(ctx, techs[0].ID)
	noErr(t, err)
	q, _ = h.Owner.Registrations(ctx)
	if q.Full || q.Pending != 2 {
		t.Fatalf("queue after an approval: %+v", q)
	}
	h.NewTech("dan")
	q, _ = h.Owner.Registrations(ctx)
	if !q.Full || q.Refused != 0 || !q.RefusedSince.IsZero() {
		t.Fatalf("queue after a registration went through: %+v", q)
	}
}

// TestRegistrationChangesNoEntitlement: a pending registration does not rebuild the entitlement view (the
// recompute counter of /metrics stays put), does not wake a tech's long poll, and creates no organization: an
// unknown organization stays the pending tech's text, and the admin's approval records it. A registration naming a
// recorded organization takes its spelling.
func TestRegistrationChangesNoEntitlement(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t, hubtest.WithConfig(func(c *hub.Config) { c.MetricsKey = testScrapeKey }))
	alice := h.ActiveTech("alice")
	agent := h.NewAgent("contoso.local", wire.DriverAD)
	p, err := agent.Plan(ctx, 0)
	noErr(t, err)
	confirm(t, agent, p, accountOf(t, p, alice.ID), "pw-1")
	_, err = h.Owner.CreateOrg(ctx, "Contoso")
	noErr(t, err)
	creds, err := alice.Credentials(ctx)
	noErr(t, err)
	recomputes := func() string {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, "GET", h.URL+wire.PathMetrics, nil)
		req.Header.Set("Authorization", "Bearer "+testScrapeKey)
		resp, err := newRaw(t, h, nil).c.Do(req)
		noErr(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "watchword_hub_entitlement_recompute_seconds_count") {
				return l
			}
		}
		t.Fatal("no recompute count in the metrics")
		return ""
	}
	woke := make(chan *wire.ChangesResponse, 1)
	go func() {
		ch, err := alice.WaitChanges(ctx, creds.Revision, 1500*time.Millisecond)
		if err != nil {
			ch = nil
		}
		woke <- ch
	}()
	time.Sleep(200 * time.Millisecond) // the long poll is held
	before := recomputes()
	for i := range 10 {
		org := ""
		switch i {
		case 0:
			org = "contoso"
		case 1:
			org = "Northwind Traders"
		}
		st, err := h.Client(h.NewIdentity()).Register(ctx, wire.RegisterRequest{Username: fmt.Sprintf("new%d", i), Email: "n@example.com", Organization: org})
		noErr(t, err)
		if i == 1 {
			defer func(id int64) { // approving records the organization
				_, err := h.ApproveCoManaged(ctx, id)
				noErr(t, err)
				orgs, err := h.Owner.Orgs(ctx)
				noErr(t, err)
				if !slices.ContainsFunc(orgs.Orgs, func(o wire.Org) bool { return o.Name == "Northwind Traders" && o.CoManaged }) {
					t.Errorf("approval did not record the tech's organization: %+v", orgs.Orgs)
				}
				ev, _ := h.Owner.Audit(ctx, wire.AuditQuery{Action: "org.create"})
				if len(ev) != 2 || !strings.Contains(ev[1].Detail, `by=approval username="new1"`) || ev[1].ActorKind != "admin" {
					t.Errorf("org.create audit: %+v", ev)
				}
			}(st.TechID)
		}
	}
	if after := recomputes(); after != before {
		t.Fatalf("registrations rebuilt the entitlement view: %s, then %s", before, after)
	}
	if ch := <-woke; ch == nil || ch.Changed {
		t.Fatalf("registrations woke alice's long poll: %+v", ch)
	}
	orgs, err := h.Owner.Orgs(ctx)
	noErr(t, err)
	if len(orgs.Orgs) != 1 || orgs.Orgs[0].Name != "Contoso" {
		t.Fatalf("registrations created organizations: %+v", orgs.Orgs)
	}
	pending, err := h.Owner.Techs(ctx, wire.TechPending)
	noErr(t, err)
	got := map[string]string{}
	for _, x := range pending {
		got[x.Username] = x.Organization
	}
	if got["new0"] != "Contoso" || got["new1"] != "Northwind Traders" || got["new2"] != "" {
		t.Fatalf("pending techs' organizations: %v", got)
	}
	ev, _ := h.Owner.Audit(ctx, wire.AuditQuery{Action: "tech.register"})
	if !slices.ContainsFunc(ev, func(e wire.AuditEvent) bool {
		return strings.Contains(e.Detail, `username="new1"`) && strings.Contains(e.Detail, "organizationRecorded=false")
	}) {
		t.Fatalf("registration audit does not say the organization is not recorded: %+v", ev)
	}
	// An admin's access view of a pending tech still answers (nothing).
	if acc, err := h.Owner.Access(ctx, pending[0].ID, 0); err != nil || len(acc) != 0 {
		t.Fatalf("access of a pending tech: %+v, %v", acc, err)
	}
}

// TestLongPollCaps: long polls are capped per client key and in total, and a key's requests in flight (long
// polls included) too; a refusal names the cap, and a place freed is taken again.
func TestLongPollCaps(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t, hubtest.WithConfig(func(c *hub.Config) {
		c.MaxLongPollsPerKey, c.MaxLongPolls, c.MaxRequestsPerKey = 2, 3, 3
	}))
	alice, bob := h.ActiveTech("alice"), h.ActiveTech("bob")
	pollCtx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	hold := func(c *hubtest.Tech) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.WaitChanges(pollCtx, 1<<40, 20*time.Second) // a revision far ahead: nothing wakes it
		}()
	}
	// refused waits until a zero-length poll of c is refused (the held ones are in), and returns the refusal.
	refused := func(c *hubtest.Tech) *wire.Error {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			_, err := c.WaitChanges(ctx, 0, 0)
			if e, ok := wire.AsError(err); ok && e.Code == wire.CodeRateLimited {
				return e
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatal("the cap never refused")
		return nil
	}
	hold(alice)
	hold(alice)
	if e := refused(alice); !strings.Contains(e.Message, "already has 2 long polls") {
		t.Fatalf("alice's third long poll: %+v", e)
	}
	hold(bob)
	if e := refused(bob); !strings.Contains(e.Message, "maximum of 3 long polls") {
		t.Fatalf("bob's second long poll with 3 held in total: %+v", e)
	}
	// alice holds 2 long polls; with 3 requests in flight at most, one more request gets through, not two.
	var in, out atomic.Int32
	var rg sync.WaitGroup
	for range 4 {
		rg.Add(1)
		go func() {
			defer rg.Done()
			_, err := alice.Credentials(ctx)
			if e, ok := wire.AsError(err); ok && e.Code == wire.CodeRateLimited && strings.Contains(e.Message, "requests in flight") {
				out.Add(1)
			} else if err == nil {
				in.Add(1)
			}
		}()
	}
	rg.Wait()
	if in.Load() < 1 || in.Load()+out.Load() != 4 {
		t.Fatalf("alice's requests beside her 2 long polls: %d answered, %d refused", in.Load(), out.Load())
	}
	stop()
	wg.Wait()
	// The hub lets go of a poll once it sees the client hang up: shortly after.
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := bob.WaitChanges(ctx, 0, 0)
		if err == nil {
			break
		}
		if !errors.Is(err, hubclient.ErrRateLimited) || time.Now().After(deadline) {
			t.Fatalf("a long poll once the others ended: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// fakeRotation rotates alice's account on agent against an in-process target with the real rotation cycle, and
// returns how long the cycle took from the plan to the confirmation.
type fakeRotation struct {
	agent  *hubtest.Agent
	tech   int64
	target *rotationtest.Target
}

type agentHub struct {
	c       *hubtest.Agent
	account int64
}

func (a agentHub) Stage(ctx context.Context, s rotation.Staged) error {
	return a.c.Stage(ctx, a.account, s.Version, s.Envelope)
}
func (a agentHub) Confirm(ctx context.Context, _ rotation.Ref, v int64) error {
	return a.c.Confirm(ctx, a.account, v)
}
func (a agentHub) Fail(ctx context.Context, _ rotation.Ref, v int64, reason string) error {
	return a.c.Fail(ctx, a.account, v, reason)
}

func (f *fakeRotation) once(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	p, err := f.agent.Plan(ctx, 0)
	if err != nil {
		return 0, err
	}
	i := slices.IndexFunc(p.Accounts, func(a wire.PlanAccount) bool { return a.TechID == f.tech })
	if i < 0 {
		return 0, fmt.Errorf("no account of tech %d in the plan", f.tech)
	}
	a := p.Accounts[i]
	var rcpts []age.Recipient
	for _, s := range a.Recipients {
		r, err := seal.ParseRecipient(s)
		if err != nil {
			return 0, err
		}
		rcpts = append(rcpts, r)
	}
	recovery, err := seal.ParseRecipient(p.Recovery)
	if err != nil {
		return 0, err
	}
	rot := rotation.Rotator{Hub: agentHub{f.agent, a.AccountID}, Target: f.target}
	_, err = rot.Rotate(ctx, rotation.Job{Ref: rotation.Ref{Tenant: p.ClientGUID, Agent: strconv.FormatInt(p.AgentID, 10), Account: a.AccountName},
		LastVersion: a.CurrentVersion, Recipients: rcpts, Recovery: recovery, Policy: rotation.DefaultPolicy(rotation.RulesAD)})
	return time.Since(start), err
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func p90(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)*9/10]
}

// floodHelperEnv carries the flood's parameters to the helper process (TestFloodHelperProcess).
const floodHelperEnv = "WATCHWORD_TEST_FLOOD"

// floodParams is what the helper process floods.
type floodParams struct {
	Invite     wire.Invite
	Rate       int // requests a second, at most
	Workers    int
	Identities int
}

// TestFloodHelperProcess is the flood of TestRegistrationFloodKeepsRotationsFast, in a process of its own so that
// its client side (a TLS handshake and a new key's certificate per request) does not share the hub process's Go
// scheduler with the rotations being measured. It runs only when that test starts it: it makes its identities,
// says "ready", floods while its standard input says "flood", pauses at "pause", and at "stop" (or end of input)
// prints its counts and returns.
func TestFloodHelperProcess(t *testing.T) {
	spec := os.Getenv(floodHelperEnv)
	if spec == "" {
		t.Skip("started by TestRegistrationFloodKeepsRotationsFast")
	}
	var fp floodParams
	noErr(t, json.Unmarshal([]byte(spec), &fp))
	ids := make([]*seal.Identity, fp.Identities)
	for i := range ids {
		id, err := seal.GenerateIdentity()
		noErr(t, err)
		ids[i] = id
	}
	var sent, accepted, limited, other, next atomic.Int64
	var on atomic.Bool
	ctx, cancel := context.WithCancel(context.Background())
	tick := time.NewTicker(time.Second / time.Duration(fp.Rate))
	defer tick.Stop()
	var wg sync.WaitGroup
	for range fp.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				if !on.Load() {
					continue
				}
				i := next.Add(1) - 1
				// 127.a.b.c, never 127.0.0.1 (the agent's): consecutive requests in different /24s.
				ip := net.IPv4(127, byte(10+i%200), byte(1+(i/200)%250), byte(1+(i/50000)%250))
				status, _, err := registerFrom(ctx, fp.Invite, ip, ids[i%int64(len(ids))], fmt.Sprintf("flood%06d", i), "")
				sent.Add(1)
				switch {
				case err != nil:
					other.Add(1)
				case status == 200:
					accepted.Add(1)
				case status == 429:
					limited.Add(1)
				default:
					other.Add(1)
				}
			}
		}()
	}
	fmt.Println("ready")
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() && sc.Text() != "stop" {
		on.Store(sc.Text() == "flood")
	}
	cancel()
	wg.Wait()
	fmt.Printf("counts %d %d %d %d\n", sent.Load(), accepted.Load(), limited.Load(), other.Load())
}

// TestRegistrationFloodKeepsRotationsFast: under the hub's default limits, a flood of registrations from 127.x.y.z
// addresses spread over many /24s (each address used once, so the per-address limit alone never refuses one)
// leaves an agent's rotations — plan, seal, stage, set on an in-process target, verify, confirm — within twice
// their quiet median latency. The flood runs in a helper process (TestFloodHelperProcess); quiet and flooded
// rotations are measured in alternating windows, so that the machine's other load weighs on both alike, and both
// medians are printed with what became of the flood.
func TestRegistrationFloodKeepsRotationsFast(t *testing.T) {
	if testing.Short() {
		t.Skip("a timing test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// The hub's defaults for every limit: hubtest's relaxed address limit set back.
	h := hubtest.New(t, hubtest.WithConfig(func(c *hub.Config) { c.RateBurst, c.RateEvery = 0, 0 }))
	alice := h.ActiveTech("alice")
	f := &fakeRotation{agent: h.NewAgent("contoso.local", wire.DriverAD), tech: alice.ID, target: rotationtest.NewTarget()}
	measure := func(n int) []time.Duration {
		var out []time.Duration
		for range n {
			d, err := f.once(ctx)
			noErr(t, err)
			out = append(out, d)
		}
		return out
	}
	measure(3) // the first rotations create the account and warm the caches

	const floodRate, floodWorkers, identities = 80, 5, 800
	spec, _ := json.Marshal(floodParams{Invite: h.Invite, Rate: floodRate, Workers: floodWorkers, Identities: identities})
	exe, err := os.Executable()
	noErr(t, err)
	cmd := exec.CommandContext(ctx, exe, "-test.run", "^TestFloodHelperProcess$", "-test.v")
	cmd.Env = append(os.Environ(), floodHelperEnv+"="+string(spec))
	stdin, err := cmd.StdinPipe()
	noErr(t, err)
	stdout, err := cmd.StdoutPipe()
	noErr(t, err)
	cmd.Stderr = os.Stderr
	noErr(t, cmd.Start())
	defer cmd.Wait()
	defer stdin.Close()
	lines := bufio.NewScanner(stdout)
	expect := func(prefix string) string {
		t.Helper()
		for lines.Scan() {
			if strings.HasPrefix(lines.Text(), prefix) {
				return lines.Text()
			}
		}
		t.Fatalf("the flood helper ended without %q: %v", prefix, lines.Err())
		return ""
	}
	expect("ready")

	var quiet, flooded []time.Duration
	start := time.Now()
	var floodTime time.Duration
	for w := range 8 {
		quiet = append(quiet, measure(4)...)
		fmt.Fprintln(stdin, "flood")
		floodOn := time.Now()
		if w == 0 {
			time.Sleep(1500 * time.Millisecond) // the flood builds up: the tenant's burst is spent
		} else {
			time.Sleep(200 * time.Millisecond)
		}
		flooded = append(flooded, measure(4)...)
		fmt.Fprintln(stdin, "pause")
		floodTime += time.Since(floodOn)
	}
	fmt.Fprintln(stdin, "stop")
	var sent, accepted, limited, other int64
	if _, err := fmt.Sscanf(expect("counts "), "counts %d %d %d %d", &sent, &accepted, &limited, &other); err != nil {
		t.Fatal(err)
	}
	pending, err := h.Owner.Techs(ctx, wire.TechPending)
	noErr(t, err)

	qm, fm := median(quiet), median(flooded)
	rate := float64(sent) / floodTime.Seconds()
	t.Logf("rotation latency over %v: quiet median %v (p90 %v), under the registration flood median %v (p90 %v), %.2f×",
		time.Since(start).Round(time.Millisecond), qm.Round(100*time.Microsecond), p90(quiet).Round(100*time.Microsecond),
		fm.Round(100*time.Microsecond), p90(flooded).Round(100*time.Microsecond), float64(fm)/float64(qm))
	t.Logf("flood: %d registrations in %v of flooding (%.0f/s) from as many addresses: %d accepted, %d rate limited, %d other; %d pending techs",
		sent, floodTime.Round(time.Millisecond), rate, accepted, limited, other, len(pending))
	summary.Print(fmt.Sprintf("registration flood: rotation median %v quiet, %v under %d registrations at %.0f/s (%.2f×)",
		qm.Round(100*time.Microsecond), fm.Round(100*time.Microsecond), sent, rate, float64(fm)/float64(qm)))
	if sent < floodRate {
		t.Fatalf("the flood sent only %d registrations", sent)
	}
	if fm > 2*qm {
		t.Errorf("rotation median under the flood %v is more than twice the quiet %v", fm, qm)
	}
}
