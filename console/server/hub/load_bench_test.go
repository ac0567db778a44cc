package hub_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/hub"
	"github.com/watchword/watchword/console/server/hub/hubcli"
	"github.com/watchword/watchword/console/server/hub/hubserve"
	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/internal/testsupport/pgcluster"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// The hub-under-load benchmark runs the real `watchword-hub serve` code path (hubcli.Main) in a child process — this
// test binary started again with the variables below — so that the resident set it reports is the hub's alone,
// not the load generator's.
const (
	envChildDB     = "WATCHWORD_BENCH_HUB_DB"
	envChildListen = "WATCHWORD_BENCH_HUB_LISTEN"
	envChildLog    = "WATCHWORD_BENCH_HUB_LOG"
	envChildKey    = "WATCHWORD_BENCH_HUB_KEY"
)

// TestBenchChildHub is the hub process of BenchmarkHubUnderLoad; it skips in an ordinary test run.
func TestBenchChildHub(t *testing.T) {
	db := os.Getenv(envChildDB)
	if db == "" {
		t.Skip("runs only as the hub process of BenchmarkHubUnderLoad")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	// Ends with the parent too: it holds our stdin open and never writes to it.
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); stop() }()
	logf, err := os.Create(os.Getenv(envChildLog))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	// WATCHWORD_BENCH_HUB_CPUPROFILE=FILE profiles the hub process (go tool pprof FILE).
	if path := os.Getenv("WATCHWORD_BENCH_HUB_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			t.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	// WATCHWORD_BENCH_HUB_MEMPROFILE=FILE: at the end of the measurement the benchmark signals the hub process,
	// which writes its heap profile there and its goroutines to FILE.goroutines.
	if path := os.Getenv("WATCHWORD_BENCH_HUB_MEMPROFILE"); path != "" {
		usr1 := make(chan os.Signal, 1)
		signal.Notify(usr1, syscall.SIGUSR1)
		go func() {
			for range usr1 {
				runtime.GC()
				for name, file := range map[string]string{"heap": path, "goroutine": path + ".goroutines"} {
					if f, err := os.Create(file); err == nil {
						_ = pprof.Lookup(name).WriteTo(f, 0)
						f.Close()
					}
				}
			}
		}()
	}
	args := []string{"serve", "--db", db, "--listen", os.Getenv(envChildListen)}
	if key := os.Getenv(envChildKey); key != "" {
		args = append(args, "--key", key)
	}
	if err := hubcli.Main(ctx, args, logf, logf); err != nil {
		t.Fatal(err)
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// latencies collects samples from many goroutines.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

// pct returns the p-th percentile (nearest rank) in milliseconds.
func (l *latencies) pct(p float64) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0
	}
	s := slices.Clone(l.d)
	slices.Sort(s)
	i := int(p/100*float64(len(s))+0.5) - 1
	i = min(max(i, 0), len(s)-1)
	return float64(s[i].Microseconds()) / 1000
}

func (l *latencies) n() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.d)
}

// BenchmarkHubUnderLoad holds 2,000 tech clients (one account each) in long polls on a hub process for 60 s while
// a tech with 5,000 accounts fetches the delta of its list every second (and its full list every tenth second).
// Every 0.1 s the load generator, as the pollers' agent, stages a rotation that concerns one poller (it alone
// should wake); every 5 s one of the heavy tech's accounts; every 20 s an admin makes a tenant-wide change (a new
// tech group), which once woke everyone and now wakes nobody, as it changes no tech's grants. A woken poller fetches its delta and polls again, as the TechClient does. It
// reports the heavy tech's delta and full-list fetches, the wake-up latency of a rotation's own tech (rotation
// staged → its poller has it) and of tenant-wide changes, spurious wake-ups, errors (a rotation its poller never
// saw counts as one) and the hub process's idle and peak resident set (VmRSS, VmHWM).
// Goal: 0 errors, p99 ≤ 50 ms, RSS ≤ 256 MiB. Sizes: WATCHWORD_BENCH_LOAD_CLIENTS, _ACCOUNTS, _SECONDS.
// WATCHWORD_BENCH_LOAD_ENGINE=postgres runs it on a fresh PostgreSQL cluster (scripts/pgcluster.sh, root) instead of
// a SQLite file, and WATCHWORD_BENCH_LOAD_REPLICAS=N on N hub processes sharing the hub key: poller i long-polls
// replica i mod N, every rotation is staged through the first, and the RSS figures are the first's.
// Run: go test -run '^$' -bench HubUnderLoad -benchtime 1x ./console/server/hub/
func BenchmarkHubUnderLoad(b *testing.B) {
	clients := envInt("WATCHWORD_BENCH_LOAD_CLIENTS", 2000)
	accounts := envInt("WATCHWORD_BENCH_LOAD_ACCOUNTS", 5000)
	seconds := envInt("WATCHWORD_BENCH_LOAD_SECONDS", 60)
	for b.Loop() {
		runLoad(b, clients, accounts, time.Duration(seconds)*time.Second)
	}
}

