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
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/watchword/watchword/console/hub"
	"github.com/watchword/watchword/console/hub/store"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// The hub-under-load benchmark runs the real `watchword-hub serve` code path (hub.Run) in a child process — this
// test binary started again with the variables below — so that the resident set it reports is the hub's alone,
// not the load generator's.
const (
	envChildDB     = "WATCHWORD_BENCH_HUB_DB"
	envChildListen = "WATCHWORD_BENCH_HUB_LISTEN"
	envChildLog    = "WATCHWORD_BENCH_HUB_LOG"
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
	if err := hub.Run(ctx, []string{"serve", "--db", db, "--listen", os.Getenv(envChildListen)}, logf, logf); err != nil {
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

// BenchmarkHubUnderLoad holds 2,000 tech clients in long polls on a hub process for 60 s while a tech with 5,000
// accounts fetches their credentials every second and an admin changes something every 5 s. Each change wakes
// every poller, which then fetches its own credentials and polls again, as the TechClient does. It reports the
// credential fetch and long-poll wake-up latencies, errors, and the hub process's peak resident set (VmHWM).
// Goal: 0 errors, p99 ≤ 50 ms, RSS ≤ 256 MiB. Sizes: WATCHWORD_BENCH_LOAD_CLIENTS, _ACCOUNTS, _SECONDS.
// Run: go test -run '^$' -bench HubUnderLoad -benchtime 1x ./console/hub/
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
	db, addr, ownerToken string
	invite               wire.Invite
	heavy                *seal.Identity   // the tech with many accounts
	pollers              []*seal.Identity // techs with none
}

func populate(tb testing.TB, clients, accounts int) *loadHub {
	ctx := context.Background()
	dir := tb.TempDir()
	lh := &loadHub{db: filepath.Join(dir, "hub.db"), addr: freePort(tb)}
	id, err := hub.LoadOrCreateIdentity(lh.db + ".key")
	if err != nil {
		tb.Fatal(err)
	}
	st, err := store.Open(ctx, lh.db)
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
	for range clients {
		p, err := seal.GenerateIdentity()
		if err != nil {
			tb.Fatal(err)
		}
		lh.pollers = append(lh.pollers, p)
	}
	agentKey, _ := seal.GenerateIdentity()
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
		for i, p := range lh.pollers {
			if _, err := tech(fmt.Sprintf("poller%05d", i), p); err != nil {
				return err
			}
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
		var agentIDs []int64
		for i := range accounts {
			a := &store.Agent{TenantID: tn.ID, Name: fmt.Sprintf("host%05d.load", i), Driver: wire.DriverAD,
				Status: wire.AgentActive, PublicKey: agentKey.Public().String(), KeyID: fmt.Sprintf("load-agent-%d", i),
				Version: "bench", CreatedAt: now}
			if err := tx.CreateAgent(a); err != nil {
				return err
			}
			agentIDs = append(agentIDs, a.ID)
			acc, err := tx.EnsureAccount(tn.ID, heavy.ID, a.ID, "heavy-ld", now)
			if err != nil {
				return err
			}
			env, err := seal.Seal([]byte("Load-Pa55word-"+strconv.Itoa(i)), hubclient.SealContext(nt.GUID, a.ID, acc.Name, 1),
				lh.heavy.Public().Recipient(), recovery.Public().Recipient())
			if err != nil {
				return err
			}
			if err := tx.StageVersion(tn.ID, &store.Version{AccountID: acc.ID, Version: 1, Envelope: env,
				State: wire.VersionStaged, StagedAt: now}); err != nil {
				return err
			}
			if err := tx.ConfirmVersion(tn.ID, acc.ID, 1, now); err != nil {
				return err
			}
		}
		return tx.AddMembers(tn.ID, allDomains, agentIDs)
	})
	if err != nil {
		tb.Fatalf("populate: %v", err)
	}
	return lh
}

