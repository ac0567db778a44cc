package faults_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/agent"
	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

func randomSecret() string {
	b := make([]byte, 16)
	rand.Read(b)
	return "pw-" + hex.EncodeToString(b)
}

// TestHubKill9UnderLoad runs the production hub binary, keeps agents staging and confirming as fast as they can,
// kills the hub with SIGKILL at a random moment, checks the database, restarts it on the same database and address,
// and repeats. Nothing a client saw confirmed may be lost, the database must pass integrity_check after every kill,
// and the same client objects, a real agent runner and a tech's long poll must carry on by themselves.
func TestHubKill9UnderLoad(t *testing.T) {
	ctx := testCtx(t)
	bin := buildHub(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "hub.db")
	addr := freeAddr(t)
	recovery, _ := seal.GenerateIdentity()
	out, err := runCmd(bin, "init", "--db", db, "--tenant", "Faults MSP", "--abbrev", "fm",
		"--recovery", recovery.Public().Recipient().String(), "--url", "https://"+addr)
	if err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	inv, err := wire.ParseInvite(regexp.MustCompile(`watchword-invite:\S+`).FindString(out))
	if err != nil {
		t.Fatalf("invite in %q: %v", out, err)
	}
	token := regexp.MustCompile(`owner token:\s+(\S+)`).FindStringSubmatch(out)[1]
	logs := &hubtest.SyncBuffer{}
	proc := serveHub(t, bin, db, addr, logs)

	var keys []*seal.Identity
	client := func() (*hubclient.Client, *seal.Identity) {
		id, _ := seal.GenerateIdentity()
		keys = append(keys, id)
		c, err := hubclient.New(inv, id, hubclient.WithTimeout(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c, id
	}
	owner, _ := client()
	if _, err := owner.Claim(ctx, token, "Owner"); err != nil {
		t.Fatal(err)
	}
	var techs []*hubclient.Client
	var techIDs []*seal.Identity
	for i := range 4 {
		c, id := client()
		techIDs = append(techIDs, id)
		st, err := c.Register(ctx, wire.RegisterRequest{Username: "tech" + string(rune('a'+i)), Email: "t@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := owner.ApproveTech(ctx, st.TechID); err != nil {
			t.Fatal(err)
		}
		techs = append(techs, c)
	}
	enroll := func(name string) (*hubclient.Client, int64) {
		tok, err := owner.CreateEnrollmentTokenWith(ctx, wire.TokenRequest{ApproveOnUse: true})
		if err != nil {
			t.Fatal(err)
		}
		c, _ := client()
		resp, err := c.Enroll(ctx, wire.EnrollRequest{Token: tok.Token, Name: name, Driver: wire.DriverAD})
		if err != nil {
			t.Fatal(err)
		}
		return c, resp.AgentID
	}

	// Load: two agents, each rotating its four accounts in a loop, never reusing a version number.
	var mu sync.Mutex
	confirmed := map[[2]int64]bool{} // (account, version) the hub said were confirmed
	var secrets []string
	var attempts, okConfirms int
	loadCtx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, name := range []string{"one.local", "two.local"} {
		ag, _ := enroll(name)
		plan, err := ag.Plan(ctx, 0)
		if err != nil || len(plan.Accounts) != 4 {
			t.Fatalf("plan of %s: %+v, %v", name, plan, err)
		}
		for _, a := range plan.Accounts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v := a.CurrentVersion
				for loadCtx.Err() == nil {
					v++ // a fresh number and a fresh password for every attempt, as the agent does
					pw := randomSecret()
					mu.Lock()
					secrets = append(secrets, pw)
					attempts++
					mu.Unlock()
					if err := ag.Stage(loadCtx, a.AccountID, v, hubtest.Seal(t, plan, a, v, pw)); err != nil {
						time.Sleep(20 * time.Millisecond)
						continue
					}
					if err := ag.Confirm(loadCtx, a.AccountID, v); err != nil {
						time.Sleep(20 * time.Millisecond)
						continue
					}
					mu.Lock()
					confirmed[[2]int64{a.AccountID, v}] = true
					okConfirms++
					mu.Unlock()
				}
			}()
		}
	}
	// A real agent runner on a third agent, and a tech holding a long poll open, across every crash.
	runnerClient, runnerAgent := enroll("three.local")
	mem := newMemDriver()
	agentLogs := &hubtest.SyncBuffer{}
	runner, err := agent.New(agent.Config{Hub: runnerClient, NewDriver: func() (driver.Driver, error) { return mem, nil },
		Parallelism: 2, PollWait: 2 * time.Second, Backoff: agent.Backoff{Min: 50 * time.Millisecond, Max: 500 * time.Millisecond},
		Retry: 200 * time.Millisecond, Pace: 100 * time.Millisecond, StepTimeout: 3 * time.Second,
		Logger: slog.New(slog.NewJSONHandler(agentLogs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	runDone := make(chan error, 1)
	go func() { runDone <- runner.Run(loadCtx) }()
	var seenRev sync.Map
	wg.Add(1)
	go func() {
		defer wg.Done()
		var since int64
		for loadCtx.Err() == nil {
			ch, err := techs[0].WaitChanges(loadCtx, since, 2*time.Second)
			if err != nil {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			since = ch.Revision
			seenRev.Store("rev", since)
		}
	}()

	cycles := 3
	if soak() {
		cycles = 30
	}
	for i := range cycles {
		time.Sleep(time.Duration(300+randInt(500)) * time.Millisecond)
		proc.kill()
		integrityCheck(t, db)
		proc = serveHub(t, bin, db, addr, logs)
		t.Logf("cycle %d: killed and restarted", i+1)
	}
	// After the last restart everyone recovers without being recreated: the tech's long poll sees a new change,
	// and the runner rotates afresh when asked.
	revAtRestart, _ := seenRev.Load("rev")
	before := runner.Stats().Rotated
	if _, err := owner.RotateNow(ctx, wire.RotateRequest{AgentID: runnerAgent}); err != nil {
		t.Fatalf("rotate now after restart: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for runner.Stats().Rotated < before+4 || mustRev(&seenRev) <= revAtRestart.(int64) {
		if time.Now().After(deadline) {
			t.Fatalf("no recovery after the last restart: runner %+v, tech revision %v → %v", runner.Stats(), revAtRestart, mustRev(&seenRev))
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	stopLoad()
	wg.Wait()
	<-runDone
	proc.kill() // the last crash: verify the database as it lies
	integrityCheck(t, db)

	states := versionStates(t, db)
	// The password history (console/server/hub/history.go) deletes a version once the policy's depth of newer confirmed
	// ones exist: that is pruning, not loss.
	pruned := func(k [2]int64) bool {
		newer := 0
		for o, s := range states {
			if o[0] == k[0] && o[1] > k[1] && (s == string(wire.VersionConfirmed) || s == string(wire.VersionSuperseded)) {
				newer++
			}
		}
		return newer >= wire.DefaultHistoryDepth
	}
	lost := 0
	for k := range confirmed {
		if s := states[k]; s != string(wire.VersionConfirmed) && s != string(wire.VersionSuperseded) && !(s == "" && pruned(k)) {
			lost++
			t.Errorf("account %d version %d was confirmed to the agent but is %q after the crashes", k[0], k[1], s)
		}
	}
	dataLost.Add(int64(lost))
	scenarios.Add(1)
	t.Logf("%d kills; %d rotation attempts, %d confirmed; runner %+v", cycles, attempts, okConfirms, runner.Stats())
	if okConfirms < 20 {
		t.Fatalf("too little load to mean anything: %d confirmations", okConfirms)
	}
	// No lockout: on the runner's target every account holds the password of its newest confirmed envelope.
	proc = serveHub(t, bin, db, addr, logs)
	for i, tc := range techs {
		cr, err := tc.Credentials(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cr.Credentials {
			if c.AgentID != runnerAgent {
				continue
			}
			pw := mem.password(c.AccountName)
			opened := false
			for _, v := range c.Versions {
				got, err := seal.Open(v.Envelope, hubclient.SealContext(cr.ClientGUID, c.AgentID, c.AccountName, v.Version), techIDs[i])
				if err == nil && string(got) == pw {
					opened = true
				}
			}
			if !opened {
				lockouts.Add(1)
				t.Errorf("lockout: no stored envelope of %s opens the password its target holds", c.AccountName)
			}
		}
	}
	proc.kill()
	hubKey, _ := os.ReadFile(db + ".key")
	var ids []string
	for _, k := range keys {
		ids = append(ids, k.String())
	}
	ids = append(ids, recovery.String(), strings.TrimSpace(string(hubKey)))
	for _, name := range []string{"techa-fm", "techb-fm", "techc-fm", "techd-fm"} {
		if pw := mem.password(name); pw != "" {
			secrets = append(secrets, pw)
		}
	}
	grepSecrets(t, append(secrets, ids...), []string{db, db + "-wal", db + "-shm"},
		map[string][]byte{"hub logs": logs.Bytes(), "agent logs": agentLogs.Bytes()})
}

func mustRev(m *sync.Map) int64 {
	v, ok := m.Load("rev")
	if !ok {
		return 0
	}
	return v.(int64)
}

func randInt(n int) int {
	b := make([]byte, 2)
	rand.Read(b)
	return (int(b[0])<<8 | int(b[1])) % n
}

func runCmd(bin string, args ...string) (string, error) {
	cmd := execCommand(bin, args...)
	var out hubtest.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return string(out.Bytes()), err
}
