package agentcli_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/watchword/watchword/console/server/agent"
	"github.com/watchword/watchword/console/server/agent/agentcli"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/wire"
)

// TestMain registers watchword-agent as a command the scripts exec: the test binary runs agentcli.Main as the
// real main does (cmd/watchword-agent), signals and exit status included, in a process of its own.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"watchword-agent": func() {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			err := agentcli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
			stop()
			if err != nil {
				if !errors.Is(err, flag.ErrHelp) {
					fmt.Fprintln(os.Stderr, "watchword-agent:", err)
				}
				os.Exit(2)
			}
		},
	})
}

// TestScripts runs testdata/*.txtar against one in-process hub: $HUB is its invite, $GUID its tenant's client
// GUID; the commands below create enrollment tokens and read the hub's list of agents, as its owner, and look at
// what an agent left on disk.
func TestScripts(t *testing.T) {
	h := hubtest.New(t)
	testscript.Run(t, testscript.Params{
		Dir: "testdata",
		Setup: func(env *testscript.Env) error {
			env.Setenv("HUB", h.Invite.String())
			env.Setenv("GUID", h.GUID)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"token":    func(ts *testscript.TestScript, neg bool, args []string) { cmdToken(ts, neg, args, h) },
			"agent":    func(ts *testscript.TestScript, neg bool, args []string) { cmdAgent(ts, neg, args, h) },
			"private":  cmdPrivate,
			"lock":     cmdLock,
			"unlock":   cmdUnlock,
			"waitfile": cmdWaitFile,
		},
	})
}

// token [-approve-on-use] FILE creates an enrollment token, writes it to FILE and sets $TOKEN.
func cmdToken(ts *testscript.TestScript, neg bool, args []string, h *hubtest.Harness) {
	if neg {
		ts.Fatalf("unsupported: ! token")
	}
	var req wire.TokenRequest
	if len(args) == 2 && args[0] == "-approve-on-use" {
		req.ApproveOnUse, args = true, args[1:]
	}
	if len(args) != 1 {
		ts.Fatalf("usage: token [-approve-on-use] FILE")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok, err := h.Owner.CreateEnrollmentTokenWith(ctx, req)
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(tok.Token+"\n"), 0o600))
	ts.Setenv("TOKEN", tok.Token)
}

// agent [-refused] NAME prints the hub's record of the agent named NAME ("id=… driver=… status=… fingerprint=…",
// then "refusal=…" when the agent refuses the hub's plans) and sets $AGENT_ID and $FINGERPRINT; -refused waits up
// to 30 seconds for the agent to report a refusal. ! agent NAME: the hub has no agent of that name.
func cmdAgent(ts *testscript.TestScript, neg bool, args []string, h *hubtest.Harness) {
	refused := len(args) == 2 && args[0] == "-refused"
	if refused {
		args = args[1:]
	}
	if len(args) != 1 || refused && neg {
		ts.Fatalf("usage: agent [-refused] NAME")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		agents, err := h.Owner.Agents(ctx)
		ts.Check(err)
		i := slices.IndexFunc(agents, func(a wire.Agent) bool { return a.Name == args[0] })
		switch {
		case i < 0 && neg:
			return
		case i < 0:
			ts.Fatalf("the hub has no agent %q", args[0])
		case neg:
			ts.Fatalf("the hub has agent %q (id %d)", args[0], agents[i].ID)
		}
		a := agents[i]
		if refused && a.AuthorityRefusal == "" {
			if ctx.Err() != nil {
				ts.Fatalf("agent %q reports no refusal after 30 s", a.Name)
			}
			time.Sleep(50 * time.Millisecond)
			continue
		}
		fmt.Fprintf(ts.Stdout(), "id=%d driver=%s status=%s fingerprint=%s\n", a.ID, a.Driver, a.Status, a.Fingerprint)
		if a.AuthorityRefusal != "" {
			fmt.Fprintf(ts.Stdout(), "refusal=%s\n", a.AuthorityRefusal)
		}
		ts.Setenv("AGENT_ID", fmt.Sprint(a.ID))
		ts.Setenv("FINGERPRINT", a.Fingerprint)
		return
	}
}

// private DIR [SECRET...] checks that every file under DIR is its owner's only and holds none of the secrets.
func cmdPrivate(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: private DIR [SECRET...]")
	}
	ts.Check(filepath.WalkDir(ts.MkAbs(args[0]), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, s := range args[1:] {
			if bytes.Contains(b, []byte(s)) {
				ts.Fatalf("%s holds a secret", p)
			}
		}
		if fi, _ := d.Info(); fi.Mode().Perm()&0o077 != 0 {
			ts.Fatalf("%s mode %v", p, fi.Mode().Perm())
		}
		return nil
	}))
}

// locks are the locks the scripts hold, by state directory.
var locks sync.Map

// lock DIR holds the agent's lock on the state directory DIR, as a running agent does, until unlock DIR or the
// end of the script.
func cmdLock(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: lock DIR")
	}
	dir := ts.MkAbs(args[0])
	l, err := agent.AcquireLock(dir)
	ts.Check(err)
	locks.Store(dir, l)
	ts.Defer(func() { cmdUnlock(ts, false, args) })
}

func cmdUnlock(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: unlock DIR")
	}
	if l, ok := locks.LoadAndDelete(ts.MkAbs(args[0])); ok {
		l.(*agent.Lock).Release()
	}
}

// waitfile FILE PATTERN waits up to 30 seconds for FILE to match the regular expression PATTERN.
func cmdWaitFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitfile FILE PATTERN")
	}
	re, err := regexp.Compile(args[1])
	ts.Check(err)
	var b []byte
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if b, _ = os.ReadFile(ts.MkAbs(args[0])); re.Match(b) {
			return
		}
	}
	ts.Fatalf("%s does not match %q after 30 s:\n%s", args[0], args[1], b)
}