// startHubProcess runs the hub in a child process and returns its PID; it is stopped when tb ends.
func startHubProcess(tb testing.TB, lh *loadHub) int {
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchChildHub$", "-test.bench=^$", "-test.count=1")
	cmd.Env = append(os.Environ(), envChildDB+"="+lh.db, envChildListen+"="+lh.addr,
		envChildLog+"="+filepath.Join(filepath.Dir(lh.db), "hub.log"))
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
	b.Logf("populated %d techs and %d accounts in %s", clients+1, accounts, time.Since(t0).Round(time.Millisecond))
	pid := startHubProcess(b, lh)
	ctx, cancel := context.WithTimeout(context.Background(), dur+2*time.Minute)
	defer cancel()

	client := func(id *seal.Identity) *hubclient.Client {
		c, err := hubclient.New(lh.invite, id, hubclient.WithTimeout(20*time.Second))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(c.Close)
		return c
	}
	ownerID, _ := seal.GenerateIdentity()
	owner := client(ownerID)
	deadline := time.Now().Add(30 * time.Second)
	for owner.Healthz(ctx) != nil {
		if time.Now().After(deadline) {
			b.Fatal("the hub process did not answer within 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := owner.Claim(ctx, lh.ownerToken, "Owner"); err != nil {
		b.Fatal(err)
	}
	heavy := client(lh.heavy)
	first, err := heavy.Credentials(ctx)
	if err != nil || len(first.Credentials) != accounts {
		b.Fatalf("credentials of the heavy tech: %d, %v", len(first.Credentials), err)
	}
	rotateID := first.Credentials[0].AccountID
	var size int
	for _, c := range first.Credentials {
		for _, v := range c.Versions {
			size += len(v.Envelope)
		}
	}

	var (
		fetch, small, wake latencies
		errCount, polls    atomic.Int64
		errMu              sync.Mutex
		firstErr           error
		changeAt           atomic.Int64 // unix nanos when the last change request was sent
		measuring          atomic.Bool
		ready              sync.WaitGroup
	)
	fail := func(err error) {
		if ctx.Err() != nil || !measuring.Load() {
			if ctx.Err() == nil {
				errCount.Add(1) // errors while connecting count too
			}
			return
		}
		errCount.Add(1)
		errMu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		errMu.Unlock()
	}
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	var wg sync.WaitGroup
	ready.Add(len(lh.pollers))
	for _, id := range lh.pollers {
		c := client(id)
		wg.Go(func() {
			var since int64
			// Connect and learn the revision, as a TechClient does at start.
			if r, err := c.WaitChanges(loadCtx, 0, 0); err == nil {
				since = r.Revision
			} else {
				fail(fmt.Errorf("first poll: %w", err))
			}
			if _, err := c.Credentials(loadCtx); err != nil {
				fail(fmt.Errorf("first credentials: %w", err))
			}
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
				if measuring.Load() {
					wake.add(time.Since(time.Unix(0, changeAt.Load())))
				}
				since = r.Revision
				t := time.Now()
				if _, err := c.Credentials(loadCtx); err != nil {
					fail(fmt.Errorf("credentials: %w", err))
					continue
				}
				if measuring.Load() {
					small.add(time.Since(t))
				}
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
	time.Sleep(500 * time.Millisecond) // every poller is back in its wait
	measuring.Store(true)
	rssBefore := procStatus(pid, "VmRSS")
	end := time.Now().Add(dur)
	wg.Go(func() { // the heavy tech fetches every second
		for tick := time.NewTicker(time.Second); time.Now().Before(end) && loadCtx.Err() == nil; <-tick.C {
			t := time.Now()
			r, err := heavy.Credentials(loadCtx)
			if err != nil {
				fail(fmt.Errorf("heavy credentials: %w", err))
				continue
			}
			fetch.add(time.Since(t))
			if len(r.Credentials) != accounts {
				fail(fmt.Errorf("heavy credentials: %d of %d", len(r.Credentials), accounts))
			}
		}
	})
	changes := 0
	for tick := time.NewTicker(5 * time.Second); time.Now().Before(end); <-tick.C {
		if time.Until(end) < 2*time.Second {
			break // the wake-ups of a change must fit in the run
		}
		changeAt.Store(time.Now().UnixNano())
		if _, err := owner.RotateNow(ctx, wire.RotateRequest{AccountID: rotateID}); err != nil {
			fail(fmt.Errorf("rotate now: %w", err))
		}
		changes++
	}
	time.Sleep(time.Until(end))
	measuring.Store(false)
	peak, rss := procStatus(pid, "VmHWM"), procStatus(pid, "VmRSS")
	stopLoad()
	wg.Wait()

	// A poller that missed a change's wake-up counts as an error.
	missed := max(changes*len(lh.pollers)-wake.n(), 0)
	total := errCount.Load() + int64(missed)
	if firstErr != nil {
		b.Logf("first error: %v", firstErr)
	}
	if errors.Is(firstErr, context.DeadlineExceeded) {
		b.Logf("(a request timed out)")
	}
	b.ReportMetric(fetch.pct(50), "fetch-p50-ms")
	b.ReportMetric(fetch.pct(99), "fetch-p99-ms")
	b.ReportMetric(wake.pct(50), "wake-p50-ms")
	b.ReportMetric(wake.pct(99), "wake-p99-ms")
	b.ReportMetric(small.pct(99), "small-p99-ms")
	b.ReportMetric(float64(total), "errors")
	b.ReportMetric(peak, "rss-peak-MiB")
	b.ReportMetric(float64(clients), "clients")
	b.ReportMetric(float64(accounts), "accounts")
	fmt.Printf("hub under load: %d pollers, %d changes (%d wake-ups), %d heavy fetches of %d accounts (%.1f MB of envelopes), "+
		"%d small fetches; fetch p50 %.1f ms p99 %.1f ms; wake p50 %.1f ms p99 %.1f ms; small fetch p99 %.1f ms; "+
		"errors %d (%d while connecting, %d missed wake-ups); hub RSS %.0f MiB before, %.0f MiB after, peak %.0f MiB\n",
		len(lh.pollers), changes, wake.n(), fetch.n(), accounts, float64(size)/1e6, small.n(),
		fetch.pct(50), fetch.pct(99), wake.pct(50), wake.pct(99), small.pct(99), total, connectErrs, missed, rssBefore, rss, peak)
}
