package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"
	"fyne.io/fyne/v2/test"

	cvm "github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/internal/testsupport/pgcluster"
	"github.com/watchword/watchword/internal/testsupport/summary"
	"github.com/watchword/watchword/internal/testsupport/targets"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// TestReplicas runs two real watchword-hub processes (replicas A and B, one hub key) on the PostgreSQL cluster of
// scripts/pgcluster.sh, a real watchword-agent on the Samba DC, and TechClient view-models pinned through invites
// to one replica or the other, and proves what running several hubs promises:
//
//	(a) a rotation the agent confirms through A shows on a TechClient long-polling B within 1 s;
//	(b) A is SIGKILLed under load: the agent and the clients carry on through B;
//	(c) the PostgreSQL primary's node crashes under load: the standby is promoted and the hubs reconnect.
//
// Afterwards every version the agent was told was confirmed is still stored, and every managed account's password
// on the DC is one a stored envelope opens, proved by logging in as a user does (Kerberos and NTLM). It prints
// "replicas: N kills, 0 confirmed lost, 0 lockouts" with the real counts.
func TestReplicas(t *testing.T) {
	r := replicas(t, 10)
	if worst := r.push[len(r.push)-1]; worst > time.Second {
		t.Errorf("a rotation confirmed through A took %v to show on B, want ≤ 1 s", worst)
	}
	// The failover time (≤ 30 s) is make bench's goal, not asserted here: after the outage the agent waits out its
	// jittered backoff, which on a loaded machine can stretch it past the goal without anything being wrong.
}

// BenchmarkReplicas is TestReplicas's scenario with WATCHWORD_BENCH_ROTATIONS (default 200) rotations for the
// cross-replica push latency; it reports that latency, the failover time (the primary's node crashed → the agent's
// first confirmed rotation: stage, set, verify, confirm), the confirmed versions lost and the lockouts.
// Run: go test -run '^$' -bench '^BenchmarkReplicas$' -benchtime 1x ./console/e2e/
func BenchmarkReplicas(b *testing.B) {
	n := 200
	if v, err := strconv.Atoi(os.Getenv("WATCHWORD_BENCH_ROTATIONS")); err == nil && v > 0 {
		n = v
	}
	for b.Loop() {
		r := replicas(b, n)
		b.ReportMetric(float64(len(r.push)), "rotations")
		b.ReportMetric(msf(r.push[len(r.push)/2]), "push-p50-ms")
		b.ReportMetric(msf(r.push[min(len(r.push)-1, int(0.99*float64(len(r.push))+0.5)-1)]), "push-p99-ms")
		b.ReportMetric(msf(r.hubFailover), "hub-failover-ms")
		b.ReportMetric(msf(r.failover), "failover-ms")
		b.ReportMetric(msf(r.promoted), "promoted-ms")
		b.ReportMetric(msf(r.writable), "writable-ms")
		b.ReportMetric(float64(r.kills), "kills")
		b.ReportMetric(float64(r.lost), "lost")
		b.ReportMetric(float64(r.lockouts), "lockouts")
		b.ReportMetric(r.clusterUp.Seconds(), "cluster-up-s")
	}
}

func msf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// replicaResult is what one run of the scenario measured.
type replicaResult struct {
	push                  []time.Duration // confirm through A → shown on B, sorted
	hubFailover, failover time.Duration   // A killed, the primary killed → the next confirmed rotation
	promoted, writable    time.Duration   // the primary killed → the standby leads; → a hub accepts a write
	kills, lost, lockouts int
	clusterUp             time.Duration
}