func freePort(tb testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// loadHub is a populated hub database and the identities that can talk to it.
type loadHub struct {
	db, key, addr, ownerToken string
	replicas                  []string // the listen addresses of every hub process, addr first
	invite                    wire.Invite
	recovery                  *seal.Identity
	heavy                     *seal.Identity   // the tech with many accounts
	pollers                   []*seal.Identity // techs with one account each, on the first agent
	agent                     *seal.Identity   // the first agent's key: the load generator rotates as it
	agentID                   int64
	heavyAccount              int64   // an account of the heavy tech on the first agent
	pollerAccounts            []int64 // the pollers' accounts, in the order of pollers
}

func populate(tb testing.TB, clients, accounts int) *loadHub {
	ctx := context.Background()
	dir := tb.TempDir()
	lh := &loadHub{db: filepath.Join(dir, "hub.db"), addr: freePort(tb)}
	lh.key = lh.db + ".key"
	lh.replicas = []string{lh.addr}
	for range envInt("WATCHWORD_BENCH_LOAD_REPLICAS", 1) - 1 {
		lh.replicas = append(lh.replicas, freePort(tb))
	}
	if os.Getenv("WATCHWORD_BENCH_LOAD_ENGINE") == "postgres" {
		lh.db = pgcluster.Start(tb).DSN()
	}
	id, err := hubserve.LoadOrCreateIdentity(lh.key)
	if err != nil {
		tb.Fatal(err)
	}
	st, err := store.OpenURL(ctx, lh.db, store.Options{Migrate: true})
	if err != nil {
		tb.Fatal(err)
	}
	defer st.Close()
	h := hub.New(st, id, hub.Config{Logger: slog.New(slog.DiscardHandler)})
	recovery, _ := seal.GenerateIdentity()
	nt, err := h.CreateTenant(ctx, hub.TenantSpec{Name: "Load MSP", Abbrev: "ld", Recovery: recovery.Public().Recipient().String()})
	if err != nil {
		tb.Fatal(err)
	}
	lh.ownerToken = nt.OwnerToken
	lh.invite = h.Invite("https://"+lh.addr, nt.GUID)
	lh.heavy, _ = seal.GenerateIdentity()
	lh.recovery = recovery
	for range clients {
		p, err := seal.GenerateIdentity()
		if err != nil {
			tb.Fatal(err)
		}
		lh.pollers = append(lh.pollers, p)
	}
	agentKey, _ := seal.GenerateIdentity()
	lh.agent = agentKey
	now := time.Now().UTC()
	err = st.Write(ctx, func(tx store.Tx) error {
		tn, err := tx.Tenant(nt.GUID)
		if err != nil {
			return err
		}
		tech := func(name string, id *seal.Identity) (*store.Tech, error) {
			pk := id.Public()
			t := &store.Tech{TenantID: tn.ID, Username: name, DisplayName: name, Email: name + "@example.com",
				Status: wire.TechActive, PublicKey: pk.String(), KeyID: pk.ID(), Fingerprint: pk.Fingerprint().String(),
				CreatedAt: now, UpdatedAt: now}
			return t, tx.CreateTech(t)
		}
		heavy, err := tech("heavy", lh.heavy)
		if err != nil {
			return err
		}
		var pollerIDs []int64
		for i, p := range lh.pollers {
			t, err := tech(fmt.Sprintf("poller%05d", i), p)
			if err != nil {
				return err
			}
			pollerIDs = append(pollerIDs, t.ID)
		}
		// Only the heavy tech is entitled: the All triplet goes, a group of one takes its place.
		trips, err := tx.Triplets(tn.ID)
		if err != nil {
			return err
		}
		var allRights, allDomains int64
		for _, tr := range trips {
			if tr.Builtin {
				allRights, allDomains = tr.RightID, tr.AgentGroupID
				if err := tx.DeleteTriplet(tn.ID, tr.ID); err != nil {
					return err
				}
			}
		}
		g := &store.Group{TenantID: tn.ID, Kind: store.KindTech, Name: "Heavy", Members: []int64{heavy.ID}}
		if err := tx.CreateGroup(g); err != nil {
			return err
		}
		if err := tx.SetMembers(tn.ID, g.ID, []int64{heavy.ID}); err != nil {
			return err
		}
		if err := tx.CreateTriplet(&store.Triplet{TenantID: tn.ID, TechGroupID: g.ID, AgentGroupID: allDomains, RightID: allRights}); err != nil {
			return err
		}
		version1 := func(acc *store.Account, agent int64, owner *seal.Identity, secret string) error {
			env, err := seal.Seal([]byte(secret), hubclient.SealContext(nt.GUID, agent, acc.Name, 1),
				owner.Public().Recipient(), recovery.Public().Recipient())
			if err != nil {
				return err
			}
			if err := tx.StageVersion(tn.ID, &store.Version{AccountID: acc.ID, Version: 1, Envelope: env,
				State: wire.VersionStaged, StagedAt: now}); err != nil {
				return err
			}
			return tx.ConfirmVersion(tn.ID, acc.ID, 1, now)
		}
		var agentIDs []int64
		for i := range accounts {
			keyID, pub := fmt.Sprintf("load-agent-%d", i), agentKey.Public()
			if i == 0 {
				keyID = pub.ID() // the one agent the load generator speaks as
			}
			a := &store.Agent{TenantID: tn.ID, Name: fmt.Sprintf("host%05d.load", i), Driver: wire.DriverAD,
				Status: wire.AgentActive, PublicKey: pub.String(), KeyID: keyID, Version: "bench", CreatedAt: now}
			if err := tx.CreateAgent(a); err != nil {
				return err
			}
			agentIDs = append(agentIDs, a.ID)
			acc, err := tx.EnsureAccount(tn.ID, heavy.ID, a.ID, "heavy-ld", now)
			if err != nil {
				return err
			}
			if i == 0 {
				lh.agentID, lh.heavyAccount = a.ID, acc.ID
			}
			if err := version1(acc, a.ID, lh.heavy, "Load-Pa55word-"+strconv.Itoa(i)); err != nil {
				return err
			}
		}
		if err := tx.AddMembers(tn.ID, allDomains, agentIDs); err != nil {
			return err
		}
		// Every poller holds one account, on the first agent: the rotations the load generator stages there
		// concern one poller each.
		pg := &store.Group{TenantID: tn.ID, Kind: store.KindTech, Name: "Pollers"}
		if err := tx.CreateGroup(pg); err != nil {
			return err
		}
		if err := tx.SetMembers(tn.ID, pg.ID, pollerIDs); err != nil {
			return err
		}
		first := &store.Group{TenantID: tn.ID, Kind: store.KindAgent, Name: "First"}
		if err := tx.CreateGroup(first); err != nil {
			return err
		}
		if err := tx.SetMembers(tn.ID, first.ID, agentIDs[:1]); err != nil {
			return err
		}
		if err := tx.CreateTriplet(&store.Triplet{TenantID: tn.ID, TechGroupID: pg.ID, AgentGroupID: first.ID, RightID: allRights}); err != nil {
			return err
		}
		for i, id := range pollerIDs {
			acc, err := tx.EnsureAccount(tn.ID, id, agentIDs[0], fmt.Sprintf("p%05d-ld", i), now)
			if err != nil {
				return err
			}
			lh.pollerAccounts = append(lh.pollerAccounts, acc.ID)
			if err := version1(acc, agentIDs[0], lh.pollers[i], "Poller-Pa55word-"+strconv.Itoa(i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("populate: %v", err)
	}
	return lh
}

// startHubProcess runs the hub listening on addr in a child process and returns its PID; it is stopped when tb ends.
func startHubProcess(tb testing.TB, lh *loadHub, addr string) int {
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchChildHub$", "-test.bench=^$", "-test.count=1")
	cmd.Env = append(os.Environ(), envChildDB+"="+lh.db, envChildListen+"="+addr, envChildKey+"="+lh.key,
		envChildLog+"="+filepath.Join(filepath.Dir(lh.key), "hub-"+strings.ReplaceAll(addr, ":", "_")+".log"))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	return cmd.Process.Pid
}

// procStatus reads a kB field of /proc/PID/status, in MiB.
func procStatus(pid int, field string) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

func runLoad(b *testing.B, clients, accounts int, dur time.Duration) {
	t0 := time.Now()
	lh := populate(b, clients, accounts)
	b.Logf("populated %d techs and %d accounts in %s", clients+1, accounts+clients, time.Since(t0).Round(time.Millisecond))
	pid := startHubProcess(b, lh, lh.addr)
	for _, addr := range lh.replicas[1:] {
		startHubProcess(b, lh, addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), dur+2*time.Minute)
	defer cancel()

	clientOn := func(replica int, id *seal.Identity) *hubclient.Client {
		c, err := hubclient.New(lh.invite.WithURLs("https://"+lh.replicas[replica]), id, hubclient.WithTimeout(20*time.Second))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(c.Close)
		return c
	}
	client := func(id *seal.Identity) *hubclient.Client { return clientOn(0, id) }
	ownerID, _ := seal.GenerateIdentity()
	owner := client(ownerID)
	deadline := time.Now().Add(30 * time.Second)
	for r := range lh.replicas {
		for c := clientOn(r, ownerID); c.Healthz(ctx) != nil; {
			if time.Now().After(deadline) {
				b.Fatalf("the hub process on %s did not answer within 30 s", lh.replicas[r])
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if _, err := owner.Claim(ctx, lh.ownerToken, "Owner"); err != nil {
		b.Fatal(err)
	}
	// A first change, as any real tenant has had: revision 0 means "no list" to the hub.
	if _, err := owner.CreateTechGroup(ctx, wire.GroupRequest{Name: "Warm-up"}); err != nil {
		b.Fatal(err)
	}
	agent := client(lh.agent)
	heavy := client(lh.heavy)
	first, err := heavy.CredentialsSince(ctx, 0, "")
	if err != nil || len(first.Credentials) != accounts {
		b.Fatalf("credentials of the heavy tech: %d, %v", len(first.Credentials), err)
	}
	var size int
	for _, c := range first.Credentials {
		for _, v := range c.Versions {
			size += len(v.Envelope)
		}
	}
	guid := lh.invite.ClientGUID
	// stage seals and stages the next version of an account of the first agent, as its agent would.
	versions := map[int64]int64{}
	stage := func(account int64, owner *seal.Identity) error {
		versions[account]++
		v := versions[account] + 1
		name := "heavy-ld"
		if account != lh.heavyAccount {
			name = fmt.Sprintf("p%05d-ld", slices.Index(lh.pollerAccounts, account))
		}
		env, err := seal.Seal([]byte("Rotated-Pa55word-"+strconv.FormatInt(v, 10)), hubclient.SealContext(guid, lh.agentID, name, v),
			owner.Public().Recipient(), lh.recovery.Public().Recipient())
		if err != nil {
			return err
		}
		if err := agent.Stage(ctx, account, v, env); err != nil {
			return fmt.Errorf("stage account %d version %d: %w", account, v, err)
		}
		return nil
	}

	var (
		fetch, full, small, wake, storm latencies
		errCount, polls, spurious       atomic.Int64
		errMu                           sync.Mutex
		firstErr, firstConnErr          error
		expect                          = make([]atomic.Int64, len(lh.pollers)) // unix nanos of a rotation not yet seen by poller i
		wideAt, wideN                   atomic.Int64                            // the last tenant-wide change, and how many so far
		measuring                       atomic.Bool
		ready                           sync.WaitGroup
	)
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	fail := func(err error) {
		if loadCtx.Err() != nil {
			return // the run is over: calls in flight end with it
		}
		if !measuring.Load() {
			errCount.Add(1) // errors while connecting count too
			errMu.Lock()
			if firstConnErr == nil {
				firstConnErr = err
			}
			errMu.Unlock()
			return
		}
		errCount.Add(1)
		errMu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		errMu.Unlock()
	}
	var wg sync.WaitGroup
	ready.Add(len(lh.pollers))
	for i, id := range lh.pollers {
		c := clientOn(i%len(lh.replicas), id)
		wg.Go(func() {
			// As the TechClient does: the full list once, then long polls, and after each wake-up the delta
			// since the list it holds.
			list, err := c.CredentialsSince(loadCtx, 0, "")
			if err != nil {
				fail(fmt.Errorf("first credentials: %w", err))
				list = &wire.CredentialsResponse{}
			}
			since, seenWide := list.Revision, wideN.Load()
			ready.Done()
			for loadCtx.Err() == nil {
				r, err := c.WaitChanges(loadCtx, since, 25*time.Second)
				if err != nil {
					if loadCtx.Err() == nil {
						fail(fmt.Errorf("poll: %w", err))
						time.Sleep(100 * time.Millisecond)
					}
					continue
				}
				polls.Add(1)
				if !r.Changed {
					continue
				}
				if at := expect[i].Swap(0); at != 0 {
					if measuring.Load() {
						wake.add(time.Since(time.Unix(0, at)))
					}
				} else if n := wideN.Load(); n != seenWide {
					seenWide = n
					if measuring.Load() {
						storm.add(time.Since(time.Unix(0, wideAt.Load())))
					}
				} else if measuring.Load() {
					spurious.Add(1) // woken by a change that did not concern it
				}
				t := time.Now()
				d, err := c.CredentialsSince(loadCtx, list.Revision, list.Grants)
				if err != nil {
					fail(fmt.Errorf("credentials: %w", err))
					continue
				}
				if measuring.Load() {
					small.add(time.Since(t))
				}
				// A rotation staged while the poller was fetching for another reason (a tenant-wide change) arrives
				// in that delta: it will not wake the poller again, and need not.
				if len(d.Credentials) > 0 {
					if at := expect[i].Swap(0); at != 0 && measuring.Load() {
						wake.add(time.Since(time.Unix(0, at)))
					}
				}
				list.Revision, list.Grants, since = d.Revision, d.Grants, d.Revision
			}
		})
	}
	waitDone := make(chan struct{})
	go func() { ready.Wait(); close(waitDone) }()
	select {
	case <-waitDone:
	case <-time.After(2 * time.Minute):
		b.Fatal("the pollers did not connect within 2 minutes")
	}
	connectErrs := errCount.Load()
	b.Logf("%d pollers connected in %s", len(lh.pollers), time.Since(t0).Round(time.Millisecond))
	if connectErrs > 0 {
		errMu.Lock()
		b.Logf("%d errors while connecting, the first: %v", connectErrs, firstConnErr)
		errMu.Unlock()
	}
	time.Sleep(500 * time.Millisecond) // every poller is back in its wait
	measuring.Store(true)
	rssBefore := procStatus(pid, "VmRSS")
	end := time.Now().Add(dur)
	var heavyChanged, heavyFetched atomic.Int64
	wg.Go(func() { // the heavy tech: a delta every second, as its TechClient would; every tenth second the full list
		held := first
		for tick, n := time.NewTicker(time.Second), 1; time.Now().Before(end) && loadCtx.Err() == nil; n++ {
			<-tick.C
			t := time.Now()
			if n%10 == 0 {
				r, err := heavy.CredentialsSince(loadCtx, 0, "")
				if err != nil {
					fail(fmt.Errorf("heavy full list: %w", err))
					continue
				}
				full.add(time.Since(t))
				if len(r.Credentials) != accounts {
					fail(fmt.Errorf("heavy full list: %d of %d", len(r.Credentials), accounts))
				}
				continue
			}
			r, err := heavy.CredentialsSince(loadCtx, held.Revision, held.Grants)
			if err != nil {
				fail(fmt.Errorf("heavy credentials: %w", err))
				continue
			}
			fetch.add(time.Since(t))
			if !r.Delta {
				fail(fmt.Errorf("heavy credentials: a full list where a delta was due (revision %d)", held.Revision))
			}
			heavyFetched.Add(int64(len(r.Credentials)))
			held = &wire.CredentialsResponse{Revision: r.Revision, Grants: r.Grants}
		}
	})
	// The changes: every 100 ms a rotation staged for the next poller (it alone should wake), every 5 s one of
	// the heavy tech's accounts, every 20 s a tenant-wide change (a new tech group: it concerns no tech's grants).
	rotations, wides := 0, 0
	next := 0
	for tick, n := time.NewTicker(100*time.Millisecond), 0; time.Now().Before(end); n++ {
		<-tick.C
		if time.Until(end) < 2*time.Second {
			break // the wake-ups of a change must fit in the run
		}
		switch {
		case n%200 == 100:
			wideAt.Store(time.Now().UnixNano())
			wideN.Add(1)
			if _, err := owner.CreateTechGroup(ctx, wire.GroupRequest{Name: fmt.Sprintf("Load group %d", n)}); err != nil {
				fail(fmt.Errorf("tenant-wide change: %w", err))
			}
			wides++
		case n%50 == 25:
			if err := stage(lh.heavyAccount, lh.heavy); err != nil {
				fail(err)
			}
			heavyChanged.Add(1)
		default:
			i := next % len(lh.pollers)
			next++
			if expect[i].Load() != 0 {
				continue // still waiting for the last one
			}
			expect[i].Store(time.Now().UnixNano())
			if err := stage(lh.pollerAccounts[i], lh.pollers[i]); err != nil {
				expect[i].Store(0)
				fail(err)
			}
			rotations++
		}
	}
	time.Sleep(time.Until(end))
	measuring.Store(false)
	peak, rss := procStatus(pid, "VmHWM"), procStatus(pid, "VmRSS")
	if os.Getenv("WATCHWORD_BENCH_HUB_MEMPROFILE") != "" {
		_ = syscall.Kill(pid, syscall.SIGUSR1)
		time.Sleep(2 * time.Second)
	}
	stopLoad()
	wg.Wait()

	// A poller that missed a rotation's wake-up counts as an error.
	missed := 0
	for i := range expect {
		if expect[i].Load() != 0 {
			missed++
		}
	}
	total := errCount.Load() + int64(missed)
	if firstErr != nil {
		b.Logf("first error: %v", firstErr)
	}
	if errors.Is(firstErr, context.DeadlineExceeded) {
		b.Logf("(a request timed out)")
	}
	b.ReportMetric(fetch.pct(50), "fetch-p50-ms")
	b.ReportMetric(fetch.pct(99), "fetch-p99-ms")
	b.ReportMetric(full.pct(50), "full-p50-ms")
	b.ReportMetric(full.pct(99), "full-p99-ms")
	b.ReportMetric(wake.pct(50), "wake-p50-ms")
	b.ReportMetric(wake.pct(99), "wake-p99-ms")
	b.ReportMetric(storm.pct(50), "storm-p50-ms")
	b.ReportMetric(storm.pct(99), "storm-p99-ms")
	b.ReportMetric(float64(storm.n()), "storm-wakeups")
	b.ReportMetric(small.pct(99), "small-p99-ms")
	b.ReportMetric(float64(total), "errors")
	b.ReportMetric(float64(spurious.Load()), "spurious")
	b.ReportMetric(peak, "rss-peak-MiB")
	b.ReportMetric(rssBefore, "rss-idle-MiB")
	b.ReportMetric(float64(clients), "clients")
	b.ReportMetric(float64(accounts), "accounts")
	fmt.Printf("hub under load: %d pollers, %d heavy-tech accounts (%.1f MB of envelopes in its full list); "+
		"%d rotations of one poller each (wake p50 %.1f ms p99 %.1f ms, %d spurious wake-ups), %d tenant-wide changes (%d wake-ups, p50 %.1f ms p99 %.1f ms), "+
		"%d heavy-tech rotations; heavy deltas %d (p50 %.1f ms p99 %.1f ms, %d credentials in all), heavy full lists %d (p50 %.1f ms p99 %.1f ms); "+
		"%d poller deltas (p99 %.1f ms); errors %d (%d while connecting, %d missed wake-ups); hub RSS %.0f MiB idle, %.0f MiB after, peak %.0f MiB\n",
		len(lh.pollers), accounts, float64(size)/1e6, rotations, wake.pct(50), wake.pct(99), spurious.Load(), wides, storm.n(), storm.pct(50), storm.pct(99),
		heavyChanged.Load(), fetch.n(), fetch.pct(50), fetch.pct(99), heavyFetched.Load(), full.n(), full.pct(50), full.pct(99),
		small.n(), small.pct(99), total, connectErrs, missed, rssBefore, rss, peak)
}