func replicas(t testing.TB, rotations int) (res replicaResult) {
	// A test's lines show in go test's summary; a benchmark's go with its result, where make bench reads them.
	say := func(line string) {
		if _, ok := t.(*testing.B); ok {
			t.Log(line)
			return
		}
		summary.Print(line)
	}
	env := targets.Require(t)
	cluster := pgcluster.Start(t)
	res.clusterUp = cluster.Up
	test.NewTempApp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	work := t.TempDir()
	bin := build(t, work)
	dsn := cluster.DSN()

	recovery, err := seal.GenerateIdentity()
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(work, "hub.key")
	addrA, addrB := freeAddr(t), freeAddr(t)
	urlA, urlB := "https://"+addrA, "https://"+addrB
	// As an operator sets up replicas: the schema once (migrate), then the tenant, then every replica serves.
	if out, err := exec.Command(bin.hub, "migrate", "--db", dsn).CombinedOutput(); err != nil {
		t.Fatalf("watchword-hub migrate on the cluster: %v\n%s", err, out)
	}
	out, err := exec.Command(bin.hub, "init", "--db", dsn, "--key", key, "--tenant", "Replicas MSP", "--abbrev", "rp",
		"--recovery", recovery.Public().Recipient().String(), "--url", urlA).CombinedOutput()
	if err != nil {
		t.Fatalf("watchword-hub init on the cluster: %v\n%s", err, out)
	}
	inv, err := wire.ParseInvite(field(string(out), "invite:"))
	ownerToken := field(string(out), "owner token:")
	if err != nil || ownerToken == "" {
		t.Fatalf("watchword-hub init printed %q: %v", out, err)
	}
	// Every client knows both replicas; the first address is the one it uses while it answers.
	invAB, invBA := inv.WithURLs(urlA, urlB), inv.WithURLs(urlB, urlA)
	hubs := map[string]*proc{}
	serve := func(name, addr string) {
		p := start(t, "watchword-hub "+name, nil, bin.hub, "serve", "--db", dsn, "--key", key, "--listen", addr,
			"--log-json", "true", "--log-level", "debug")
		waitHealthy(t, p, addr)
		hubs[name] = p
	}
	serve("A", addrA)
	serve("B", addrB)

	ownerID, err := seal.GenerateIdentity()
	if err != nil {
		t.Fatal(err)
	}
	ownerOn := func(inv wire.Invite) *hubclient.Client {
		c, err := hubclient.New(inv, ownerID, hubclient.WithTimeout(20*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}
	ownerA, ownerB := ownerOn(invAB), ownerOn(invBA)
	if _, err := ownerA.Claim(ctx, ownerToken, "Replicas owner"); err != nil {
		t.Fatalf("claim the tenant through A: %v", err)
	}
	console := cvm.New()
	console.Connect(ownerA, invAB, "replica A "+addrA)
	if err := console.Refresh(ctx); err != nil {
		t.Fatal(err)
	}

	rb := make([]byte, 2)
	_, _ = rand.Read(rb)
	run := hex.EncodeToString(rb)
	ad := adDirectory(t, env)
	var adNames []string
	t.Cleanup(func() { ad.remove(t, adNames) })

	// The agent on the Samba DC, enrolled through A.
	const adHost = "test.lan"
	agentState := filepath.Join(work, "agent")
	agentEnv := []string{"WW_RP_AD_BIND=" + env.Get(t, "WW_AD_ADMIN_PASSWORD"), "WW_RP_PASSPHRASE=replicas-" + run}
	en, err := console.NewEnrollment(ctx, adHost, wire.DriverAD, 10*time.Minute, false)
	if err != nil {
		t.Fatal(err)
	}
	c := exec.CommandContext(ctx, bin.agent, "enroll", "--state-dir", agentState, "--hub", invAB.String(), "--token-file", "-",
		"--name", adHost, "--driver", "ad", "--passphrase-env", "WW_RP_PASSPHRASE", "--kdf-work-factor", "10",
		"--ldap-url", env.Get(t, "WW_AD_URL"), "--base-dn", env.Get(t, "WW_AD_BASE_DN"), "--ou", env.Get(t, "WW_AD_OU"),
		"--bind-dn", env.Get(t, "WW_AD_ADMIN_DN"), "--ca-file", env.Get(t, "WW_CA_CERT"), "--bind-password-env", "WW_RP_AD_BIND")
	c.Env = append(os.Environ(), agentEnv...)
	c.Stdin = strings.NewReader(en.Token + "\n")
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("watchword-agent enroll: %v\n%s", err, out)
	}
	var agents []*proc // every run of the agent, for its log of confirmations
	startAgent := func() *proc {
		p := start(t, "watchword-agent", agentEnv, bin.agent, "run", "--state-dir", agentState, "--poll-wait", "10s",
			"--log-format", "json", "--log-level", "debug")
		agents = append(agents, p)
		return p
	}
	startAgent()
	if err := console.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	var agentID int64
	for _, a := range console.PendingAgents() {
		if a.Name == adHost {
			agentID = a.ID
			if err := console.ApproveAgent(ctx, a.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if agentID == 0 {
		t.Fatal("the agent is not pending in the Console")
	}

	// Three techs: two TechClients long-poll B, one A (it must move to B when A dies).
	var techs []replicaTech
	for i, pin := range []wire.Invite{invBA, invBA, invAB} {
		role := fmt.Sprintf("t%d", i+1)
		d := newDevice(filepath.Join(work, "techclient-"+role), "wwt-"+run+"-"+role, "")
		t.Cleanup(d.app.Close)
		adNames = append(adNames, d.username+"-rp")
		if err := d.register(ctx, pin); err != nil {
			t.Fatal(err)
		}
		if err := console.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		for _, p := range console.Pending() {
			if p.Username == d.username {
				d.techID = p.ID
			}
		}
		if d.techID == 0 {
			t.Fatalf("%s is not pending in the Console", d.username)
		}
		if err := console.Approve(ctx, d.techID); err != nil {
			t.Fatal(err)
		}
		techs = append(techs, replicaTech{d, pin})
	}
	for _, tc := range techs {
		if _, err := tc.d.hosts(90*time.Second, adHost); err != nil {
			t.Fatal(err)
		}
	}
	say(fmt.Sprintf("replicas: set-up: cluster up %.1f s, 2 hubs, 1 agent, 3 TechClients (2 on B, 1 on A)", cluster.Up.Seconds()))

	// (a) Rotations confirmed through A, shown on the TechClient long-polling B.
	onB := techs[0].d
	var pushes []time.Duration
	for range rotations {
		r := onB.row(adHost)
		before := r.Version
		if _, err := console.RotateAgent(ctx, agentID, r.AccountID); err != nil {
			t.Fatal(err)
		}
		var shown *rowSeen
		if _, err := waitFor(30*time.Second, func() bool {
			if r := onB.row(adHost); r != nil && r.Confirmed && r.Version > before {
				shown = &rowSeen{version: r.Version, lat: time.Since(r.RotatedAt)}
			}
			return shown != nil
		}); err != nil {
			t.Fatalf("rotation through A: the TechClient on B still shows v%d: %v", before, err)
		}
		pushes = append(pushes, shown.lat)
	}
	slices.Sort(pushes)
	worst := pushes[len(pushes)-1]
	res.push = pushes
	say(fmt.Sprintf("replicas: (a) confirm through A → TechClient on B: median %s, max %s over %d rotations", ms(pushes[len(pushes)/2]), ms(worst), len(pushes)))

	// The load: the owner asks for a rotation of every account every 300 ms, through its client of the Console,
	// which knows both replicas and moves to B when A dies.
	var loadStop atomic.Bool
	var loadWG sync.WaitGroup
	var marked atomic.Int64
	var okMu sync.Mutex
	var okAt []time.Time // every accepted rotation request: when the hubs could write again
	loadWG.Add(1)
	go func() {
		defer loadWG.Done()
		for !loadStop.Load() {
			cctx, ccancel := context.WithTimeout(ctx, 3*time.Second)
			if n, err := ownerA.RotateNow(cctx, wire.RotateRequest{AgentID: agentID}); err == nil {
				marked.Add(int64(n))
				okMu.Lock()
				okAt = append(okAt, time.Now())
				okMu.Unlock()
			}
			ccancel()
			time.Sleep(300 * time.Millisecond)
		}
	}()
	stopLoad := func() {
		if !loadStop.Swap(true) {
			loadWG.Wait()
		}
	}
	defer stopLoad()
	confirmedSince := func(at time.Time) int {
		n := 0
		for _, c := range confirmations(agents) {
			if c.at.After(at) {
				n++
			}
		}
		return n
	}
	kills := 0

	// (b) SIGKILL replica A under load.
	time.Sleep(2 * time.Second)
	killedA := time.Now()
	if err := hubs["A"].cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	kills++
	if _, err := waitFor(30*time.Second, func() bool { return confirmedSince(killedA) >= 3 }); err != nil {
		t.Fatalf("after A died the agent confirmed %d rotations in 30 s: it did not carry on through B\n%s",
			confirmedSince(killedA), tail(agents[len(agents)-1].logs.Bytes()))
	}
	bResumed := firstAfter(confirmations(agents), killedA)
	res.hubFailover = bResumed.Sub(killedA)
	if err := console.Refresh(ctx); err != nil {
		t.Errorf("the Console (A, then B) after A died: %v", err)
	}
	// Every TechClient, the one that long-polled A included, shows its account's newest confirmed version.
	if err := techsCatchUp(ctx, ownerB, agentID, techs, 30*time.Second); err != nil {
		t.Errorf("after A died: %v", err)
	}
	say(fmt.Sprintf("replicas: (b) SIGKILL A under load: first confirmation through B %s after the kill; Console and 3 TechClients current", ms(bResumed.Sub(killedA))))
	serve("A", addrA) // back for the rest of the run

	// (c) The PostgreSQL primary's node crashes under load.
	time.Sleep(2 * time.Second)
	member, err := cluster.KillPrimary()
	if err != nil {
		t.Fatal(err)
	}
	killedPG := time.Now() // the script returns once patroni and the postmaster are gone
	kills++
	promoted := make(chan time.Duration, 1)
	go func() {
		for time.Since(killedPG) < 90*time.Second {
			if l := cluster.Leader(); l != "" && l != member {
				promoted <- time.Since(killedPG)
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		promoted <- -1
	}()
	if _, err := waitFor(90*time.Second, func() bool { return confirmedSince(killedPG) >= 3 }); err != nil {
		t.Fatalf("after the primary (%s) died the agent confirmed %d rotations in 90 s\nhub A:\n%s\nhub B:\n%s", member,
			confirmedSince(killedPG), tail(hubs["A"].logs.Bytes()), tail(hubs["B"].logs.Bytes()))
	}
	failover := firstAfter(confirmations(agents), killedPG).Sub(killedPG)
	res.failover = failover
	res.promoted = <-promoted
	okMu.Lock()
	for _, at := range okAt {
		if at.After(killedPG) {
			res.writable = at.Sub(killedPG)
			break
		}
	}
	okMu.Unlock()
	if l := cluster.Leader(); l == "" || l == member {
		t.Errorf("after %s's crash the cluster's leader is %q, want the promoted standby", member, l)
	}
	if err := techsCatchUp(ctx, ownerB, agentID, techs, 30*time.Second); err != nil {
		t.Errorf("after the primary died: %v", err)
	}
	say(fmt.Sprintf("replicas: (c) PostgreSQL primary %s crashed under load: the standby %s promoted %s after the kill, the hubs accepted a write %s after, the agent's first confirmed rotation %s after; 3 TechClients current",
		member, cluster.Leader(), ms(res.promoted), ms(res.writable), ms(failover)))

	// The end: no more load, every rotation in flight settles, then nothing confirmed is lost and nobody is locked out.
	stopLoad()
	for name, p := range hubs {
		if err := p.alive(); err != nil {
			t.Errorf("hub %s: %v", name, err)
		}
	}
	accounts, err := settled(ctx, ownerB, agentID, &agents, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	confirmed := confirmations(agents)
	lost, lockouts := 0, 0
	stored := map[string]map[int64]envelope{}
	for _, a := range accounts {
		envs, err := exportEnvelopes(ctx, bin.hub, dsn, a.Name, recovery, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		stored[a.Name] = envs
	}
	// The hub keeps the policy's history depth of confirmed versions per account and deletes older ones: of what
	// the agent was told was confirmed, the newest depth of each account must be there, confirmed (or superseded).
	tn, err := ownerB.Tenant(ctx)
	if err != nil {
		t.Fatal(err)
	}
	depth := tn.Policy.History()
	byAccount := map[string][]int64{}
	for _, c := range confirmed {
		byAccount[c.account] = append(byAccount[c.account], c.version)
	}
	checked, pruned := 0, 0
	for name, vs := range byAccount {
		slices.Sort(vs)
		slices.Reverse(vs)
		vs = slices.Compact(vs)
		for i, v := range vs {
			if i >= depth {
				pruned++
				continue
			}
			checked++
			if e, ok := stored[name][v]; !ok || !e.confirmed {
				lost++
				t.Errorf("%s v%d: the agent was told it was confirmed; stored: %v, confirmed or superseded: %v", name, v, ok, e.confirmed)
			}
		}
	}
	for _, a := range accounts {
		works, tried := "", 0
		envs := stored[a.Name]
		versions := make([]int64, 0, len(envs))
		for v := range envs {
			versions = append(versions, v)
		}
		slices.Sort(versions)
		slices.Reverse(versions)
		for _, v := range versions {
			tried++
			if err := targets.KerberosLogin(ctx, env, a.Name, envs[v].password); err != nil {
				continue
			}
			if err := targets.SMBLogin(ctx, env, a.Name, envs[v].password); err != nil {
				t.Errorf("%s: Kerberos accepts v%d's password, NTLM refuses it: %v", a.Name, v, err)
				continue
			}
			works = fmt.Sprintf("v%d", v)
			break
		}
		if works == "" {
			lockouts++
			t.Errorf("%s: none of its %d stored envelopes opens a password the DC accepts (a lockout)", a.Name, tried)
		} else if works != fmt.Sprintf("v%d", a.CurrentVersion) {
			t.Errorf("%s: the DC has %s's password, the hub says v%d is current", a.Name, works, a.CurrentVersion)
		}
	}
	say(fmt.Sprintf("replicas: %d confirmed versions found (%d older beyond the history depth of %d), %d accounts log in with a stored envelope's password (Kerberos, NTLM); %d rotations asked",
		checked-lost, pruned, depth, len(accounts)-lockouts, marked.Load()))
	say(fmt.Sprintf("replicas: %d kills, %d confirmed lost, %d lockouts", kills, lost, lockouts))
	res.kills, res.lost, res.lockouts = kills, lost, lockouts
	if t.Failed() {
		for name, p := range hubs {
			t.Logf("hub %s log tail:\n%s", name, tail(p.logs.Bytes()))
		}
		t.Logf("agent log tail:\n%s", tail(agents[len(agents)-1].logs.Bytes()))
	}
	return res
}

// replicaTech is a TechClient and the invite it registered with (its first address is the replica it uses).
type replicaTech struct {
	d   *device
	inv wire.Invite
}

type rowSeen struct {
	version int64
	lat     time.Duration
}

// confirmation is one "rotated" line of the agent's log: the hub answered its confirm of that version.
type confirmation struct {
	account string
	version int64
	at      time.Time
}

func confirmations(agents []*proc) []confirmation {
	var out []confirmation
	for _, p := range agents {
		sc := bufio.NewScanner(bytes.NewReader(p.logs.Bytes()))
		sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
		for sc.Scan() {
			var l struct {
				Time    time.Time `json:"time"`
				Msg     string    `json:"msg"`
				Account string    `json:"account"`
				Version int64     `json:"version"`
			}
			if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "rotated" && l.Account != "" {
				out = append(out, confirmation{l.Account, l.Version, l.Time})
			}
		}
	}
	return out
}

func firstAfter(cs []confirmation, at time.Time) time.Time {
	var first time.Time
	for _, c := range cs {
		if c.at.After(at) && (first.IsZero() || c.at.Before(first)) {
			first = c.at
		}
	}
	return first
}

// settled waits until the agent has confirmed nothing new for 3 s and the hub's current version of each account is
// the newest the agent confirmed (a rotation asked for just before the load stopped is done), and returns them.
func settled(ctx context.Context, owner *hubclient.Client, agentID int64, agents *[]*proc, timeout time.Duration) ([]wire.Account, error) {
	var accs []wire.Account
	var last error
	n, since := -1, time.Now()
	if _, err := waitFor(timeout, func() bool {
		time.Sleep(100 * time.Millisecond)
		cs := confirmations(*agents)
		if len(cs) != n {
			n, since = len(cs), time.Now()
			return false
		}
		if time.Since(since) < 3*time.Second {
			return false
		}
		accs, last = owner.Accounts(ctx, 0, agentID)
		if last != nil {
			return false
		}
		newest := map[string]int64{}
		for _, c := range cs {
			newest[c.account] = max(newest[c.account], c.version)
		}
		for _, a := range accs {
			if a.CurrentVersion != newest[a.Name] {
				last = fmt.Errorf("%s: the hub's current version is v%d, the agent's newest confirmed v%d", a.Name, a.CurrentVersion, newest[a.Name])
				return false
			}
		}
		return len(accs) > 0
	}); err != nil {
		return nil, fmt.Errorf("the agent's accounts did not settle (%v): %w", last, err)
	}
	return accs, nil
}

// techsCatchUp waits until each TechClient shows the version the hub says is its account's current one.
func techsCatchUp(ctx context.Context, owner *hubclient.Client, agentID int64, techs []replicaTech, timeout time.Duration) error {
	var behind []string
	_, err := waitFor(timeout, func() bool {
		accs, err := owner.Accounts(ctx, 0, agentID)
		if err != nil {
			return false
		}
		behind = nil
		for _, tc := range techs {
			r := tc.d.row("test.lan")
			for _, a := range accs {
				if a.TechID != tc.d.techID {
					continue
				}
				if r == nil {
					behind = append(behind, fmt.Sprintf("%s (pinned to %s) lists nothing, the hub has v%d", tc.d.username, tc.inv.HubURL, a.CurrentVersion))
				} else if r.Version < a.CurrentVersion {
					behind = append(behind, fmt.Sprintf("%s (pinned to %s) shows v%d, the hub v%d", tc.d.username, tc.inv.HubURL, r.Version, a.CurrentVersion))
				}
			}
		}
		if len(behind) > 0 {
			time.Sleep(100 * time.Millisecond)
		}
		return len(behind) == 0
	})
	if err != nil {
		return fmt.Errorf("TechClients behind: %v", behind)
	}
	return nil
}

// envelope is one stored version of an account, opened with the tenant's recovery identity.
type envelope struct {
	password  string
	confirmed bool // confirmed, or superseded by a newer confirmed version
}

// exportEnvelopes runs the break-glass export of every version of account and opens each with the recovery identity.
func exportEnvelopes(ctx context.Context, hubBin, dsn, account string, recovery *seal.Identity, dir string) (map[int64]envelope, error) {
	out, err := exec.CommandContext(ctx, hubBin, "recovery", "export", "--db", dsn, "--account", account, "--history", "--out", dir).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("watchword-hub recovery export %s: %v: %s", account, err, out)
	}
	envs := map[int64]envelope{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if !strings.HasSuffix(line, ".age") {
			continue
		}
		f, err := os.Open(strings.TrimSpace(line))
		if err != nil {
			return nil, err
		}
		r, err := age.Decrypt(f, recovery.AgeIdentity())
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("open %s with the recovery identity: %w", line, err)
		}
		var plain bytes.Buffer
		_, err = plain.ReadFrom(r)
		f.Close()
		if err != nil {
			return nil, err
		}
		head, pw, ok := bytes.Cut(plain.Bytes(), []byte("\n\n"))
		if !ok {
			return nil, fmt.Errorf("%s: no envelope header", line)
		}
		var version int64
		for _, h := range strings.Split(string(head), "\n") {
			if v, ok := strings.CutPrefix(h, "version: "); ok {
				_, _ = fmt.Sscan(v, &version)
			}
		}
		// The file name carries the version's state unless it is the confirmed one (a superseded version was
		// confirmed before a newer one replaced it).
		base := filepath.Base(line)
		confirmed := strings.HasSuffix(base, fmt.Sprintf("_v%d.age", version)) ||
			strings.HasSuffix(base, fmt.Sprintf("_v%d-%s.age", version, wire.VersionSuperseded))
		envs[version] = envelope{password: string(pw), confirmed: confirmed}
	}
	if len(envs) == 0 {
		return nil, errors.New("watchword-hub recovery export " + account + " wrote no envelope: " + string(out))
	}
	return envs, nil
}
